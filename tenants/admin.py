"""The Django admin for tenants, tenant-aware.

A SystemAdmin sees and edits every company's rows. A CompanyAdmin (the other staff role) sees
only its own company's rows, may edit users it is allowed to manage, and may revoke its keys.
API keys are read-only here (the raw key exists only at creation, through the API or the
``create_api_key`` command) and shown by prefix only.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import AdminUserCreationForm, UserChangeForm

from . import services
from .models import ApiKey, Company, User
from .roles import MANAGEABLE_ROLES, Role


def is_system_admin(request) -> bool:
    user = request.user
    return bool(user.is_authenticated and user.is_active and user.role == Role.SYSTEM_ADMIN)


def is_company_admin(request) -> bool:
    user = request.user
    return bool(user.is_authenticated and user.is_active and user.role == Role.COMPANY_ADMIN)


class TenantAdminMixin:
    """Scopes every admin queryset to the staff user's company unless they are a SystemAdmin."""

    company_field = "company"

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        if is_system_admin(request):
            return queryset
        if is_company_admin(request):
            return queryset.filter(**{self.company_field: request.user.company_id})
        return queryset.none()

    def has_module_permission(self, request):
        return is_system_admin(request) or is_company_admin(request)

    def has_view_permission(self, request, obj=None):
        return self.has_module_permission(request)

    def has_add_permission(self, request):
        return is_system_admin(request)

    def has_change_permission(self, request, obj=None):
        return is_system_admin(request)

    def has_delete_permission(self, request, obj=None):
        return False  # rows are deactivated or revoked, never deleted from the admin

    def get_list_filter(self, request):
        filters = list(super().get_list_filter(request))
        if not is_system_admin(request):
            filters = [name for name in filters if name != self.company_field]
        return filters


@admin.register(Company)
class CompanyModelAdmin(TenantAdminMixin, admin.ModelAdmin):
    company_field = "pk"
    list_display = ["name", "short_name", "guid", "company_index", "is_active", "created_at"]
    list_filter = ["is_active"]
    search_fields = ["name", "short_name", "guid"]
    readonly_fields = ["guid", "created_at", "updated_at"]
    ordering = ["name"]

    def get_queryset(self, request):
        queryset = admin.ModelAdmin.get_queryset(self, request)
        if is_system_admin(request):
            return queryset
        if is_company_admin(request):
            return queryset.filter(pk=request.user.company_id)
        return queryset.none()


class RactoryUserCreationForm(AdminUserCreationForm):
    class Meta:
        model = User
        fields = ["email", "company", "role", "name", "surname"]


class RactoryUserChangeForm(UserChangeForm):
    class Meta:
        model = User
        fields = "__all__"


@admin.register(User)
class UserModelAdmin(TenantAdminMixin, DjangoUserAdmin):
    add_form = RactoryUserCreationForm
    form = RactoryUserChangeForm
    list_display = ["email", "role", "company", "name", "surname", "is_active", "last_login"]
    list_filter = ["role", "is_active", "company"]
    list_select_related = ["company"]
    search_fields = ["email", "name", "surname", "guid"]
    ordering = ["email"]
    readonly_fields = ["guid", "created_at", "updated_at", "last_login", "deleted_at"]
    fieldsets = [
        (None, {"fields": ["guid", "email", "password", "company", "role"]}),
        ("Person", {"fields": ["name", "surname"]}),
        ("State", {"fields": ["is_active", "deleted_at", "last_login", "created_at", "updated_at"]}),
    ]
    add_fieldsets = [
        (
            None,
            {"classes": ["wide"], "fields": ["email", "company", "role", "name", "surname", "password1", "password2"]},
        )
    ]
    filter_horizontal: list = []

    def _manages(self, request, obj) -> bool:
        if is_system_admin(request):
            return True
        if not is_company_admin(request) or obj is None:
            return is_company_admin(request)
        return obj.company_id == request.user.company_id and obj.role in MANAGEABLE_ROLES[Role.COMPANY_ADMIN]

    def has_add_permission(self, request):
        return is_system_admin(request) or is_company_admin(request)

    def has_change_permission(self, request, obj=None):
        return self._manages(request, obj)

    def get_form(self, request, obj=None, **kwargs):
        form = super().get_form(request, obj, **kwargs)
        if not is_system_admin(request):
            # A CompanyAdmin gives only the roles it manages, inside its own company.
            if "role" in form.base_fields:
                form.base_fields["role"].choices = [
                    (value, label) for value, label in Role.choices if value in MANAGEABLE_ROLES[Role.COMPANY_ADMIN]
                ]
            if "company" in form.base_fields:
                form.base_fields["company"].queryset = Company.objects.filter(pk=request.user.company_id)
                form.base_fields["company"].initial = request.user.company_id
        return form

    def save_model(self, request, obj, form, change):
        if not is_system_admin(request):
            obj.company_id = request.user.company_id
            if obj.role not in MANAGEABLE_ROLES[Role.COMPANY_ADMIN]:
                raise forms.ValidationError("You may not give this role.")
        obj.is_staff = obj.role in {Role.SYSTEM_ADMIN, Role.COMPANY_ADMIN}
        obj.is_superuser = obj.role == Role.SYSTEM_ADMIN
        super().save_model(request, obj, form, change)


@admin.register(ApiKey)
class ApiKeyModelAdmin(TenantAdminMixin, admin.ModelAdmin):
    list_display = ["masked_key", "description", "company", "scope_list", "is_active", "revoked_at", "last_used_at"]
    list_filter = ["is_active", "company"]
    list_select_related = ["company"]
    search_fields = ["key_id", "description", "guid"]
    ordering = ["-created_at"]
    actions = ["revoke_selected"]
    fields = [
        "masked_key",
        "guid",
        "company",
        "description",
        "scope_list",
        "is_active",
        "expires_at",
        "last_used_at",
        "revoked_at",
        "created_by",
        "created_at",
        "updated_at",
    ]
    readonly_fields = fields

    @admin.display(description="key")
    def masked_key(self, obj: ApiKey) -> str:
        return f"{obj.prefix}_••••••••"

    @admin.display(description="scopes")
    def scope_list(self, obj: ApiKey) -> str:
        return ", ".join(obj.scopes)

    def has_add_permission(self, request):
        return False  # create keys through the API or create_api_key: the raw key is shown once

    def has_change_permission(self, request, obj=None):
        return False

    def get_actions(self, request):
        actions = super().get_actions(request)
        if not self.has_module_permission(request):
            return {}
        return actions

    @admin.action(description="Revoke the selected API keys")
    def revoke_selected(self, request, queryset):
        keys = list(self.get_queryset(request).filter(pk__in=queryset.values("pk"), revoked_at__isnull=True))
        for api_key in keys:
            services.revoke_api_key(api_key=api_key)
        self.message_user(request, f"Revoked {len(keys)} API key(s).", messages.SUCCESS)
