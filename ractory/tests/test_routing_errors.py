"""Routing-level errors are problem documents: unknown paths, wrong methods,
bad hosts, path segments that are no UUID; and collection paths answer with a trailing slash."""

from __future__ import annotations

import uuid

import pytest
from django.test import override_settings

from tenants.models import ApiKey

FAILING_URLS = "ractory.tests.failing_urls"


# --- unknown paths ----------------------------------------------------------------------------

UNKNOWN_PATHS = [
    "/nope",
    "/api/",
    "/api/v1/",
    "/api/v1/nope",
    "/api/v1/api-keys/all/more",
    "/healthz",
    "/api/docs/nope",
    "/api/redoc/nope.js",
    "/static/nope.css",
]


@pytest.mark.parametrize("debug", [False, True], ids=["debug-off", "debug-on"])
@pytest.mark.parametrize("path", UNKNOWN_PATHS)
def test_unknown_path_is_a_404_problem(api, full_problem, settings, debug, path):
    settings.DEBUG = debug  # DEBUG on: Django's technical HTML 404 page must be replaced
    body = full_problem(api.get(path), 404, "not_found")
    assert body["detail"] == "No resource at this path."
    assert body["type"] == "/problems/not-found"
    assert path not in body["detail"]


@pytest.mark.parametrize("debug", [False, True], ids=["debug-off", "debug-on"])
def test_post_to_an_unknown_path_is_a_404_problem_not_a_csrf_page(api, full_problem, settings, debug):
    settings.DEBUG = debug
    response = api.post("/api/v1/nope", data=b'{"a": 1}', content_type="application/json")
    full_problem(response, 404, "not_found")


@pytest.mark.parametrize(
    "segment",
    ["not-a-uuid", "123", "zzzzzzzz-zzzz-zzzz-zzzz-zzzzzzzzzzzz", "0f3c1d2e-1111-2222-3333-44445555666", "current2"],
)
def test_path_segment_that_is_not_a_uuid_is_404(company_admin, full_problem, make_api_key, segment):
    make_api_key()
    body = full_problem(company_admin.get(f"/api/v1/api-keys/{segment}"), 404, "not_found")
    assert body["detail"] == "No resource at this path."


def test_path_segment_that_is_not_a_uuid_is_404_also_for_writes(company_admin, full_problem, make_api_key):
    api_key, _ = make_api_key()
    response = company_admin.delete("/api/v1/api-keys/not-a-uuid")
    full_problem(response, 404, "not_found")
    api_key.refresh_from_db()
    assert api_key.is_active and api_key.revoked_at is None


@pytest.mark.parametrize(
    "spell",
    [str.upper, lambda guid: guid.replace("-", ""), lambda guid: guid.upper().replace("-", "")],
    ids=["upper-case", "no-hyphens", "upper-no-hyphens"],
)
def test_uuid_in_a_path_is_accepted_in_any_case_with_or_without_hyphens(company_admin, make_api_key, spell):
    api_key, _ = make_api_key()
    response = company_admin.get(f"/api/v1/api-keys/{spell(str(api_key.guid))}")
    assert response.status_code == 200, response.content
    assert response.json()["guid"] == str(api_key.guid)


def test_unknown_uuid_in_a_path_is_404(company_admin, full_problem):
    body = full_problem(company_admin.get("/api/v1/api-keys/00000000-0000-0000-0000-000000000000"), 404, "not_found")
    assert body["detail"] == "Not found."


# --- wrong methods ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("get", "/api/v1/auth/login", {"POST", "OPTIONS"}),
        ("delete", "/health", {"GET", "HEAD", "OPTIONS"}),
        ("post", "/api/v1/health", {"GET", "HEAD", "OPTIONS"}),
        ("put", "/api/v1/auth/me", {"GET", "HEAD", "OPTIONS"}),
    ],
)
def test_wrong_method_is_405_with_an_allow_header(api, full_problem, make_user, as_user, method, path, allowed):
    client = as_user(make_user()) if path == "/api/v1/auth/me" else api
    response = getattr(client, method)(path)
    body = full_problem(response, 405, "method_not_allowed")
    assert body["detail"] == f'Method "{method.upper()}" not allowed.'
    assert {part.strip() for part in response["Allow"].split(",")} == allowed


def test_wrong_method_on_a_collection_writes_nothing(company_admin, full_problem, make_api_key):
    api_key, _ = make_api_key(description="before")
    response = company_admin.put("/api/v1/api-keys", data={"description": "after"}, format="json")
    full_problem(response, 405, "method_not_allowed")
    assert {part.strip() for part in response["Allow"].split(",")} == {"GET", "POST", "HEAD", "OPTIONS"}
    assert list(ApiKey.objects.values_list("description", flat=True)) == ["before"]


