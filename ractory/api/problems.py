"""RFC 9457 problem documents: the one shape of every error the API returns.

Views raise a ``Problem`` (or one of its subclasses); services raise domain refusals
(``ractory.refusals``), which ``problem_from_refusal`` maps to problems. The exception handler and
the middleware render a problem with ``render_problem``, which is the one place deciding the body and its
content type: a problem document for the Ractory API, Eryxon's error envelope on the Eryxon MES
paths (``/api-…``). The list of codes with their meaning is kept in ``docs/errors.md``.
"""

from __future__ import annotations

import re
from typing import Any

from django.http import JsonResponse

from ractory.refusals import FieldError, InvalidInput, NoSuchRow, NotPermitted, Refusal, StateConflict

PROBLEM_CONTENT_TYPE = "application/problem+json"
ERYXON_CONTENT_TYPE = "application/json"
ERYXON_PATH_PREFIX = "/api-"
# Eryxon's own clients call the same functions under this prefix (``/functions/v1/api-jobs/sync``).
ERYXON_FUNCTIONS_PREFIX = "/functions/v1/"


# The problem classes: status → (type slug, title). The code of a problem may be more specific
# than its class (``batch_too_large`` is a ``bad-request``).
PROBLEM_CLASSES: dict[int, tuple[str, str]] = {
    400: ("bad-request", "Malformed request"),
    401: ("not-authenticated", "Authentication required"),
    403: ("permission-denied", "Permission denied"),
    404: ("not-found", "Not found"),
    405: ("method-not-allowed", "Method not allowed"),
    406: ("not-acceptable", "Not acceptable"),
    409: ("conflict", "Conflict"),
    413: ("payload-too-large", "Payload too large"),
    414: ("uri-too-long", "URI too long"),
    415: ("unsupported-media-type", "Unsupported media type"),
    422: ("validation-error", "Validation failed"),
    429: ("rate-limited", "Too many requests"),
    431: ("headers-too-large", "Request header fields too large"),
    500: ("internal-error", "Internal server error"),
    503: ("service-unavailable", "Service unavailable"),
}


