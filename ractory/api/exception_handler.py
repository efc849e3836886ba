"""The one mapping from exceptions to HTTP problem documents.

DRF calls ``problem_exception_handler`` for every exception a DRF view raises (including
authentication, parsing and database errors); ``ProblemMiddleware`` uses ``problem_for_exception``
for the few failures that happen outside DRF views. Both render with ``problems.render_problem``
(a problem document, or Eryxon's envelope on ``/api-…`` paths); nothing else builds error bodies.
"""

from __future__ import annotations

import logging
from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig, SuspiciousOperation
from django.db import DatabaseError, IntegrityError, InterfaceError, OperationalError
from django.http import Http404
from rest_framework import exceptions as drf
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import set_rollback

from ractory.refusals import FieldError, Refusal, json_pointer

from .problems import (
    PROBLEM_CONTENT_TYPE,
    Problem,
    problem_from_refusal,
    render_problem,
)

logger = logging.getLogger("ractory.errors")

WWW_AUTHENTICATE = 'Bearer realm="ractory"'
RETRY_AFTER_SECONDS = "5"

# DRF's error codes that we rename to the words documented in docs/errors.md.
VALIDATION_CODE_NAMES = {
    "invalid": "invalid",
    "required": "required",
    "null": "null",
    "blank": "blank",
    "max_length": "max_length",
    "min_length": "min_length",
    "max_value": "max_value",
    "min_value": "min_value",
    "invalid_choice": "invalid_choice",
    "not_a_list": "not_a_list",
    "null_characters_not_allowed": "null_character",
    "surrogate_characters_not_allowed": "invalid_character",
    "date": "invalid_datetime",
    "make_aware": "invalid_datetime",
    "overflow": "invalid_datetime",
}


def validation_errors(detail: Any, *parts: str | int) -> list[FieldError]:
    """Flatten DRF's nested ``ValidationError.detail`` into pointer/code/detail triples."""
    if isinstance(detail, dict):
        errors: list[FieldError] = []
        for key, value in detail.items():
            if key == "non_field_errors":
                errors.extend(validation_errors(value, *parts))
            else:
                errors.extend(validation_errors(value, *parts, key))
        return errors
    if isinstance(detail, list):
        if all(isinstance(item, (str, drf.ErrorDetail)) for item in detail):
            return [
                FieldError(
                    pointer=json_pointer(*parts),
                    code=VALIDATION_CODE_NAMES.get(
                        getattr(item, "code", None), getattr(item, "code", None) or "invalid"
                    ),
                    detail=str(item),
                )
                for item in detail
            ]
        errors = []
        for index, item in enumerate(detail):
            if item:
                errors.extend(validation_errors(item, *parts, index))
        return errors
    code = getattr(detail, "code", None) or "invalid"
    return [FieldError(pointer=json_pointer(*parts), code=VALIDATION_CODE_NAMES.get(code, code), detail=str(detail))]


def _detail_text(detail: Any, default: str) -> str:
    if isinstance(detail, dict) and "detail" in detail:
        return str(detail["detail"])
    if isinstance(detail, (str, drf.ErrorDetail)):
        return str(detail)
    if isinstance(detail, list) and detail:
        return str(detail[0])
    return default


