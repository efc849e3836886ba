"""Health endpoints (api.md §1): liveness without the database, readiness with it. Both public."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.db import OperationalError, connection

import ractory

# The Redis the tests run with (REDIS_URL), when there is one, answers.
REDIS = "connected" if settings.REDIS_URL else "not_configured"


def test_liveness_is_ok_without_credentials(api):
    response = api.get("/health")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"status": "ok"}


def test_liveness_does_not_touch_the_database(api):
    # No ``db`` fixture here: pytest-django makes any query fail, which would make this a 500.
    response = api.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


@pytest.mark.parametrize(
    "credentials",
    [{"HTTP_X_API_KEY": "rfk_nope_nope"}, {"HTTP_AUTHORIZATION": "Bearer not-a-jwt"}],
    ids=["bad-api-key", "bad-jwt"],
)
@pytest.mark.parametrize("path", ["/health", "/api/v1/health"])
def test_health_ignores_credentials(api, db, credentials, path):
    response = api.get(path, **credentials)
    assert response.status_code == 200, response.content
    assert response.json()["status"] in {"ok", "healthy"}


def test_readiness_is_healthy_when_the_database_answers(api, db):
    response = api.get("/api/v1/health")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response.json() == {
        "status": "healthy",
        "database": "connected",
        "redis": REDIS,
        "version": ractory.__version__,
    }


def _failing_statement(execute, sql, params, many, context):
    raise OperationalError("canceling statement due to statement timeout")


@pytest.mark.django_db(transaction=True)  # the view closes a broken connection, not the test's transaction
def test_readiness_is_503_unhealthy_when_queries_fail(api):
    with connection.execute_wrapper(_failing_statement):
        response = api.get("/api/v1/health")
    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    assert response.json() == {
        "status": "unhealthy",
        "database": "unavailable",
        "redis": REDIS,
        "version": ractory.__version__,
    }
    assert "statement timeout" not in response.content.decode()


@pytest.mark.django_db(transaction=True)
def test_readiness_is_503_unhealthy_when_the_database_cannot_be_reached(api, monkeypatch):
    def refuse():
        raise OperationalError('connection to server at "127.0.0.1", port 5432 failed: Connection refused')

    monkeypatch.setattr(connection, "cursor", refuse)
    response = api.get("/api/v1/health")
    monkeypatch.undo()
    assert response.status_code == 503
    assert response.json() == {
        "status": "unhealthy",
        "database": "unavailable",
        "redis": REDIS,
        "version": ractory.__version__,
    }
    assert "Connection refused" not in response.content.decode()


@pytest.mark.django_db(transaction=True)
def test_liveness_stays_ok_when_the_database_fails(api):
    with connection.execute_wrapper(_failing_statement):
        response = api.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


@pytest.mark.django_db(transaction=True)
def test_readiness_recovers_once_the_database_answers_again(api):
    with connection.execute_wrapper(_failing_statement):
        assert api.get("/api/v1/health").status_code == 503
    response = api.get("/api/v1/health")
    assert response.status_code == 200
    assert response.json()["status"] == "healthy"


def test_readiness_runs_select_1(api, db):
    statements: list[str] = []

    def record(execute, sql, params, many, context):
        statements.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(record):
        assert api.get("/api/v1/health").status_code == 200
    assert "SELECT 1" in statements
    if connection.vendor == "postgresql":  # bounded by a 2 s statement timeout, then reset
        assert statements == ["SET statement_timeout = %s", "SELECT 1", "RESET statement_timeout"]
