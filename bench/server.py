"""Gunicorn serving the real stack on 127.0.0.1, and a small keep-alive HTTP client for it."""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

HOST = "127.0.0.1"
STARTUP_SECONDS = 60
STOP_SECONDS = 10


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


class Gunicorn:
    """``gunicorn ractory.wsgi`` with 2 sync workers, in a process group of its own."""

    def __init__(self, *, env: dict[str, str], cwd: Path, log_path: Path, workers: int = 2) -> None:
        self.env, self.cwd, self.log_path, self.workers = env, cwd, log_path, workers
        self.port = 0
        self.process: subprocess.Popen | None = None
        self._log = None

    def start(self) -> None:
        last_error = "gunicorn did not start"
        for _attempt in range(3):  # a port taken between free_port() and bind: try another
            self.port = free_port()
            self._log = self.log_path.open("ab")
            command = [
                sys.executable,
                "-m",
                "gunicorn",
                "-c",
                "python:ractory.gunicorn_config",
                "ractory.wsgi:application",
                "--bind",
                f"{HOST}:{self.port}",
                "--workers",
                str(self.workers),
                "--timeout",
                "300",
                "--graceful-timeout",
                "5",
                "--no-control-socket",  # gunicorn ≥ 23 would open one under ~/.gunicorn
            ]
            self.process = subprocess.Popen(
                command,
                cwd=self.cwd,
                env=self.env,
                stdout=self._log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
            if self._wait_healthy():
                return
            last_error = f"gunicorn did not answer /health within {STARTUP_SECONDS} s (log: {self.log_path})"
            self.stop()
        raise RuntimeError(last_error)

    def _wait_healthy(self) -> bool:
        deadline = time.monotonic() + STARTUP_SECONDS
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                return False
            with contextlib.suppress(OSError, http.client.HTTPException):
                connection = http.client.HTTPConnection(HOST, self.port, timeout=2)
                try:
                    connection.request("GET", "/health")
                    response = connection.getresponse()
                    response.read()
                    if response.status == 200:
                        return True
                finally:
                    connection.close()
            time.sleep(0.2)
        return False

    def stop(self) -> None:
        """SIGTERM to the whole process group, SIGKILL after a grace period."""
        process, self.process = self.process, None
        if process is not None and process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=STOP_SECONDS)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=STOP_SECONDS)
        if self._log is not None:
            self._log.close()
            self._log = None

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


class HttpError(RuntimeError):
    pass


class Client:
    """One HTTP/1.1 connection to the bench server, reopened when the server closes it.

    Gunicorn's sync workers close the connection after each response, so every request pays a
    (local) TCP connect; that is part of the real stack being measured.
    """

    def __init__(self, port: int, api_key: str) -> None:
        self.port = port
        self.headers = {"X-API-Key": api_key, "Content-Type": "application/json", "Accept": "application/json"}
        self.connection = http.client.HTTPConnection(HOST, port, timeout=300)

    def close(self) -> None:
        self.connection.close()

    def request(self, method: str, path: str, body: bytes | None = None) -> tuple[int, bytes, float]:
        """Send one request; returns (status, body, elapsed ms from send to the last byte)."""
        for attempt in range(2):
            started = time.perf_counter()
            try:
                self.connection.request(method, path, body=body, headers=self.headers)
                response = self.connection.getresponse()
                data = response.read()
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                # A kept-alive connection the server had closed: one retry on a new one.
                self.connection.close()
                if attempt:
                    raise
                continue
            elapsed = (time.perf_counter() - started) * 1000
            if response.will_close:
                self.connection.close()
            return response.status, data, elapsed
        raise AssertionError("unreachable")

    def post_json(self, path: str, body: bytes) -> tuple[dict, float]:
        status, data, elapsed = self.request("POST", path, body)
        if status != 200:
            raise HttpError(f"POST {path} answered {status}: {data[:300].decode(errors='replace')}")
        return json.loads(data), elapsed
