"""``/api/v1/api-keys``, ``/api/v1/users``, ``/api/v1/companies``: the administration endpoints."""

from __future__ import annotations

import django_filters
from drf_spectacular.utils import extend_schema
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response

from ractory.api.filters import StrictBooleanFilter
from ractory.api.problems import Forbidden, ValidationFailed
from ractory.api.responses import SecretResponse
from ractory.api.views import StrictAPIView
from ractory.refusals import FieldError

from .. import services
from ..models import ApiKey, Company, User
from ..permissions import CanManageApiKeys, IsSystemAdmin, IsUser
from ..roles import API_KEY_ADMIN_ROLES, Role
from ..scoping import COMPANY_GUID_PARAMETER, TenantScopedAPIView
from .serializers import (
    ApiKeyCreateSerializer,
    ApiKeySerializer,
    ApiKeyUpdateSerializer,
    CompanyCreateSerializer,
    CompanySerializer,
    CompanyUpdateSerializer,
    CreatedApiKeySerializer,
    UserCreateSerializer,
    UserSerializer,
    UserUpdateSerializer,
)


def validated(serializer_class, data, **kwargs) -> dict:
    serializer = serializer_class(data=data, **kwargs)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


def target_company(caller, guid) -> Company:
    """The company a body's ``company_guid`` names: SystemAdmin any active one, others their own."""
    if guid is None:
        return caller.company
    if not caller.is_system_admin:
        if guid != caller.company.guid:
            raise Forbidden("You may only act in your own company.", code="company_mismatch")
        return caller.company
    company = Company.objects.filter(guid=guid, is_active=True).first()
    if company is None:
        raise ValidationFailed(errors=[FieldError("/company_guid", "company_not_found", f"No active company {guid}.")])
    return company


# --- API keys ---------------------------------------------------------------------------------


class ApiKeyFilterSet(django_filters.FilterSet):
    is_active = StrictBooleanFilter()

    class Meta:
        model = ApiKey
        fields = ["is_active"]


class ApiKeyBaseView(TenantScopedAPIView):
    model = ApiKey
    permission_classes = [CanManageApiKeys]
    serializer_class = ApiKeySerializer
    extra_query_parameters = ("company_guid",)

    def refine_queryset(self, queryset):
        return queryset.select_related("company")


class ApiKeyListView(ApiKeyBaseView):
    """API keys of your company (SystemAdmin: of every company, or of ``company_guid``)."""

    lists = True

    filterset_class = ApiKeyFilterSet

    @extend_schema(tags=["api-keys"], parameters=[COMPANY_GUID_PARAMETER], responses={200: ApiKeySerializer(many=True)})
    def get(self, request):
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response(ApiKeySerializer(page, many=True).data)

    @extend_schema(tags=["api-keys"], request=ApiKeyCreateSerializer, responses={201: CreatedApiKeySerializer})
    def post(self, request):
        """Create a key. The raw ``key`` is in this response only; store it now."""
        data = validated(ApiKeyCreateSerializer, request.data)
        company = target_company(self.caller, data.get("company_guid"))
        created = services.create_api_key(
            company=company,
            scopes=data["scopes"],
            description=data.get("description"),
            expires_at=data.get("expires_at"),
            created_by=self.caller.user,
        )
        body = CreatedApiKeySerializer(created.api_key).data
        body["key"] = created.raw_key
        return SecretResponse(body, status=201)


class ApiKeyDetailView(ApiKeyBaseView):
    """One API key. Another company's key is a 404."""

    extra_error_statuses = (409,)

    @extend_schema(tags=["api-keys"], parameters=[COMPANY_GUID_PARAMETER], responses={200: ApiKeySerializer})
    def get(self, request, guid):
        return Response(ApiKeySerializer(self.get_object()).data)

    @extend_schema(tags=["api-keys"], request=ApiKeyUpdateSerializer, responses={200: ApiKeySerializer})
    def patch(self, request, guid):
        """Change description, scopes or ``is_active``. A revoked key cannot be enabled (409)."""
        api_key = self.get_object()
        changes = dict(validated(ApiKeyUpdateSerializer, request.data))
        api_key = services.update_api_key(api_key=api_key, changes=changes)
        return Response(ApiKeySerializer(api_key).data)

    @extend_schema(tags=["api-keys"], responses={204: None})
    def delete(self, request, guid):
        """Revoke the key for good. The row stays for audit; revoking again changes nothing."""
        services.revoke_api_key(api_key=self.get_object())
        return Response(status=204)


# --- Users ------------------------------------------------------------------------------------


