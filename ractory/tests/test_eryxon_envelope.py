"""Errors on the Eryxon MES paths (``/api-…``) are Eryxon's envelope, not a problem
document: ``{"success": false, "error": {"code", "message", "details"?}}`` as ``application/json``,
with every header of the problem (WWW-Authenticate, Allow, Retry-After, X-RateLimit-*, X-Request-ID).

The probe views of ``ractory.tests.eryxon_urls`` stand in for the Eryxon views.
"""

from __future__ import annotations

import json
import time

import pytest
from django.test import RequestFactory

from ractory.api import ratelimit
from ractory.api.problems import (
    ERYXON_CONTENT_TYPE,
    PROBLEM_CONTENT_TYPE,
    Problem,
    dotted_path,
    is_eryxon_path,
    render_problem,
)
from ractory.refusals import FieldError, json_pointer
from ractory.tests.failing_urls import SECRET_MARKER
from tenants.roles import Role

ERYXON_URLS = "ractory.tests.eryxon_urls"
SYNC = "/api-probe/sync"
WWW_AUTHENTICATE = 'Bearer realm="ractory"'
INTERNAL_MESSAGE = "The server failed to answer this request. It has been logged with the request id."
RATE_HEADERS = ("X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset")
VALID_JOB = {"external_id": "JOB-1", "parts": [{"operations": [{"cell_name": "Saw"}]}]}

pytestmark = pytest.mark.urls(ERYXON_URLS)


def envelope(response, status: int, code: str, message: str, details: list[dict] | None = None) -> dict:
    """The response is exactly Eryxon's error envelope, with the headers of every API response."""
    assert response.status_code == status, (response.status_code, response.content[:500])
    assert response["Content-Type"] == ERYXON_CONTENT_TYPE
    error: dict = {"code": code, "message": message}
    if details is not None:
        error["details"] = details
    body = response.json()
    assert body == {"success": False, "error": error}
    assert response["X-Request-ID"]
    for name in RATE_HEADERS:
        assert name in response, name
    text = response.content.decode()
    for leak in (SECRET_MARKER, "Traceback", "<html", "/problems/"):
        assert leak not in text, leak
    return body


@pytest.fixture
def writer(make_api_key, as_key):
    _, raw = make_api_key(["sync:write"])
    return as_key(raw)


@pytest.fixture
def limits(settings):
    def set_limits(per_credential: int) -> None:
        settings.RATE_LIMIT_PER_MINUTE = per_credential
        settings.RATE_LIMIT_COMPANY_PER_MINUTE = 5 * per_credential

    return set_limits