@override_settings(ROOT_URLCONF=FAILING_URLS)
@pytest.mark.parametrize("debug", [False, True], ids=["debug-off", "debug-on"])
def test_wrong_method_on_a_plain_django_view_is_a_405_problem_with_allow(api, full_problem, settings, debug):
    settings.DEBUG = debug
    assert api.get("/test/django-get-only").status_code == 200
    response = api.post("/test/django-get-only", data=b"{}", content_type="application/json")
    body = full_problem(response, 405, "method_not_allowed")
    assert body["detail"] == "Method not allowed."
    assert response["Allow"] == "GET"


# --- Host header ------------------------------------------------------------------------------
# Every path but liveness (/health answers any Host: see test_redis_unavailable.py).


@pytest.mark.parametrize("host", ["evil.example.com", "testserver.evil.example.com", "bad host", "[::1"])
def test_disallowed_host_is_400_disallowed_host(api, full_problem, host):
    response = api.get("/api/v1/health", HTTP_HOST=host)
    body = full_problem(response, 400, "disallowed_host")
    assert body["detail"] == "The Host header is not served here."
    assert host.encode() not in response.content  # the caller's value is not echoed


def test_disallowed_host_is_refused_before_the_view_writes(company_admin, full_problem):
    response = company_admin.post(
        "/api/v1/api-keys", data={"scopes": ["sync:read"]}, format="json", HTTP_HOST="evil.example.com"
    )
    full_problem(response, 400, "disallowed_host")
    assert ApiKey.objects.count() == 0


@pytest.mark.parametrize("debug", [False, True], ids=["debug-off", "debug-on"])
def test_host_outside_a_configured_allowed_hosts_is_refused(api, db, full_problem, settings, debug):
    settings.DEBUG = debug
    settings.ALLOWED_HOSTS = ["api.example.com"]
    full_problem(api.get("/api/v1/health"), 400, "disallowed_host")
    allowed = api.get("/api/v1/health", HTTP_HOST="api.example.com")
    assert allowed.status_code == 200
    assert allowed.json()["status"] == "healthy"
    assert api.get("/health").json() == {"status": "ok"}  # liveness answers whatever the host


# --- trailing slashes -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "/health",
        "/api/v1/health",
        "/api/v1/auth/me",
        "/api/v1/api-keys",
        "/api/v1/users",
        "/api/v1/companies/current",
    ],
)
def test_collection_path_answers_the_same_with_a_trailing_slash(company_admin, make_api_key, path):
    make_api_key()
    without = company_admin.get(path)
    with_slash = company_admin.get(f"{path}/")
    assert without.status_code == 200, without.content
    assert with_slash.status_code == 200, with_slash.content  # no 301/308 redirect
    assert with_slash.json() == without.json()
    assert with_slash.get("X-Total-Count") == without.get("X-Total-Count")


def test_detail_path_answers_the_same_with_a_trailing_slash(company_admin, make_api_key):
    api_key, _ = make_api_key()
    without = company_admin.get(f"/api/v1/api-keys/{api_key.guid}")
    with_slash = company_admin.get(f"/api/v1/api-keys/{api_key.guid}/")
    assert without.status_code == with_slash.status_code == 200
    assert with_slash.json() == without.json()


def test_write_to_a_collection_with_a_trailing_slash_is_served_not_redirected(company_admin):
    response = company_admin.post("/api/v1/api-keys/", data={"scopes": ["sync:read"]}, format="json")
    assert response.status_code == 201, response.content
    assert list(ApiKey.objects.values_list("guid", flat=True)) == [uuid.UUID(response.json()["guid"])]


def test_errors_answer_the_same_with_a_trailing_slash(api, full_problem):
    without = full_problem(api.get("/api/v1/api-keys"), 401, "not_authenticated")
    with_slash = full_problem(api.get("/api/v1/api-keys/"), 401, "not_authenticated")
    assert {key: value for key, value in with_slash.items() if key != "request_id"} == {
        key: value for key, value in without.items() if key != "request_id"
    }


# --- authentication errors keep the shape -----------------------------------------------------


@pytest.mark.parametrize(
    ("credentials", "code"),
    [({}, "not_authenticated"), ({"HTTP_AUTHORIZATION": "Bearer not-a-jwt"}, "invalid_token")],
    ids=["none", "malformed-jwt"],
)
def test_unauthenticated_request_is_a_401_problem_with_www_authenticate(api, full_problem, db, credentials, code):
    response = api.get("/api/v1/auth/me", **credentials)
    full_problem(response, 401, code)
    assert response["WWW-Authenticate"] == 'Bearer realm="ractory"'
