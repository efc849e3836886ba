"""The tenant-scoped base view: every queryset a view touches starts from the caller's company.

Subclasses declare ``model`` and may refine the scoped queryset in ``refine_queryset``; they
cannot override ``get_queryset`` (a class that tries is refused at import time), so unscoped
access cannot be forgotten.
"""

from __future__ import annotations

import uuid

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter
from rest_framework.viewsets import ViewSetMixin

from ractory.api.problems import BadRequest, Conflict, Forbidden, NotFound
from ractory.api.views import StrictAPIView
from ractory.refusals import FieldError

from .caller import Caller
from .models import Company

# The ``company_guid`` query parameter every tenant-scoped view reads, for the OpenAPI document.
COMPANY_GUID_PARAMETER = OpenApiParameter(
    "company_guid",
    OpenApiTypes.UUID,
    description="SystemAdmin: only this company (404 if unknown). Others: only their own (another → 403).",
    required=False,
)


def parse_uuid(raw: str, *, pointer: str) -> uuid.UUID:
    try:
        return uuid.UUID(raw.strip())
    except (ValueError, AttributeError):
        raise BadRequest(
            f"'{pointer.removeprefix('/query/')}' is not a valid UUID.",
            code="invalid_query_parameter",
            errors=[FieldError(pointer, "invalid_uuid", "Must be a valid UUID.")],
        ) from None


def requested_company(caller: Caller, raw_guid: str | None) -> Company | None:
    """The company a ``company_guid`` query parameter names, checked against the caller.

    A non-SystemAdmin may name only its own company (403 otherwise, whether or not the other
    company exists); a SystemAdmin may name any company (404 when unknown).
    """
    if raw_guid is None:
        return None
    guid = parse_uuid(raw_guid, pointer="/query/company_guid")
    if not caller.is_system_admin:
        if guid != caller.company.guid:
            raise Forbidden("You may only read your own company's data.", code="company_mismatch")
        return caller.company
    company = Company.objects.filter(guid=guid).first()
    if company is None:
        raise NotFound(f"No company {guid}.", code="company_not_found")
    return company


class TenantScopedAPIView(StrictAPIView):
    """Base of every view over a tenant-owned model.

    - a non-SystemAdmin sees only its own company's rows;
    - a SystemAdmin sees every company's rows, or one company's with ``?company_guid=``;
    - a guid of another company is a 404, exactly like a guid that does not exist.
    """

    model = None
    lookup_field = "guid"
    lookup_url_kwarg = "guid"
    # Tenant models whose guid is unique only per company must be disambiguated for a
    # SystemAdmin (409 ambiguous_guid); for globally unique guids this never triggers.
    company_query_parameter = "company_guid"

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        # Checked on the resolved method, not the class body alone, so that a mixin listed before
        # the base cannot bring in an unscoped get_queryset either.
        if cls.get_queryset is not TenantScopedAPIView.get_queryset:
            raise TypeError(f"{cls.__name__} must refine_queryset(), not override get_queryset().")

    @property
    def caller(self) -> Caller:
        return self.request.user

    def company_filter(self) -> Company | None:
        if not hasattr(self, "_company_filter"):
            self._company_filter = requested_company(
                self.caller, self.request.query_params.get(self.company_query_parameter)
            )
        return self._company_filter

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation: no caller, no rows
            return self.model.objects.none()
        return self.refine_queryset(self.scoped(self.model))

    def scoped(self, model):
        """``model``'s rows this request may see: the caller's company, or for a SystemAdmin every
        company (or the one ``company_guid`` names). Also for looking up the parents a filter names."""
        queryset = model.objects.all()
        company = self.company_filter()
        if company is not None:
            return queryset.for_company(company)
        if not self.caller.is_system_admin:
            return queryset.for_company(self.caller.company)
        return queryset

    def refine_queryset(self, queryset):
        return queryset

    def get_object(self):
        guid = self.kwargs[self.lookup_url_kwarg]
        matches = list(self.filter_detail_queryset(self.get_queryset()).filter(guid=guid)[:2])
        if not matches:
            raise NotFound()
        if len(matches) > 1:
            raise Conflict("This guid exists in several companies; add company_guid.", code="ambiguous_guid")
        self.check_object_permissions(self.request, matches[0])
        return matches[0]

    def filter_detail_queryset(self, queryset):
        return queryset


class TenantScopedViewSet(ViewSetMixin, TenantScopedAPIView):
    """Base of every ViewSet over a tenant-owned model: ``TenantScopedAPIView`` for every action.

    ``ViewSetMixin`` only routes methods to actions (``list``, ``retrieve``, an ``@action`` …);
    the queryset of each comes from ``TenantScopedAPIView.get_queryset``, which no subclass may
    override, so every action starts from the caller's company like the plain views do.
    """
