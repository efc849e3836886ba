"""Bugs are a bare 500 problem (logged, never shown); an unavailable or slow database is a 503
with Retry-After; what Django refuses in a request is a 400, not a bug."""

from __future__ import annotations

import logging

import pytest
from django.db import IntegrityError, OperationalError, connection
from django.test import override_settings

from ractory.tests.failing_urls import SECRET_MARKER
from tenants.models import ApiKey
from tenants.roles import Role

FAILING_URLS = "ractory.tests.failing_urls"
INTERNAL_DETAIL = "The server failed to answer this request. It has been logged with the request id."
DATABASE_DETAIL = "The database is unavailable or too slow; try again shortly."


def assert_reveals_nothing(response) -> None:
    text = response.content.decode()
    for leak in (SECRET_MARKER, "Traceback", "RuntimeError", "OperationalError", "exploded", ".py"):
        assert leak not in text, leak


# --- 500 --------------------------------------------------------------------------------------


@override_settings(ROOT_URLCONF=FAILING_URLS)
@pytest.mark.parametrize("debug", [False, True], ids=["debug-off", "debug-on"])
@pytest.mark.parametrize("path", ["/test/drf-boom", "/test/django-boom"], ids=["drf-view", "django-view"])
def test_uncaught_exception_is_a_bare_500_problem(api, full_problem, settings, debug, path):
    settings.DEBUG = debug
    response = api.get(path)  # APIClient re-raises anything that escapes to Django's handler
    body = full_problem(response, 500, "internal_error")
    assert body["detail"] == INTERNAL_DETAIL
    assert body["type"] == "/problems/internal-error"
    assert set(body) == {"type", "title", "status", "detail", "code", "request_id"}
    assert_reveals_nothing(response)


@override_settings(ROOT_URLCONF=FAILING_URLS)
@pytest.mark.parametrize("path", ["/test/drf-boom", "/test/django-boom"], ids=["drf-view", "django-view"])
def test_uncaught_exception_is_logged_with_the_request_id_and_traceback(api, caplog, path):
    caplog.set_level(logging.ERROR, logger="ractory.errors")
    response = api.get(path, HTTP_X_REQUEST_ID="trace-500-abc")
    assert response.status_code == 500
    assert response.json()["request_id"] == "trace-500-abc"
    errors = [record for record in caplog.records if record.name == "ractory.errors"]
    assert len(errors) == 1
    assert errors[0].levelno == logging.ERROR
    assert errors[0].request_id == "trace-500-abc"
    assert errors[0].exc_info is not None and errors[0].exc_info[0] is RuntimeError
    assert SECRET_MARKER in str(errors[0].exc_info[1])  # the log has the details, the body none


@override_settings(ROOT_URLCONF=FAILING_URLS)
def test_other_routes_still_work_with_the_failing_urlconf(api):
    response = api.get("/test/drf-ok")
    assert response.status_code == 200
    assert response.json() == {"ok": True}
    assert api.get("/health").json() == {"status": "ok"}


# --- 503 --------------------------------------------------------------------------------------


@override_settings(ROOT_URLCONF=FAILING_URLS)
@pytest.mark.parametrize("debug", [False, True], ids=["debug-off", "debug-on"])
@pytest.mark.parametrize(
    "path", ["/test/drf-database-down", "/test/django-database-down"], ids=["drf-view", "django-view"]
)
def test_database_operational_error_is_503_with_retry_after(api, full_problem, settings, debug, path):
    settings.DEBUG = debug
    response = api.get(path)
    body = full_problem(response, 503, "database_unavailable")
    assert body["detail"] == DATABASE_DETAIL
    assert body["type"] == "/problems/service-unavailable"
    assert response["Retry-After"] == "5"
    assert_reveals_nothing(response)


class DatabaseDown:
    """An ``execute_wrapper`` failing every statement as PostgreSQL does on a statement timeout."""

    def __init__(self, message: str = "canceling statement due to statement timeout") -> None:
        self.message = message
        self.calls = 0

    def __call__(self, execute, sql, params, many, context):
        self.calls += 1
        raise OperationalError(self.message)


@pytest.mark.parametrize(
    "message",
    ["canceling statement due to statement timeout", "server closed the connection unexpectedly"],
    ids=["statement-timeout", "connection-lost"],
)
def test_real_endpoint_whose_queries_fail_answers_503(make_user, as_user, full_problem, message):
    client = as_user(make_user(Role.COMPANY_ADMIN))
    down = DatabaseDown(message)
    with connection.execute_wrapper(down):
        response = client.post("/api/v1/api-keys", data={"scopes": ["sync:read"]}, format="json")
    body = full_problem(response, 503, "database_unavailable")
    assert response["Retry-After"] == "5"
    assert message not in body["detail"]
    assert down.calls >= 1
    assert ApiKey.objects.count() == 0


def test_public_endpoint_whose_queries_fail_answers_503(api, make_user, full_problem):
    make_user(email="someone@example.com")
    with connection.execute_wrapper(DatabaseDown()):
        response = api.post(
            "/api/v1/auth/login", data={"email": "someone@example.com", "password": "whatever"}, format="json"
        )
    full_problem(response, 503, "database_unavailable")
    assert response["Retry-After"] == "5"


def test_database_unavailable_is_logged_as_a_warning_with_the_request_id(make_user, as_user, caplog):
    client = as_user(make_user(Role.COMPANY_ADMIN))
    caplog.set_level(logging.WARNING, logger="ractory.errors")
    with connection.execute_wrapper(DatabaseDown()):
        response = client.get("/api/v1/api-keys", HTTP_X_REQUEST_ID="trace-503")
    assert response.status_code == 503
    records = [record for record in caplog.records if record.name == "ractory.errors"]
    assert [(record.levelno, record.request_id) for record in records] == [(logging.WARNING, "trace-503")]
    assert "statement timeout" not in records[0].getMessage()  # no SQL or server text in the log line


# --- what Django refuses is a 400, not a bug --------------------------------------------------


@pytest.mark.parametrize("path", ["/health", "/api/v1/api-keys"])
def test_too_many_query_parameters_is_400_not_500(make_user, as_user, full_problem, settings, path):
    client = as_user(make_user(Role.COMPANY_ADMIN))
    query = "&".join(f"p{index}=1" for index in range(settings.DATA_UPLOAD_MAX_NUMBER_FIELDS + 1))
    body = full_problem(client.get(f"{path}?{query}"), 400, "bad_request")
    assert body["detail"] == "The request is malformed."


class ConcurrentInsert:
    """An ``execute_wrapper`` failing the upsert as a partial unique index does when a
    concurrent request took the same business key between the checks and the write."""

    def __call__(self, execute, sql, params, many, context):
        if sql.startswith("INSERT INTO assemblies_job"):
            raise IntegrityError(f"duplicate key value violates unique constraint {SECRET_MARKER}")
        return execute(sql, params, many, context)


def test_an_integrity_error_of_a_concurrent_write_is_a_409_and_writes_nothing(make_api_key, as_key):
    from assemblies.models import Job
    from sync.models import SyncRun

    client = as_key(make_api_key()[1])
    with connection.execute_wrapper(ConcurrentInsert()):
        response = client.put(
            "/api-jobs/sync",
            data={"external_id": "SO-1", "external_source": "SAP", "job_number": "J-1"},
            format="json",
        )
    assert response.status_code == 409
    assert response.json() == {
        "success": False,
        "error": {"code": "CONFLICT", "message": "A concurrent request changed the same rows; retry the request."},
    }
    assert_reveals_nothing(response)
    assert not Job.objects.exists()
    assert SyncRun.objects.get().status == "failed"
