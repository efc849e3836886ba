"""Query-parameter filtering: django-filter filtersets whose errors are 400 problems.

Unknown query parameters are refused (400), so a misspelt filter never silently returns
everything.
"""

from __future__ import annotations

import django_filters
from django import forms
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field

from ractory.refusals import FieldError

from . import values
from .problems import BadRequest


class StrictBooleanField(forms.Field):
    """``true`` or ``false`` (any case); anything else is an error, not silently ignored."""

    def to_python(self, value):
        if value in (None, ""):
            return None
        lowered = str(value).lower()
        if lowered == "true":
            return True
        if lowered == "false":
            return False
        raise forms.ValidationError("Must be true or false.", code="invalid")


@extend_schema_field(OpenApiTypes.BOOL)
class StrictBooleanFilter(django_filters.Filter):
    field_class = StrictBooleanField


class StrictDateTimeField(forms.Field):
    """An ISO 8601 timestamp checked like a timestamp in a body (``values.check_datetime``): the
    same forms, naive read as UTC, and only UTC offsets the database can store."""

    def to_python(self, value):
        if value in (None, ""):
            return None
        try:
            return values.check_datetime(value)
        except values.ValueProblem as problem:
            raise forms.ValidationError(problem.message, code=problem.code) from None


class StrictDateTimeFilter(django_filters.IsoDateTimeFilter):
    """Documented as django-filter's own (a date-time with its help text), checked by our field."""

    field_class = StrictDateTimeField


def _unknown_parameters(request, view, allowed: set[str]) -> None:
    unknown = sorted(set(request.query_params) - allowed)
    if unknown:
        raise BadRequest(
            f"Unknown query parameter '{unknown[0]}'.",
            code="unknown_query_parameter",
            errors=[FieldError(f"/query/{name}", "unknown_parameter", "Unknown query parameter.") for name in unknown],
        )


def allowed_query_parameters(view) -> set[str]:
    allowed = set(getattr(view, "extra_query_parameters", ()))
    paginator = getattr(view, "paginator", None)
    if paginator is not None:
        allowed |= set(getattr(paginator, "query_params", ()))
    filterset_class = getattr(view, "filterset_class", None)
    if filterset_class is not None:
        allowed |= set(filterset_class.base_filters)
    return allowed


class StrictFilterBackend(DjangoFilterBackend):
    def filter_queryset(self, request, queryset, view):
        _unknown_parameters(request, view, allowed_query_parameters(view))
        filterset = self.get_filterset(request, queryset, view)
        if filterset is None:
            return queryset
        if not filterset.is_valid():
            errors = [
                FieldError(f"/query/{name}", error.code or "invalid", str(error.message % (error.params or {})))
                for name, field_errors in filterset.errors.as_data().items()
                for error in field_errors
            ]
            raise BadRequest(
                f"Query parameter '{errors[0].pointer.removeprefix('/query/')}' is invalid.",
                code="invalid_query_parameter",
                errors=errors,
            )
        return filterset.qs


def reject_query_parameters(request, allowed: set[str] = frozenset()) -> None:
    """For endpoints without filters: anything but ``allowed`` in the query string is a 400."""
    _unknown_parameters(request, None, set(allowed))


def boolean_query_parameter(request, name: str, default: bool = False) -> bool:
    """A ``true``/``false`` query parameter read by a view itself (not by a filterset)."""
    raw = request.query_params.get(name)
    if raw is None:
        return default
    try:
        value = StrictBooleanField().clean(raw)
    except forms.ValidationError:
        value = None
    if value is None:
        raise BadRequest(
            f"Query parameter '{name}' must be true or false.",
            code="invalid_query_parameter",
            errors=[FieldError(f"/query/{name}", "invalid", "Must be true or false.")],
        )
    return value
