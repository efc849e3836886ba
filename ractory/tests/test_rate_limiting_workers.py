"""The rate limit is exact across gunicorn workers: PostgreSQL + Redis, real HTTP, two processes."""

from __future__ import annotations

import http.client
import os
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from tenants import services

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(
        connection.vendor != "postgresql" or not settings.REDIS_URL,
        reason="needs PostgreSQL and Redis: the workers must share the database and the counters",
    ),
    pytest.mark.django_db(transaction=True),
]

ROOT = Path(__file__).resolve().parents[2]
LIMIT, EXTRA = 40, 20


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def get(port: int, path: str, headers: dict) -> int:
    client = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        client.request("GET", path, headers=headers)
        return client.getresponse().status
    finally:
        client.close()


@pytest.fixture
def two_workers():
    """gunicorn with 2 workers on the test database and Redis, stopped whatever happens."""
    database = settings.DATABASES["default"]
    credentials = database["USER"] + (f":{database['PASSWORD']}" if database.get("PASSWORD") else "")
    port = free_port()
    environment = {
        **os.environ,
        "DATABASE_URL": f"postgres://{credentials}@{database['HOST']}:{database['PORT']}/{database['NAME']}",
        "REDIS_URL": settings.REDIS_URL,
        "RATE_LIMIT_KEY_PREFIX": settings.RATE_LIMIT_KEY_PREFIX,
        "RATE_LIMIT_PER_MINUTE": str(LIMIT),
        "DJANGO_DEBUG": "1",
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
    }
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "ractory.wsgi:application", "--bind", f"127.0.0.1:{port}",
         "--workers", "2", "--threads", "4", "--no-control-socket"],
        cwd=ROOT, env=environment, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        for _ in range(100):
            try:
                if get(port, "/health", {}) == 200:
                    break
            except OSError:
                time.sleep(0.1)
        else:
            pytest.fail("gunicorn did not answer /health")
        yield port
    finally:
        server.terminate()
        server.wait(timeout=20)


def test_exactly_the_limit_passes_of_more_concurrent_requests_across_two_workers(company, two_workers):
    created = services.create_api_key(company=company, scopes=["sync:read"])
    headers = {"X-API-Key": created.raw_key}
    window = int(time.time() // 60)
    if time.time() % 60 > 45:  # keep the burst inside one window
        time.sleep(60 - time.time() % 60 + 0.5)
        window += 1

    with ThreadPoolExecutor(max_workers=12) as pool:
        statuses = list(pool.map(lambda _: get(two_workers, "/api/v1/auth/me", headers), range(LIMIT + EXTRA)))

    assert int(time.time() // 60) == window, "the burst crossed a window boundary"
    assert statuses.count(200) == LIMIT
    assert statuses.count(429) == EXTRA
