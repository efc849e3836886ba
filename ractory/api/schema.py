"""OpenAPI generation: every operation documents its problem responses; both credentials are described."""

from __future__ import annotations

from django.views.generic import View
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import OpenApiExample, OpenApiResponse
from rest_framework.permissions import AllowAny

from ractory.refusals import FieldError

from .problems import (
    ERYXON_CONTENT_TYPE,
    ERYXON_FUNCTIONS_PREFIX,
    PROBLEM_CONTENT_TYPE,
    Problem,
    eryxon_body,
    is_eryxon_path,
    problem_body,
)
from .serializers import EryxonErrorSerializer, ProblemSerializer

ERROR_DESCRIPTIONS = {
    400: (
        "Malformed request: unparseable JSON, body not an object, too deep, unknown top-level key or query parameter.",
        "invalid_json",
        "The request body is not valid JSON (line 1, column 2).",
    ),
    401: (
        "No credential, or a bad, expired, revoked or inactive one.",
        "not_authenticated",
        "Authentication credentials were not provided.",
    ),
    403: (
        "The credential lacks the scope or role, or names another company.",
        "permission_denied",
        "This API key lacks the scope 'sync:write'.",
    ),
    404: ("No such row in the caller's company (another company's row looks the same).", "not_found", "Not found."),
    409: ("Conflict with the current state.", "conflict", "The request conflicts with the current state."),
    413: ("Body over the size limit.", "payload_too_large", "The request body is larger than the limit."),
    414: (
        "URL (path and query string) over MAX_URL_BYTES.",
        "uri_too_long",
        "The URL is 9000 bytes long; the limit is 8192.",
    ),
    415: (
        "Body not sent as application/json.",
        "unsupported_media_type",
        "Send the body as JSON with Content-Type: application/json.",
    ),
    422: (
        "Invalid fields; each is named by a JSON Pointer in errors[].",
        "validation_error",
        "1 field is invalid; nothing was written.",
    ),
    429: ("Rate limit exceeded; retry after Retry-After seconds.", "rate_limited", "Too many requests."),
    431: (
        "Request header fields over MAX_HEADER_BYTES together.",
        "headers_too_large",
        "The request headers are 17000 bytes together; the limit is 16384.",
    ),
    500: (
        "A bug; logged with the request id.",
        "internal_error",
        "The server failed to answer this request. It has been logged with the request id.",
    ),
    503: (
        "Database unavailable or statement timeout; retry after Retry-After seconds.",
        "database_unavailable",
        "The database is unavailable or too slow; try again shortly.",
    ),
}


def problem_response_doc(status: int, description: str | None = None) -> OpenApiResponse:
    default_description, code, detail = ERROR_DESCRIPTIONS[status]
    example = problem_body(status=status, code=code, detail=detail, request_id="4f6c0d1e2a3b4c5d")
    if status == 422:
        example["errors"] = [
            {
                "pointer": "/description",
                "code": "max_length",
                "detail": "Ensure this field has no more than 255 characters.",
            }
        ]
    return OpenApiResponse(
        response=ProblemSerializer,
        description=description or default_description,
        examples=[OpenApiExample(code, value=example, status_codes=[str(status)], response_only=True)],
    )


def eryxon_response_doc(status: int) -> OpenApiResponse:
    """The same error in Eryxon's envelope, for the /api-* paths."""
    description, code, detail = ERROR_DESCRIPTIONS[status]
    errors = []
    if status == 422:
        detail = "parts[0].operations[1].cell_name: No live cell named 'Cuting' in this company."
        errors = [
            FieldError(
                "/parts/0/operations/1/cell_name", "cell_not_found", "No live cell named 'Cuting' in this company."
            )
        ]
    example = eryxon_body(Problem(detail, status=status, code=code, errors=errors))
    return OpenApiResponse(
        response=EryxonErrorSerializer,
        description=description.replace("errors[]", "details[]").replace("a JSON Pointer", "a dotted path"),
        examples=[
            OpenApiExample(example["error"]["code"], value=example, status_codes=[str(status)], response_only=True)
        ],
    )


class ProblemAwareAutoSchema(AutoSchema):
    """Adds the problem-document responses each operation can answer to the generated schema.

    Which ones follow from the view: authentication (401/403), a guid in the path (404),
    a body (413/415/422), and ``extra_error_statuses`` on the view (409, …); every operation can
    answer 414 and 431 (URL or headers over the limits), 429, 500 and 503.
    """

    def _error_statuses(self) -> list[int]:
        statuses = [400]
        permissions = getattr(self.view, "permission_classes", [])
        if not all(issubclass(permission, AllowAny) for permission in permissions):
            statuses += [401, 403]
        if "{" in self.path or "company_guid" in getattr(self.view, "extra_query_parameters", ()):
            statuses.append(404)  # a row, a company_guid or a parent filter that names nothing
        if self.method in {"POST", "PUT", "PATCH"}:
            statuses += [413, 415, 422]
        statuses += list(getattr(self.view, "extra_error_statuses", ()))
        statuses += [414, 429, 431, 500, 503]  # 414, 431: any request (URL or headers too long)
        return sorted(set(statuses))

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        if direction != "response":
            return responses
        eryxon = is_eryxon_path(self.path)
        for status in self._error_statuses():
            key = str(status)
            if key in responses:
                continue
            if eryxon:
                doc, media_type = eryxon_response_doc(status), ERYXON_CONTENT_TYPE
            else:
                doc, media_type = problem_response_doc(status), PROBLEM_CONTENT_TYPE
            responses[key] = self._get_response_for_code(doc, key, media_types=[media_type])
        return responses


class ApiKeyScheme(OpenApiAuthenticationExtension):
    target_class = "tenants.authentication.ApiKeyAuthentication"
    name = "apiKey"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "X-API-Key",
            "description": "rfk_<key_id>_<secret>. Also accepted as 'Authorization: ApiKey <key>' "
            "or 'Authorization: Bearer <key>'.",
        }


class JwtScheme(OpenApiAuthenticationExtension):
    target_class = "tenants.authentication.JWTAuthentication"
    name = "jwtAuth"
    priority = 1

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "JWT",
            "description": "Access token from POST /api/v1/auth/login.",
        }


def drop_trailing_slash_duplicates(endpoints, **kwargs):
    """Spectacular preprocessing hook: every path is also served with a trailing slash, but the
    schema documents each operation once, under its canonical slash-less path."""
    return [endpoint for endpoint in endpoints if endpoint[0] == "/" or not endpoint[0].endswith("/")]


def drop_eryxon_functions_alias(endpoints, **kwargs):
    """Spectacular preprocessing hook: the Eryxon functions are also served under
    ``/functions/v1/`` (same views); the schema documents each once, under ``/api-…``."""
    return [endpoint for endpoint in endpoints if not endpoint[0].startswith(ERYXON_FUNCTIONS_PREFIX)]


def order_each_paths_methods(endpoints, **kwargs):
    """Spectacular preprocessing hook: a ViewSet's methods are enumerated from a set, in an order
    that changes with Python's hash seed; put every path's methods in the order a plain view
    lists them (``View.http_method_names``: get, post, put, patch, delete …), so the document
    is the same on every run. Paths keep their order."""
    first_index = {}
    for index, (path, _regex, _method, _callback) in enumerate(endpoints):
        first_index.setdefault(path, index)
    method_order = View.http_method_names
    return sorted(endpoints, key=lambda endpoint: (first_index[endpoint[0]], method_order.index(endpoint[2].lower())))