@pytest.fixture
def frozen_window(monkeypatch):
    """Pin the clock 5 seconds into a window: Retry-After is then 55."""
    start = (int(time.time() // 60) * 60) + 5.0
    monkeypatch.setattr(ratelimit.time, "time", lambda: start)
    return int(start) - 5 + ratelimit.WINDOW_SECONDS  # the window's end, X-RateLimit-Reset


# --- the rule itself --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("pointer", "field"),
    [
        ("/parts/0/operations/1/cell_name", "parts[0].operations[1].cell_name"),
        ("/jobs/3/due_date", "jobs[3].due_date"),
        ("/external_id", "external_id"),
        ("", ""),
        ("/0/name", "[0].name"),
        ("/matrix/2/10", "matrix[2][10]"),
        ("/a~1b/c~0d", "a/b.c~d"),
        ("/~01", "~1"),  # ~1 is unescaped before ~0 (RFC 6901)
        ("/query/limit", "query.limit"),
        ("/parts/1a/x", "parts.1a.x"),  # not all digits: a key
        ("/parts/\u0663", "parts.\u0663"),  # a non-ASCII digit is no index
    ],
)
def test_dotted_path(pointer, field):
    assert dotted_path(pointer) == field


def test_dotted_path_of_json_pointer_round_trips_escapes():
    assert dotted_path(json_pointer("jobs", 0, "attributes", "width/mm", "~x")) == "jobs[0].attributes.width/mm.~x"


@pytest.mark.parametrize(
    ("path", "eryxon"),
    [
        ("/api-jobs/sync", True),
        ("/api-cells/bulk-sync", True),
        ("/api-nope", True),
        ("/api/v1/api-keys", False),
        ("/api/v1/sync/projects", False),
        ("/api", False),
        ("/api/", False),
        ("/health", False),
        ("/nope/api-jobs", False),
    ],
)
def test_is_eryxon_path(path, eryxon):
    assert is_eryxon_path(path) is eryxon


@pytest.mark.parametrize(
    ("status", "code"),
    [
        (400, "BAD_REQUEST"),
        (401, "UNAUTHORIZED"),
        (403, "FORBIDDEN"),
        (404, "NOT_FOUND"),
        (405, "METHOD_NOT_ALLOWED"),
        (406, "NOT_ACCEPTABLE"),
        (409, "CONFLICT"),
        (413, "PAYLOAD_TOO_LARGE"),
        (415, "UNSUPPORTED_MEDIA_TYPE"),
        (422, "VALIDATION_ERROR"),
        (429, "RATE_LIMIT_EXCEEDED"),
        (500, "INTERNAL_ERROR"),
        (503, "SERVICE_UNAVAILABLE"),
        (418, "BAD_REQUEST"),
        (410, "BAD_REQUEST"),
        (502, "INTERNAL_ERROR"),
        (504, "INTERNAL_ERROR"),
    ],
)
def test_render_problem_maps_the_status_to_the_eryxon_code(status, code):
    request = RequestFactory().put("/api-jobs/sync")
    body, content_type = render_problem(request, Problem("Something.", status=status, code="whatever"))
    assert content_type == ERYXON_CONTENT_TYPE
    assert body == {"success": False, "error": {"code": code, "message": "Something."}}


def test_render_problem_keeps_the_problem_document_off_the_eryxon_paths():
    request = RequestFactory().put("/api/v1/sync/projects")
    request.request_id = "rid-1"
    problem = Problem(
        "1 field is invalid; nothing was written.",
        status=422,
        code="validation_error",
        errors=[FieldError("/projects/0/code", "required", "This field is required.")],
        extra={"hint": "x"},
    )
    body, content_type = render_problem(request, problem)
    assert content_type == PROBLEM_CONTENT_TYPE
    assert body == {
        "type": "/problems/validation-error",
        "title": "Validation failed",
        "status": 422,
        "detail": "1 field is invalid; nothing was written.",
        "code": "validation_error",
        "request_id": "rid-1",
        "errors": [{"pointer": "/projects/0/code", "code": "required", "detail": "This field is required."}],
        "hint": "x",
    }


def test_render_problem_without_a_request_is_a_problem_document():
    body, content_type = render_problem(None, Problem("Nope.", status=404, code="not_found"))
    assert content_type == PROBLEM_CONTENT_TYPE
    assert body["request_id"] is None


# --- 401, 403 ---------------------------------------------------------------------------------


def test_without_a_key_is_401_unauthorized_with_www_authenticate(api, db):
    response = api.put(SYNC, VALID_JOB, format="json")
    envelope(response, 401, "UNAUTHORIZED", "Authentication credentials were not provided.")
    assert response["WWW-Authenticate"] == WWW_AUTHENTICATE


@pytest.mark.parametrize("header", ["HTTP_X_API_KEY", "HTTP_AUTHORIZATION"], ids=["x-api-key", "bearer"])
def test_a_wrong_key_is_401_unauthorized_with_www_authenticate(api, make_api_key, header):
    _, raw = make_api_key(["sync:write"])
    wrong = raw[:-4] + ("xxxx" if not raw.endswith("xxxx") else "yyyy")
    value = wrong if header == "HTTP_X_API_KEY" else f"Bearer {wrong}"
    response = api.put(SYNC, VALID_JOB, format="json", **{header: value})
    envelope(response, 401, "UNAUTHORIZED", "Invalid API key.")
    assert response["WWW-Authenticate"] == WWW_AUTHENTICATE


def test_a_right_key_as_bearer_passes(api, make_api_key):
    _, raw = make_api_key(["sync:write"])
    response = api.put(SYNC, VALID_JOB, format="json", HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert response.status_code == 200, response.content
    assert response.json() == {"success": True, "data": {"action": "unchanged", "external_id": "JOB-1"}}


def test_a_key_without_sync_write_is_403_forbidden(make_api_key, as_key):
    _, raw = make_api_key(["sync:read"])
    response = as_key(raw).put(SYNC, VALID_JOB, format="json")
    envelope(response, 403, "FORBIDDEN", "This API key lacks the scope 'sync:write'.")


# --- 404, 405 ---------------------------------------------------------------------------------


@pytest.mark.parametrize("debug", [False, True], ids=["debug-off", "debug-on"])
@pytest.mark.parametrize("method", ["get", "post"])
@pytest.mark.parametrize("path", ["/api-nope", "/api-widgets/sync", "/api-probe/sync/more"])
def test_unknown_eryxon_path_is_404_not_found(api, settings, db, debug, method, path):
    settings.DEBUG = debug  # DEBUG on: Django's technical HTML 404 page must be replaced
    if method == "get":
        response = api.get(path)
    else:
        response = api.post(path, data=b'{"a": 1}', content_type="application/json")
    envelope(response, 404, "NOT_FOUND", "No resource at this path.")


def test_wrong_method_is_405_method_not_allowed_with_allow(writer):
    response = writer.get(SYNC)
    envelope(response, 405, "METHOD_NOT_ALLOWED", 'Method "GET" not allowed.')
    assert {part.strip() for part in response["Allow"].split(",")} == {"PUT", "OPTIONS"}


@pytest.mark.parametrize("debug", [False, True], ids=["debug-off", "debug-on"])
def test_wrong_method_on_a_plain_django_view_is_405_with_allow(api, settings, db, debug):
    settings.DEBUG = debug
    response = api.post("/api-probe/django-get-only", data=b"{}", content_type="application/json")
    envelope(response, 405, "METHOD_NOT_ALLOWED", "Method not allowed.")
    assert response["Allow"] == "GET"


# --- 406, 413, 415, 400 -----------------------------------------------------------------------


def test_unacceptable_accept_is_406_not_acceptable(writer):
    response = writer.put(SYNC, VALID_JOB, format="json", HTTP_ACCEPT="text/html")
    envelope(response, 406, "NOT_ACCEPTABLE", "Could not satisfy the request Accept header.")


def test_oversize_body_is_413_payload_too_large(writer, settings):
    settings.MAX_BODY_BYTES = 1024
    body = json.dumps({"external_id": "JOB-1", "padding": "x" * 2000})
    response = writer.put(SYNC, data=body, content_type="application/json")
    envelope(response, 413, "PAYLOAD_TOO_LARGE", "The request body is larger than the limit of 1024 bytes.")


def test_body_not_sent_as_json_is_415_unsupported_media_type(writer):
    response = writer.put(SYNC, data="external_id=JOB-1", content_type="text/plain")
    envelope(response, 415, "UNSUPPORTED_MEDIA_TYPE", "Send the body as JSON with Content-Type: application/json.")


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b'{"external_id": ', "The request body is not valid JSON (line 1, column 17)."),
        (b"[1, 2]", "The request body must be a JSON object."),
    ],
    ids=["truncated", "not-an-object"],
)
def test_malformed_json_is_400_bad_request(writer, raw, message):
    response = writer.put(SYNC, data=raw, content_type="application/json")
    envelope(response, 400, "BAD_REQUEST", message)