def problem_for_exception(exc: BaseException) -> Problem | None:
    """The problem a known exception stands for, or ``None`` for a bug (answered 500)."""
    if isinstance(exc, Problem):
        return exc
    if isinstance(exc, Refusal):
        return problem_from_refusal(exc)
    if isinstance(exc, drf.ValidationError):
        errors = validation_errors(exc.detail)
        count = len(errors)
        return Problem(
            f"{count} field{'s are' if count != 1 else ' is'} invalid; nothing was written.",
            status=422,
            code="validation_error",
            errors=errors,
        )
    if isinstance(exc, drf.ParseError):
        return Problem(_detail_text(exc.detail, "Malformed request."), status=400, code="invalid_json")
    if isinstance(exc, (drf.NotAuthenticated, drf.AuthenticationFailed)):
        code = "not_authenticated" if isinstance(exc, drf.NotAuthenticated) else "authentication_failed"
        if isinstance(exc.detail, drf.ErrorDetail) and exc.detail.code not in {None, "authentication_failed"}:
            code = exc.detail.code  # the specific reason: invalid_api_key, api_key_expired, …
        detail = _detail_text(exc.detail, "Authentication failed.")
        if isinstance(exc.detail, dict) and exc.detail.get("code") == "token_not_valid":
            code, detail = "invalid_token", "The token is invalid or expired."
        return Problem(detail, status=401, code=code, headers={"WWW-Authenticate": WWW_AUTHENTICATE})
    if isinstance(exc, drf.PermissionDenied):
        return Problem(_detail_text(exc.detail, "Permission denied."), status=403, code="permission_denied")
    if isinstance(exc, DjangoPermissionDenied):
        return Problem("You do not have permission to perform this action.", status=403, code="permission_denied")
    if isinstance(exc, (drf.NotFound, Http404)):
        return Problem("Not found.", status=404, code="not_found")
    if isinstance(exc, drf.MethodNotAllowed):
        return Problem(_detail_text(exc.detail, "Method not allowed."), status=405, code="method_not_allowed")
    if isinstance(exc, drf.NotAcceptable):
        return Problem(_detail_text(exc.detail, "Not acceptable."), status=406, code="not_acceptable")
    if isinstance(exc, drf.UnsupportedMediaType):
        return Problem(
            "Send the body as JSON with Content-Type: application/json.",
            status=415,
            code="unsupported_media_type",
        )
    if isinstance(exc, RequestDataTooBig):
        return Problem("The request body is larger than the limit.", status=413, code="payload_too_large")
    if isinstance(exc, SuspiciousOperation):
        # What Django itself refuses in a request (too many query parameters, …) is a 400, as
        # Django answers it; not a bug of ours.
        return Problem("The request is malformed.", status=400, code="bad_request")
    if isinstance(exc, drf.Throttled):
        headers = {"Retry-After": str(exc.wait or 1)} if exc.wait is not None else {}
        return Problem("Too many requests.", status=429, code="rate_limited", headers=headers)
    if isinstance(exc, IntegrityError):
        # The service checks every constraint before it writes; what still trips one is a
        # concurrent request that took the same business key (a job number, a cell name)
        # between our read and our write. Retrying the request gets its item error.
        logger.warning("integrity error answered 409: %s", str(exc).splitlines()[0] if str(exc) else "")
        return Problem(
            "A concurrent request changed the same rows; retry the request.",
            status=409,
            code="concurrent_conflict",
        )
    if isinstance(exc, (OperationalError, InterfaceError)):
        # Connection refused, server gone, statement timeout (psycopg's QueryCanceled is an
        # OperationalError): the client can retry the same request.
        logger.warning("database unavailable: %s", exc.__class__.__name__)
        return Problem(
            "The database is unavailable or too slow; try again shortly.",
            status=503,
            code="database_unavailable",
            headers={"Retry-After": RETRY_AFTER_SECONDS},
        )
    if isinstance(exc, drf.APIException):
        return Problem(
            _detail_text(exc.detail, "Request failed."),
            status=exc.status_code,
            code=getattr(exc, "default_code", "error"),
        )
    return None


INTERNAL_ERROR = Problem(
    "The server failed to answer this request. It has been logged with the request id.",
    status=500,
    code="internal_error",
)


def problem_or_internal_error(exc: BaseException) -> Problem:
    problem = problem_for_exception(exc)
    if problem is None:
        if isinstance(exc, DatabaseError):
            logger.error("database error", exc_info=exc)
        else:
            logger.error("unhandled exception", exc_info=exc)
        return INTERNAL_ERROR
    return problem


class ProblemResponse(Response):
    """An error body rendered as JSON whatever renderer the view negotiated: the schema view
    would otherwise write it as YAML, the docs views as HTML."""

    renderer = JSONRenderer()

    @property
    def rendered_content(self):
        self.accepted_renderer = self.renderer
        self.accepted_media_type = self.content_type or PROBLEM_CONTENT_TYPE
        return super().rendered_content


def problem_exception_handler(exc: Exception, context: dict[str, Any]) -> Response:
    """DRF's ``EXCEPTION_HANDLER``: every error of every DRF view becomes a problem document
    (Eryxon's envelope on ``/api-…`` paths)."""
    set_rollback()
    problem = problem_or_internal_error(exc)
    request = context.get("request")
    body, content_type = render_problem(request, problem)
    headers = dict(problem.headers)
    if problem.status == 401:
        headers.setdefault("WWW-Authenticate", WWW_AUTHENTICATE)
    return ProblemResponse(body, status=problem.status, headers=headers, content_type=content_type)