class UserFilterSet(django_filters.FilterSet):
    role = django_filters.ChoiceFilter(choices=Role.choices)
    is_active = StrictBooleanFilter()

    class Meta:
        model = User
        fields = ["role", "is_active"]


class UserBaseView(TenantScopedAPIView):
    model = User
    permission_classes = [IsUser]
    serializer_class = UserSerializer
    extra_query_parameters = ("company_guid",)
    extra_error_statuses = (409,)

    def refine_queryset(self, queryset):
        queryset = queryset.select_related("company")
        if self.caller.role not in API_KEY_ADMIN_ROLES:
            # Users who manage nobody see only themselves.
            queryset = queryset.filter(pk=self.caller.user.pk)
        return queryset


class UserListView(UserBaseView):
    """Users of your company (SystemAdmin: all). Users who manage nobody see only themselves."""

    lists = True

    filterset_class = UserFilterSet

    @extend_schema(tags=["users"], parameters=[COMPANY_GUID_PARAMETER], responses={200: UserSerializer(many=True)})
    def get(self, request):
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response(UserSerializer(page, many=True).data)

    @extend_schema(tags=["users"], request=UserCreateSerializer, responses={201: UserSerializer})
    def post(self, request):
        """Create a user. CompanyAdmins create ProjectManagers and Operators of their company."""
        data = dict(validated(UserCreateSerializer, request.data))
        company = target_company(self.caller, data.pop("company_guid", None))
        user = services.create_user(company=company, created_by=self.caller, **data)
        return Response(UserSerializer(user).data, status=201)


class UserDetailView(UserBaseView):
    """One user. Everyone may read and edit their own name, surname and password."""

    @extend_schema(tags=["users"], parameters=[COMPANY_GUID_PARAMETER], responses={200: UserSerializer})
    def get(self, request, guid):
        return Response(UserSerializer(self.get_object()).data)

    @extend_schema(tags=["users"], request=UserUpdateSerializer, responses={200: UserSerializer})
    def patch(self, request, guid):
        user = self.get_object()
        changes = dict(validated(UserUpdateSerializer, request.data))
        user = services.update_user(user=user, changes=changes, by=self.caller)
        return Response(UserSerializer(user).data)

    @extend_schema(tags=["users"], responses={204: None})
    def delete(self, request, guid):
        """Deactivate the user (the row stays). Deactivating yourself is a 400."""
        services.deactivate_user(user=self.get_object(), by=self.caller)
        return Response(status=204)


# --- Companies --------------------------------------------------------------------------------


class CompanyFilterSet(django_filters.FilterSet):
    is_active = StrictBooleanFilter()

    class Meta:
        model = Company
        fields = ["is_active"]


class CompanyBaseView(StrictAPIView):
    # Companies are the tenants themselves, not tenant-owned rows: only a SystemAdmin reaches them.
    queryset = Company.objects.all()
    permission_classes = [IsSystemAdmin]
    serializer_class = CompanySerializer
    lookup_field = "guid"
    extra_error_statuses = (409,)


class CompanyListView(CompanyBaseView):
    """Every company (SystemAdmin only)."""

    lists = True

    filterset_class = CompanyFilterSet

    @extend_schema(tags=["companies"], responses={200: CompanySerializer(many=True)})
    def get(self, request):
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response(CompanySerializer(page, many=True).data)

    @extend_schema(tags=["companies"], request=CompanyCreateSerializer, responses={201: CompanySerializer})
    def post(self, request):
        """Create a company. A name taken in any case is a 409."""
        company = services.create_company(**validated(CompanyCreateSerializer, request.data))
        return Response(CompanySerializer(company).data, status=201)


class CompanyDetailView(CompanyBaseView):
    """One company (SystemAdmin only)."""

    @extend_schema(tags=["companies"], responses={200: CompanySerializer})
    def get(self, request, guid):
        return Response(CompanySerializer(self.get_object()).data)

    @extend_schema(tags=["companies"], request=CompanyUpdateSerializer, responses={200: CompanySerializer})
    def patch(self, request, guid):
        company = self.get_object()
        changes = dict(validated(CompanyUpdateSerializer, request.data))
        return Response(CompanySerializer(services.update_company(company=company, changes=changes)).data)

    @extend_schema(tags=["companies"], responses={204: None})
    def delete(self, request, guid):
        """Deactivate the company: every user and key of it is refused from now on."""
        services.deactivate_company(company=self.get_object(), by=request.user)
        return Response(status=204)


class CurrentCompanyView(StrictAPIView):
    """The caller's own company. Open to every user and API key."""

    permission_classes = [IsAuthenticated]

    @extend_schema(tags=["companies"], responses={200: CompanySerializer})
    def get(self, request):
        return Response(CompanySerializer(request.user.company).data)
