"""Redis unavailable: the service keeps serving, readiness says so, liveness does not care.

The rate limiter fails open to per-process counters, logs one warning per process per minute (no
traceback), tries Redis again at most every few seconds and goes back to the shared counters by
itself. Time is frozen (``time.monotonic`` for the retry and warning clocks, ``time.time`` for the
rate-limit window), never slept.
"""

from __future__ import annotations

import logging
import shutil
import socket
import subprocess
import threading
import time

import pytest
from django.conf import settings as django_settings

import ractory
from assemblies.models import Project
from ractory.api import ratelimit

ME = "/api/v1/auth/me"
# Ports of this suite's range (18200-18299): nothing listens on CLOSED_PORT.
CLOSED_PORT = 18201
PRIVATE_REDIS_PORT = 18202
HUNG_REDIS_PORT = 18203


@pytest.fixture(autouse=True)
def fresh_redis_clients():
    """Each test starts with new counters and clients, so no test inherits another's Redis state."""
    ratelimit.counters_for.cache_clear()
    ratelimit._ping_client_for.cache_clear()
    yield
    ratelimit.counters_for.cache_clear()
    ratelimit._ping_client_for.cache_clear()


@pytest.fixture
def redis_down(settings):
    settings.REDIS_URL = f"redis://127.0.0.1:{CLOSED_PORT}/12"
    return settings.REDIS_URL


@pytest.fixture
def clock(monkeypatch):
    """The monotonic clock of the retry and warning intervals; tests move it by hand."""
    now = [1000.0]
    monkeypatch.setattr(ratelimit.time, "monotonic", lambda: now[0])
    return now


@pytest.fixture
def redis_attempts(monkeypatch):
    """How often the shared counters were tried (each attempt fails while Redis is down)."""
    attempts = []
    original = ratelimit.RedisCounters.increment

    def counted(self, keys, window):
        attempts.append(keys)
        return original(self, keys, window)

    monkeypatch.setattr(ratelimit.RedisCounters, "increment", counted)
    return attempts


def warnings_of(caplog) -> list[logging.LogRecord]:
    return [
        record for record in caplog.records if record.name == ratelimit.logger.name and record.levelname == "WARNING"
    ]


# --- Fail open ------------------------------------------------------------------------------------


def test_api_requests_are_served_with_rate_limit_headers_when_redis_is_down(
    redis_down, make_api_key, as_key, company, frozen_window
):
    _, raw = make_api_key()
    client = as_key(raw)

    answers = [client.get(ME) for _ in range(3)]
    body = {"projects": [{"company_guid": str(company.guid), "code": "P-1"}]}
    synced = client.post("/api/v1/sync/projects", body, format="json")

    assert [answer.status_code for answer in answers] == [200, 200, 200]
    assert answers[0].json()["auth_type"] == "api_key"
    # Counted exactly in this process's memory meanwhile.
    assert [answer["X-RateLimit-Remaining"] for answer in answers] == ["599", "598", "597"]
    assert synced.status_code == 200, synced.content
    assert synced["X-RateLimit-Remaining"] == "596"
    assert list(Project.objects.values_list("code", flat=True)) == ["P-1"]


def test_the_limit_still_holds_per_process_when_redis_is_down(redis_down, make_api_key, as_key, settings, problem):
    settings.RATE_LIMIT_PER_MINUTE = 2
    _, raw = make_api_key()
    client = as_key(raw)

    statuses = [client.get(ME).status_code for _ in range(2)]
    response = client.get(ME)

    assert statuses == [200, 200]
    problem(response, 429, "rate_limited")
    assert int(response["Retry-After"]) >= 1


def test_one_warning_per_minute_per_process_and_no_traceback(api, redis_down, clock, frozen_window, caplog):
    caplog.set_level(logging.INFO)
    answers = []
    for _ in range(100):  # 100 requests over 59.4 s
        answers.append(api.get(ME))
        clock[0] += 0.6

    assert {answer.status_code for answer in answers} == {401}
    assert [answer["X-RateLimit-Remaining"] for answer in answers] == [str(599 - i) for i in range(100)]
    assert len(warnings_of(caplog)) == 1
    assert "Redis is unavailable" in warnings_of(caplog)[0].getMessage()
    assert all(record.exc_info is None for record in caplog.records)
    assert not [record for record in caplog.records if record.levelno >= logging.ERROR]

    clock[0] += ratelimit.REDIS_RETRY_SECONDS  # over a minute after the first warning, and time to retry
    assert api.get(ME).status_code == 401
    assert len(warnings_of(caplog)) == 2


def test_a_down_redis_is_tried_again_only_every_few_seconds(api, redis_down, clock, redis_attempts, caplog):
    statuses = [api.get(ME).status_code for _ in range(20)]
    tried_at_once = len(redis_attempts)
    clock[0] += ratelimit.REDIS_RETRY_SECONDS - 0.1
    api.get(ME)
    tried_before_the_interval = len(redis_attempts)
    clock[0] += 0.1
    api.get(ME)
    api.get(ME)

    assert statuses == [401] * 20
    assert tried_at_once == 1
    assert tried_before_the_interval == 1
    assert len(redis_attempts) == 2
    assert len(warnings_of(caplog)) == 1


@pytest.fixture
def hung_redis():
    """A TCP server that accepts connections and never answers: a blackholed or hung Redis."""
    listener = socket.create_server(("127.0.0.1", HUNG_REDIS_PORT))
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept():
        listener.settimeout(0.1)
        while not stop.is_set():
            try:
                accepted.append(listener.accept()[0])
            except TimeoutError:
                continue
            except OSError:
                return

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield accepted
    finally:
        stop.set()
        thread.join(timeout=5)
        for connection in accepted:
            connection.close()
        listener.close()


