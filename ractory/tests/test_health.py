"""Health endpoints: liveness without the database, readiness with it. Both public."""

from __future__ import annotations

import threading
import time

import pytest
from django.conf import settings
from django.db import OperationalError, connection, connections

import ractory
from ractory.api import views

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


def _failing(message: str):
    def check():
        raise OperationalError(message)

    return check


DATABASE_FAILURES = [
    _failing("canceling statement due to statement timeout"),
    _failing('connection to server at "127.0.0.1", port 5432 failed: Connection refused'),
]


@pytest.mark.parametrize("failure", DATABASE_FAILURES, ids=["statement-timeout", "connection-refused"])
def test_readiness_is_503_unhealthy_when_the_database_check_fails(api, monkeypatch, failure):
    monkeypatch.setattr(views, "select_1", failure)
    response = api.get("/api/v1/health")
    assert response.status_code == 503
    assert response["Content-Type"] == "application/json"
    assert response["Retry-After"] == "5"
    assert response.json() == {
        "status": "unhealthy",
        "database": "unavailable",
        "redis": REDIS,
        "version": ractory.__version__,
    }
    assert "statement timeout" not in response.content.decode()
    assert "Connection refused" not in response.content.decode()


def test_readiness_answers_503_within_3_seconds_when_the_database_hangs(api, monkeypatch):
    released = threading.Event()
    monkeypatch.setattr(views, "select_1", lambda: released.wait(30))
    started = time.monotonic()
    try:
        response = api.get("/api/v1/health")
        elapsed = time.monotonic() - started
    finally:
        released.set()
    assert response.status_code == 503
    assert response.json() == {
        "status": "unhealthy",
        "database": "unavailable",
        "redis": REDIS,
        "version": ractory.__version__,
    }
    assert elapsed < 3  # readiness answers within 3 s even when a dependency hangs


def test_liveness_stays_ok_when_the_database_fails(api, monkeypatch):
    monkeypatch.setattr(views, "select_1", DATABASE_FAILURES[1])
    response = api.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_readiness_recovers_once_the_database_answers_again(api, db, monkeypatch):
    monkeypatch.setattr(views, "select_1", DATABASE_FAILURES[1])
    assert api.get("/api/v1/health").status_code == 503
    monkeypatch.undo()
    response = api.get("/api/v1/health")
    assert response.status_code == 200
    assert response.json()["status"] == "healthy"


def test_readiness_runs_select_1_on_a_connection_of_its_own_and_closes_it(api, db, monkeypatch):
    statements: list[str] = []
    closed_by: list[str] = []
    select_1 = views.select_1
    wrapper_class = type(connections["default"])
    close = wrapper_class.close

    def record(execute, sql, params, many, context):
        statements.append(sql)
        return execute(sql, params, many, context)

    def recorded():
        assert connection.connection is None  # not the request's connection: a new one
        with connection.execute_wrapper(record):
            select_1()

    def recording_close(wrapper):
        closed_by.append(threading.current_thread().name)
        return close(wrapper)

    monkeypatch.setattr(views, "select_1", recorded)
    monkeypatch.setattr(wrapper_class, "close", recording_close)
    assert api.get("/api/v1/health").status_code == 200
    assert statements == ["SELECT 1"]
    assert "readiness-database-check" in closed_by
