"""Query-parameter filters of the entity lists."""

from __future__ import annotations

import django_filters
from django import forms
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field

from ractory.api.filters import StrictBooleanFilter, StrictDateTimeFilter
from ractory.api.problems import BadRequest, Conflict, NotFound
from ractory.refusals import FieldError

from .models import Article, Assembly, Component, Piece, Project

PARENT_MODELS = {"project": Project, "component": Component, "assembly": Assembly}


def _named_elsewhere(queryset, name, value):
    return queryset  # parent filters are applied together in filter_queryset


class RactoryFilterSet(django_filters.FilterSet):
    """Active rows only unless ``include_inactive=true``; parent filters checked against each other.

    A parent filter naming no parent in the caller's scope is 404 (another company's parent looks
    exactly like a missing one); two that contradict each other are 400 ``parent_mismatch``.
    """

    include_inactive = StrictBooleanFilter(method=_named_elsewhere, help_text="true: also soft-deleted rows.")
    updated_since = StrictDateTimeFilter(
        field_name="updated_at", lookup_expr="gte", help_text="Rows created or updated at or after this time."
    )
    parent_filters: tuple[str, ...] = ()

    def is_valid(self):
        # An empty value (``?project_guid=``) is not "no filter": it would silently return every
        # row. A typed parameter (guid, flag, time) must hold a value; text filters handle "".
        valid = super().is_valid()
        for name, filter_ in self.filters.items():
            if isinstance(filter_, django_filters.CharFilter) or self.data.get(name) != "":
                continue
            if name not in self.form.errors:
                self.form.add_error(name, forms.ValidationError("Must not be empty.", code="invalid"))
            valid = False
        return valid

    def filter_queryset(self, queryset):
        if not self.form.cleaned_data.get("include_inactive"):
            queryset = queryset.filter(is_active=True)
        queryset = self._filter_by_parents(queryset)
        return super().filter_queryset(queryset)

    def _filter_by_parents(self, queryset):
        view = self.request.parser_context["view"]
        named: dict[str, dict] = {}
        for name in self.parent_filters:
            guid = self.form.cleaned_data.get(f"{name}_guid")
            if guid is None:
                continue
            model = PARENT_MODELS[name]
            links = [f.column for f in model._meta.concrete_fields if f.is_relation and f.name != "company"]
            rows = list(view.scoped(model).filter(guid=guid).values("id", *links)[:2])
            if not rows:
                raise NotFound(f"No {name} {guid}.", code="parent_not_found")
            if len(rows) > 1:
                raise Conflict(f"The {name} guid exists in several companies; add company_guid.", code="ambiguous_guid")
            named[name] = rows[0]
        for child, parent in (("component", "project"), ("assembly", "component"), ("assembly", "project")):
            if child in named and parent in named and named[child][f"{parent}_id"] != named[parent]["id"]:
                raise BadRequest(
                    f"The {child} is not in the {parent} named.",
                    code="parent_mismatch",
                    errors=[FieldError(f"/query/{child}_guid", "parent_mismatch", f"Not in the {parent} named.")],
                )
        for name, row in named.items():
            queryset = queryset.filter(**{f"{name}_id": row["id"]})
        return queryset


class ExactTextFilter(django_filters.CharFilter):
    """An exact match; ``?barcode=`` matches rows whose value is "" (kept as sent), not every row."""

    def filter(self, qs, value):
        if value == "" and self.field_name in self.parent.data:
            return qs.filter(**{self.field_name: ""})
        return super().filter(qs, value)


@extend_schema_field(OpenApiTypes.UUID)
class ParentGuidFilter(django_filters.UUIDFilter):
    """A parent guid; applied with the other parent filters in ``RactoryFilterSet``."""


def _parent_filter(name: str) -> ParentGuidFilter:
    return ParentGuidFilter(method=_named_elsewhere, help_text=f"Only rows of this {name} (404 if unknown).")


class ProjectFilterSet(RactoryFilterSet):
    code = ExactTextFilter(help_text="Exact code.")
    search = django_filters.CharFilter(field_name="code", lookup_expr="icontains", help_text="Substring of the code.")

    class Meta:
        model = Project
        fields = ["include_inactive", "updated_since", "code", "search"]


class ComponentFilterSet(RactoryFilterSet):
    parent_filters = ("project",)
    project_guid = _parent_filter("project")

    class Meta:
        model = Component
        fields = ["include_inactive", "updated_since", "project_guid"]


class AssemblyFilterSet(RactoryFilterSet):
    parent_filters = ("project", "component")
    project_guid = _parent_filter("project")
    component_guid = _parent_filter("component")

    class Meta:
        model = Assembly
        fields = ["include_inactive", "updated_since", "project_guid", "component_guid"]


class PieceFilterSet(RactoryFilterSet):
    parent_filters = ("project", "component", "assembly")
    project_guid = _parent_filter("project")
    component_guid = _parent_filter("component")
    assembly_guid = _parent_filter("assembly")
    piece_id = ExactTextFilter(help_text="Exact piece id.")
    barcode = ExactTextFilter(help_text="Exact barcode.")

    class Meta:
        model = Piece
        fields = [
            "include_inactive",
            "updated_since",
            "project_guid",
            "component_guid",
            "assembly_guid",
            "piece_id",
            "barcode",
        ]


class ArticleFilterSet(RactoryFilterSet):
    parent_filters = ("project", "component")
    project_guid = _parent_filter("project")
    component_guid = _parent_filter("component")

    class Meta:
        model = Article
        fields = ["include_inactive", "updated_since", "project_guid", "component_guid"]
