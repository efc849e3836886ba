"""Paging of every list: a bare JSON array, ``limit``/``offset``, ``X-Total-Count`` and ``Link``."""

from __future__ import annotations

from django.conf import settings
from rest_framework.pagination import BasePagination
from rest_framework.response import Response
from rest_framework.utils.urls import replace_query_param

from ractory.refusals import FieldError

from .problems import BadRequest

MAX_LIMIT = 1000
# The largest OFFSET both SQLite and PostgreSQL accept (a signed 64-bit integer).
MAX_OFFSET = 2**63 - 1


def _query_int(request, name: str, default: int, minimum: int, maximum: int | None) -> int:
    raw = request.query_params.get(name)
    if raw is None:
        return default
    bound = f"from {minimum} to {maximum}" if maximum is not None else f"at least {minimum}"
    problem = BadRequest(
        f"Query parameter '{name}' must be a whole number {bound}.",
        code="invalid_query_parameter",
        errors=[FieldError(f"/query/{name}", "invalid", f"Must be a whole number {bound}.")],
    )
    # ASCII digits only: str.isdigit() also admits "²" or "١", which int() refuses or reads.
    # The length check keeps int() away from thousands of digits (a ValueError past 4300).
    if not (raw.isascii() and raw.isdigit()) or len(raw.lstrip("0")) > len(str(maximum or MAX_OFFSET)):
        raise problem
    value = int(raw.lstrip("0") or "0")
    if value < minimum or (maximum is not None and value > maximum):
        raise problem
    return value


class ArrayPagination(BasePagination):
    """Limit/offset paging whose body stays the bare array the seeds promise."""

    query_params = ("limit", "offset")

    def paginate_queryset(self, queryset, request, view=None):
        self.request = request
        self.limit = _query_int(request, "limit", MAX_LIMIT, 1, MAX_LIMIT)
        self.offset = _query_int(request, "offset", 0, 0, MAX_OFFSET)
        self.total = queryset.count()
        return list(queryset[self.offset : self.offset + self.limit])

    def get_paginated_response(self, data):
        headers = {"X-Total-Count": str(self.total)}
        if self.offset + self.limit < self.total:
            url = self.request.build_absolute_uri()
            url = replace_query_param(url, "offset", self.offset + self.limit)
            url = replace_query_param(url, "limit", self.limit)
            headers["Link"] = f'<{url}>; rel="next"'
        return Response(data, headers=headers)

    def get_paginated_response_schema(self, schema):
        return schema

    def get_schema_operation_parameters(self, view):
        return [
            {
                "name": "limit",
                "required": False,
                "in": "query",
                "description": f"Rows per page, 1–{MAX_LIMIT} (default {MAX_LIMIT}).",
                "schema": {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT},
            },
            {
                "name": "offset",
                "required": False,
                "in": "query",
                "description": "Rows to skip (default 0).",
                "schema": {"type": "integer", "minimum": 0},
            },
        ]


__all__ = ["ArrayPagination", "MAX_LIMIT", "settings"]