def test_a_hung_redis_costs_one_timeout_per_interval_and_readiness_answers_in_time(
    api, db, settings, hung_redis, clock, redis_attempts
):
    settings.REDIS_URL = f"redis://127.0.0.1:{HUNG_REDIS_PORT}/12"

    statuses = [api.get(ME).status_code for _ in range(10)]
    started = time.perf_counter()  # not the frozen clock
    readiness = api.get("/api/v1/health")
    elapsed = time.perf_counter() - started

    assert statuses == [401] * 10
    assert len(redis_attempts) == 1  # the other nine counted in memory without waiting
    assert readiness.status_code == 503
    assert readiness.json() == {
        "status": "unhealthy",
        "database": "connected",
        "redis": "unavailable",
        "version": ractory.__version__,
    }
    assert elapsed < 3  # readiness answers within 3 s even when a dependency hangs


# --- Health ---------------------------------------------------------------------------------------


def test_readiness_is_503_naming_redis_when_redis_is_down(api, db, redis_down):
    response = api.get("/api/v1/health")

    assert response.status_code == 503
    assert response["Content-Type"] == "application/json"
    assert response["Retry-After"] == "5"
    assert response.json() == {
        "status": "unhealthy",
        "database": "connected",
        "redis": "unavailable",
        "version": ractory.__version__,
    }
    assert "X-RateLimit-Limit" in response


@pytest.mark.parametrize("host", ["testserver", "not-an-allowed-host.example", "bad host!"])
def test_liveness_answers_ok_with_any_host_and_never_touches_redis(api, redis_down, monkeypatch, host):
    # No ``db`` fixture: a query would fail. The shared counters would be Redis: they must not be used.
    def shared_counters():
        raise AssertionError("liveness used the shared rate-limit counters")

    monkeypatch.setattr(ratelimit, "counters", shared_counters)

    response = api.get("/health", HTTP_HOST=host)

    assert response.status_code == 200, response.content
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"status": "ok"}
    assert response["X-RateLimit-Limit"] == str(django_settings.RATE_LIMIT_PER_MINUTE)
    assert "X-Request-ID" in response


def test_liveness_is_still_limited_in_process_memory(api, settings, frozen_window, problem):
    settings.RATE_LIMIT_PER_MINUTE = 2
    settings.REDIS_URL = f"redis://127.0.0.1:{CLOSED_PORT}/12"

    statuses = [api.get("/health", REMOTE_ADDR="10.9.9.9").status_code for _ in range(2)]
    response = api.get("/health", REMOTE_ADDR="10.9.9.9")

    assert statuses == [200, 200]
    problem(response, 429, "rate_limited")


def test_liveness_with_a_wrong_method_is_a_problem_document(api, problem):
    response = api.post("/health", {}, format="json", HTTP_HOST="elsewhere.example")

    problem(response, 405, "method_not_allowed")


# --- Redis comes back -----------------------------------------------------------------------------


@pytest.fixture
def private_redis(tmp_path):
    """A redis-server of this test's own (started, stopped and started again by the test)."""
    if shutil.which("redis-server") is None:
        pytest.skip("needs the redis-server binary to stop and restart a Redis")
    servers: list[subprocess.Popen] = []

    def start() -> None:
        server = subprocess.Popen(
            ["redis-server", "--port", str(PRIVATE_REDIS_PORT), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(tmp_path)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        servers.append(server)
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", PRIVATE_REDIS_PORT), timeout=1).close()
                return
            except OSError:
                time.sleep(0.05)
        pytest.fail("redis-server did not start")

    def stop() -> None:
        servers[-1].terminate()
        servers[-1].wait(timeout=10)

    start()
    try:
        yield start, stop, f"redis://127.0.0.1:{PRIVATE_REDIS_PORT}/0"
    finally:
        for server in servers:
            if server.poll() is None:
                server.terminate()
                server.wait(timeout=10)


def test_the_shared_counters_come_back_by_themselves(
    api, settings, private_redis, make_api_key, as_key, clock, frozen_window, caplog
):
    import redis

    caplog.set_level(logging.INFO)
    start, stop, url = private_redis
    settings.REDIS_URL = url
    api_key, raw = make_api_key()
    client = as_key(raw)
    window = int(frozen_window // ratelimit.WINDOW_SECONDS)
    name = f"{settings.RATE_LIMIT_KEY_PREFIX}:key:{api_key.pk}:{window}"
    direct = redis.Redis.from_url(url)

    first = client.get(ME)
    shared_before = int(direct.get(name))
    stop()
    during = [client.get(ME) for _ in range(3)]
    start()  # an empty Redis: its counters start again
    still_memory = client.get(ME)  # within the retry interval: not tried yet
    clock[0] += ratelimit.REDIS_RETRY_SECONDS
    back = [client.get(ME) for _ in range(2)]

    assert first.status_code == 200
    assert shared_before == 1
    assert [answer.status_code for answer in during] == [200, 200, 200]
    assert [answer["X-RateLimit-Remaining"] for answer in during] == ["599", "598", "597"]  # process memory
    assert still_memory["X-RateLimit-Remaining"] == "596"
    assert [answer.status_code for answer in back] == [200, 200]
    assert [answer["X-RateLimit-Remaining"] for answer in back] == ["599", "598"]  # Redis's again
    assert int(direct.get(name)) == 2
    # Another process (its own counters, its own connection) sees the same shared count.
    assert ratelimit.RedisCounters(url).increment([name.rsplit(":", 1)[0]], window) == [3]
    assert len(warnings_of(caplog)) == 1
    assert any("answers again" in record.getMessage() for record in caplog.records)
