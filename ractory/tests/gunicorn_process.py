"""The service under gunicorn with ``ractory/gunicorn_config.py``, as ``make serve`` runs it, on a
port of 127.0.0.1, for tests over real HTTP. Stopped (its whole process group) by ``stop``."""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import random
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HOST = "127.0.0.1"
PORTS = range(18400, 18450)  # this suite's range; 18450-18499 are for throwaway PostgreSQL clusters
START_SECONDS = 30
STOP_SECONDS = 15
SECRET_KEY = "gunicorn-test-key-" + "x" * 40


def free_port(ports: range) -> int:
    for port in random.sample(ports, len(ports)):
        with socket.socket() as probe:
            try:
                probe.bind((HOST, port))
            except OSError:
                continue
            return port
    raise RuntimeError(f"no free port in {ports}")


@dataclass
class Answer:
    """A response, or ``error`` (a reset, a timeout) when there was none."""

    status: int | None
    headers: dict[str, str]
    body: bytes
    seconds: float
    error: Exception | None = None

    def json(self):
        return json.loads(self.body)


class GunicornProcess:
    def __init__(self, log_path: Path, **environment: str) -> None:
        """``environment`` overrides the test's own (``DATABASE_URL``, ``LOG_FORMAT``, …); without a
        ``DATABASE_URL`` the service gets an empty SQLite file, fine for requests that query nothing."""
        self.log_path = log_path
        self.environment = {
            key: value for key, value in os.environ.items() if key not in {"DATABASE_URL", "REDIS_URL", "LOG_FORMAT"}
        }
        self.environment.update(
            DJANGO_DEBUG="0",
            DJANGO_SECRET_KEY=SECRET_KEY,
            DJANGO_ALLOWED_HOSTS=HOST,
            SQLITE_PATH=str(log_path.with_suffix(".sqlite3")),
        )
        self.environment.update(environment)
        self.port = 0
        self.process: subprocess.Popen | None = None

    def start(self) -> GunicornProcess:
        self.port = free_port(PORTS)
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "gunicorn", "-c", "python:ractory.gunicorn_config", "ractory.wsgi:application",
                 "--bind", f"{HOST}:{self.port}"],
                cwd=ROOT, env=self.environment, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
            )  # fmt: skip
        self.wait_until_serving()
        return self

    def wait_until_serving(self) -> None:
        deadline = time.monotonic() + START_SECONDS
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited: {self.log_tail()}")
            if self.request("GET", "/health", timeout=2).status == 200:
                return
            time.sleep(0.1)
        raise RuntimeError(f"gunicorn did not answer /health within {START_SECONDS} s: {self.log_tail()}")

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=STOP_SECONDS)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=STOP_SECONDS)

    def worker_pids(self) -> set[int]:
        return child_pids(self.process.pid)

    def request(
        self, method: str, path: str, *, headers: dict | None = None, body: bytes | None = None, timeout: float = 30
    ) -> Answer:
        started = time.monotonic()
        connection = http.client.HTTPConnection(HOST, self.port, timeout=timeout)
        try:
            connection.request(method, path, body=body, headers=headers or {})
            response = connection.getresponse()
            content = response.read()
            return Answer(response.status, dict(response.getheaders()), content, time.monotonic() - started)
        except (OSError, http.client.HTTPException) as error:
            return Answer(None, {}, b"", time.monotonic() - started, error)
        finally:
            connection.close()

    def log_tail(self, lines: int = 40) -> str:
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])


def child_pids(parent: int) -> set[int]:
    """The live processes whose parent is ``parent`` (from /proc)."""
    children = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            # The command name (field 2) is in parentheses and may hold spaces; the parent follows it.
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            if int(fields[1]) == parent and fields[0] != "Z":
                children.add(int(entry.name))
    return children
