"""Redis unreachable, over real HTTP against gunicorn: no 500, liveness 200,
readiness 503, one warning per worker and no traceback in the log.

The server runs on the test database on PostgreSQL, on a migrated SQLite file of its own otherwise,
with ``REDIS_URL`` pointing at a closed port.
"""

from __future__ import annotations

import http.client
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

pytestmark = pytest.mark.django_db(transaction=True)

ROOT = Path(__file__).resolve().parents[2]
PORT = 18210  # this suite's range
CLOSED_REDIS = "redis://127.0.0.1:18201/12"
EMAIL, PASSWORD = "gunicorn@example.com", "correct-horse-battery-staple"
WORKERS = 2
CREATE_USER = f"""
from tenants import services
from tenants.roles import Role
company = services.create_company(name="Gunicorn Windows")
services.create_user(company=company, email="{EMAIL}", password="{PASSWORD}", role=Role.COMPANY_ADMIN)
"""


def request(method: str, path: str, *, body: dict | None = None, headers: dict | None = None):
    client = http.client.HTTPConnection("127.0.0.1", PORT, timeout=30)
    try:
        payload = json.dumps(body).encode() if body is not None else None
        client.request(method, path, body=payload, headers={"Content-Type": "application/json", **(headers or {})})
        response = client.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        client.close()


@pytest.fixture
def server_environment(tmp_path):
    environment = {
        **os.environ,
        "REDIS_URL": CLOSED_REDIS,
        "RATE_LIMIT_KEY_PREFIX": settings.RATE_LIMIT_KEY_PREFIX,
        "DJANGO_DEBUG": "1",
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
        "LOG_LEVEL": "INFO",
    }
    if connection.vendor == "postgresql":
        database = settings.DATABASES["default"]
        credentials = database["USER"] + (f":{database['PASSWORD']}" if database.get("PASSWORD") else "")
        environment["DATABASE_URL"] = (
            f"postgres://{credentials}@{database['HOST']}:{database['PORT']}/{database['NAME']}"
        )
    else:
        environment.pop("DATABASE_URL", None)
        environment["SQLITE_PATH"] = str(tmp_path / "db.sqlite3")
        subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, env=environment, check=True)
    subprocess.run([sys.executable, "manage.py", "shell", "-c", CREATE_USER], cwd=ROOT, env=environment, check=True)
    return environment


@pytest.fixture
def gunicorn_log(server_environment, tmp_path):
    """gunicorn with two workers, its stderr in a file; stopped whatever happens. Yields the log path."""
    log_path = tmp_path / "gunicorn.log"
    with log_path.open("w") as log:
        server = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "ractory.wsgi:application", "-c", "python:ractory.gunicorn_config",
             "--bind", f"127.0.0.1:{PORT}", "--workers", str(WORKERS), "--threads", "2", "--no-control-socket"],
            cwd=ROOT, env=server_environment, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
    try:
        for _ in range(200):
            try:
                request("GET", "/health")
                break
            except OSError:
                time.sleep(0.1)
        else:
            pytest.fail("gunicorn did not answer /health:\n" + log_path.read_text())
        yield log_path
    finally:
        server.terminate()
        server.wait(timeout=20)


def test_redis_unreachable_over_http_serves_without_500_and_logs_no_traceback(gunicorn_log):
    answers = []

    liveness = request("GET", "/health", headers={"Host": "not-allowed.example"})
    readiness = request("GET", "/api/v1/health")
    login = request("POST", "/api/v1/auth/login", body={"email": EMAIL, "password": PASSWORD})
    token = json.loads(login[2])["access_token"] if login[0] == 200 else ""
    for _ in range(3):
        answers.append(request("POST", "/api/v1/auth/login", body={"email": EMAIL, "password": "wrong-password"}))
    for _ in range(20):
        answers.append(request("GET", "/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"}))
        answers.append(request("GET", "/api/v1/auth/me"))
        answers.append(request("GET", "/api/v1/no-such-thing"))
    log = gunicorn_log.read_text()

    assert liveness[0] == 200
    assert json.loads(liveness[2]) == {"status": "ok"}
    assert readiness[0] == 503
    assert readiness[1]["Content-Type"] == "application/json"
    body = json.loads(readiness[2])
    assert (body["status"], body["database"], body["redis"]) == ("unhealthy", "connected", "unavailable")
    assert login[0] == 200, login
    assert [status for status, _, _ in answers[:3]] == [401, 401, 401]
    assert sorted({status for status, _, _ in answers[3:]}) == [200, 401, 404]
    assert all("X-RateLimit-Remaining" in headers for _, headers, _ in [login, *answers])
    assert "Traceback" not in log
    assert " 500" not in log
    assert 1 <= log.count("Redis is unavailable") <= WORKERS, log