# --- 422 --------------------------------------------------------------------------------------


def test_invalid_fields_are_422_validation_error_with_dotted_details(writer):
    job = {
        "parts": [
            {"operations": [{"cell_name": "Saw"}]},
            {"operations": [{"cell_name": "Saw"}, {"cell_name": ""}]},
        ]
    }
    response = writer.put(SYNC, job, format="json")
    envelope(
        response,
        422,
        "VALIDATION_ERROR",
        "2 fields are invalid; nothing was written.",
        details=[
            {"field": "external_id", "code": "required", "message": "This field is required."},
            {
                "field": "parts[1].operations[1].cell_name",
                "code": "cell_not_found",
                "message": "No active cell of this name in this company.",
            },
        ],
    )


# --- 429 --------------------------------------------------------------------------------------


def test_over_the_limit_on_a_view_is_429_rate_limit_exceeded(writer, limits, frozen_window):
    limits(2)
    for _ in range(2):
        assert writer.put(SYNC, VALID_JOB, format="json").status_code == 200

    response = writer.put(SYNC, VALID_JOB, format="json")

    envelope(
        response,
        429,
        "RATE_LIMIT_EXCEEDED",
        "Too many requests: the limit is 2 a minute. Retry after the Retry-After seconds.",
    )
    assert response["Retry-After"] == "55"
    assert response["X-RateLimit-Limit"] == "2"
    assert response["X-RateLimit-Remaining"] == "0"
    assert response["X-RateLimit-Reset"] == str(frozen_window)