class Problem(Exception):
    """An error answered with a problem document. Raised by views and the HTTP plumbing."""

    status = 400
    code = "bad_request"
    default_detail = "The request is malformed."

    def __init__(
        self,
        detail: str | None = None,
        *,
        code: str | None = None,
        status: int | None = None,
        errors: list[FieldError] | None = None,
        headers: dict[str, str] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        self.detail = detail or self.default_detail
        if code:
            self.code = code
        if status:
            self.status = status
        self.errors = errors or []
        self.headers = headers or {}
        self.extra = extra or {}
        super().__init__(self.detail)


class BadRequest(Problem):
    status = 400
    code = "bad_request"


class NotAuthenticatedProblem(Problem):
    status = 401
    code = "not_authenticated"
    default_detail = "Authentication credentials were not provided."


class Forbidden(Problem):
    status = 403
    code = "permission_denied"
    default_detail = "You do not have permission to perform this action."


class NotFound(Problem):
    status = 404
    code = "not_found"
    default_detail = "Not found."


class Conflict(Problem):
    status = 409
    code = "conflict"
    default_detail = "The request conflicts with the current state."


class ValidationFailed(Problem):
    status = 422
    code = "validation_error"
    default_detail = "The request has invalid fields; nothing was written."


class ServiceUnavailable(Problem):
    status = 503
    code = "database_unavailable"
    default_detail = "The database is unavailable; try again shortly."


# Each kind of domain refusal and the status that answers it.
REFUSAL_STATUSES: dict[type[Refusal], int] = {InvalidInput: 422, NotPermitted: 403, StateConflict: 409, NoSuchRow: 404}


def problem_from_refusal(refusal: Refusal) -> Problem:
    """The problem answering a service's refusal: its code, sentence and errors, with the status
    of its kind (the nearest kind in its class's ancestry; 400 for a kind without one)."""
    status = next((REFUSAL_STATUSES[kind] for kind in type(refusal).__mro__ if kind in REFUSAL_STATUSES), 400)
    return Problem(refusal.detail, code=refusal.code, status=status, errors=refusal.errors)


def problem_body(
    *,
    status: int,
    code: str,
    detail: str,
    request_id: str | None,
    errors: list[FieldError] | None = None,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    slug, title = PROBLEM_CLASSES.get(status, ("error", "Error"))
    body: dict[str, Any] = {
        "type": f"/problems/{slug}",
        "title": title,
        "status": status,
        "detail": detail,
        "code": code,
        "request_id": request_id,
    }
    if errors:
        body["errors"] = [error.as_dict() for error in errors]
    if extra:
        body.update(extra)
    return body


# The ``code`` of Eryxon's error envelope, by HTTP status.
ERYXON_CODES: dict[int, str] = {
    400: "BAD_REQUEST",
    401: "UNAUTHORIZED",
    403: "FORBIDDEN",
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    406: "NOT_ACCEPTABLE",
    409: "CONFLICT",
    413: "PAYLOAD_TOO_LARGE",
    415: "UNSUPPORTED_MEDIA_TYPE",
    422: "VALIDATION_ERROR",
    429: "RATE_LIMIT_EXCEEDED",
    500: "INTERNAL_ERROR",
    503: "SERVICE_UNAVAILABLE",
}

_INDEX = re.compile(r"[0-9]+")


def is_eryxon_path(path: str) -> bool:
    """The Eryxon MES API family: ``/api-jobs/sync``, ``/api-cells/bulk-sync``, … and everything
    under ``/functions/v1/`` (the same functions as Eryxon's clients address them, and the 404
    of a function that does not exist there)."""
    return path.startswith((ERYXON_PATH_PREFIX, ERYXON_FUNCTIONS_PREFIX)) or path == ERYXON_FUNCTIONS_PREFIX.rstrip("/")


def dotted_path(pointer: str) -> str:
    """A JSON Pointer as Eryxon's dotted field path: ``/parts/0/operations/1/cell_name`` →
    ``parts[0].operations[1].cell_name``; the empty pointer (the whole body) is ``""``.

    Segments are unescaped per RFC 6901 (``~1`` → ``/``, then ``~0`` → ``~``); an all-digit
    segment is an array index, written ``[n]``.
    """
    if not pointer:
        return ""
    path = ""
    for segment in pointer.removeprefix("/").split("/"):
        segment = segment.replace("~1", "/").replace("~0", "~")
        if _INDEX.fullmatch(segment):
            path += f"[{segment}]"
        else:
            path += f".{segment}" if path else segment
    return path


def eryxon_code(status: int) -> str:
    if status in ERYXON_CODES:
        return ERYXON_CODES[status]
    return "INTERNAL_ERROR" if status >= 500 else "BAD_REQUEST"


def eryxon_body(problem: Problem) -> dict[str, Any]:
    """Eryxon's error envelope: ``{"success": false, "error": {"code", "message", "details"?}}``."""
    error: dict[str, Any] = {"code": eryxon_code(problem.status), "message": problem.detail}
    if problem.errors:
        error["details"] = [
            {"field": dotted_path(item.pointer), "code": item.code, "message": item.detail} for item in problem.errors
        ]
    return {"success": False, "error": error}


def _request_path(request) -> str:
    if request is None:
        return ""
    return getattr(request, "path_info", None) or getattr(request, "path", "") or ""


def render_problem(request, problem: Problem) -> tuple[dict[str, Any], str]:
    """The body and content type answering ``problem`` to ``request``: the one place deciding
    between a problem document and Eryxon's envelope. The caller sets the status and the
    problem's headers, which are the same for both."""
    if is_eryxon_path(_request_path(request)):
        return eryxon_body(problem), ERYXON_CONTENT_TYPE
    body = problem_body(
        status=problem.status,
        code=problem.code,
        detail=problem.detail,
        request_id=getattr(request, "request_id", None) if request is not None else None,
        errors=problem.errors,
        extra=problem.extra,
    )
    return body, PROBLEM_CONTENT_TYPE


def problem_response(request, problem: Problem) -> JsonResponse:  # a plain Django response: usable outside DRF views
    body, content_type = render_problem(request, problem)
    response = JsonResponse(body, status=problem.status, content_type=content_type)
    for name, value in problem.headers.items():
        response[name] = value
    return response