def test_over_the_limit_outside_a_view_is_429_rate_limit_exceeded(api, db, limits, frozen_window):
    limits(2)
    assert [api.get("/api-nope").status_code for _ in range(2)] == [404, 404]

    response = api.get("/api-nope")  # answered by ProblemMiddleware, no view involved

    envelope(
        response,
        429,
        "RATE_LIMIT_EXCEEDED",
        "Too many requests: the limit is 2 a minute. Retry after the Retry-After seconds.",
    )
    assert response["Retry-After"] == "55"
    assert response["X-RateLimit-Limit"] == "2"
    assert response["X-RateLimit-Remaining"] == "0"
    assert response["X-RateLimit-Reset"] == str(frozen_window)


# --- 500, 503 ---------------------------------------------------------------------------------


@pytest.mark.parametrize("debug", [False, True], ids=["debug-off", "debug-on"])
@pytest.mark.parametrize("path", ["/api-probe/boom", "/api-probe/django-boom"], ids=["drf-view", "django-view"])
def test_unhandled_exception_is_500_internal_error(api, settings, db, debug, path):
    settings.DEBUG = debug
    response = api.get(path, HTTP_X_REQUEST_ID="trace-eryxon-500")
    envelope(response, 500, "INTERNAL_ERROR", INTERNAL_MESSAGE)
    assert response["X-Request-ID"] == "trace-eryxon-500"


def test_database_unavailable_is_503_service_unavailable_with_retry_after(api, db):
    response = api.get("/api-probe/database-down")
    envelope(response, 503, "SERVICE_UNAVAILABLE", "The database is unavailable or too slow; try again shortly.")
    assert response["Retry-After"] == "5"


# --- the Ractory API keeps its problem documents ----------------------------------------------


def test_ractory_view_error_is_still_the_same_problem_document(api, db):
    response = api.get("/api/v1/auth/me", HTTP_X_REQUEST_ID="rid-ractory-1")
    assert response.status_code == 401
    assert response["Content-Type"] == PROBLEM_CONTENT_TYPE
    assert response["WWW-Authenticate"] == WWW_AUTHENTICATE
    assert response.content == (
        b'{"type":"/problems/not-authenticated","title":"Authentication required","status":401,'
        b'"detail":"Authentication credentials were not provided.","code":"not_authenticated",'
        b'"request_id":"rid-ractory-1"}'
    )


@pytest.mark.parametrize("debug", [False, True], ids=["debug-off", "debug-on"])
def test_ractory_unknown_path_is_still_the_same_problem_document(api, settings, db, debug):
    settings.DEBUG = debug
    response = api.get("/api/v1/api-nope", HTTP_X_REQUEST_ID="rid-ractory-2")
    assert response.status_code == 404
    assert response["Content-Type"] == PROBLEM_CONTENT_TYPE
    assert response.content == (
        b'{"type": "/problems/not-found", "title": "Not found", "status": 404, '
        b'"detail": "No resource at this path.", "code": "not_found", "request_id": "rid-ractory-2"}'
    )


def test_ractory_validation_error_keeps_its_pointers(make_user, as_user, problem):
    client = as_user(make_user(Role.COMPANY_ADMIN))
    response = client.post("/api/v1/api-keys", data={"scopes": ["sync:all"]}, format="json")
    body = problem(response, 422, "validation_error")
    assert [error["pointer"] for error in body["errors"]] == ["/scopes"]
    assert "success" not in body
