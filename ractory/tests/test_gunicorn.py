"""The service as ``make serve`` and the Docker image run it (gunicorn with
``ractory/gunicorn_config.py``), over real HTTP: long URLs and large headers get problem documents,
never gunicorn's HTML page, and the access log has one line per request, in
``LOG_FORMAT``, without the query string."""

from __future__ import annotations

import json
import re

import pytest

from .gunicorn_process import ROOT, GunicornProcess

SECRET = "rfk_abcdefghijkl_NotARealKeyLogItAndFail"  # shorter than a real secret part


@pytest.fixture(params=["text", "json"])
def served(request, tmp_path):
    server = GunicornProcess(tmp_path / "gunicorn.log", LOG_FORMAT=request.param, WEB_CONCURRENCY="1")
    try:
        yield server.start(), request.param
    finally:
        server.stop()


def assert_problem(answer, status: int, code: str) -> dict:
    assert answer.error is None, answer.error
    assert answer.status == status, (answer.status, answer.body[:300])
    assert answer.headers["Content-Type"] == "application/problem+json"
    assert b"<html" not in answer.body.lower()
    body = answer.json()
    assert body["status"] == status
    assert body["code"] == code
    return body


def test_oversize_requests_get_problem_documents_and_every_request_one_log_line(served):
    server, log_format = served
    start_log_size = server.log_path.stat().st_size  # what gunicorn's start wrote, its /health probes too
    requests = [
        # (path, headers, expected status, code, reaches the service)
        (f"/health?api_key={SECRET}", {}, 400, "unknown_query_parameter", True),
        ("/health", {}, 200, None, True),
        ("/api/v1/projects?code=" + "a" * 8100, {}, 414, "uri_too_long", True),
        ("/api/v1/auth/me", {"X-Padding": "a" * 20_000}, 431, "headers_too_large", True),
        # Over what gunicorn lets through at all: gunicorn answers, with a problem document too.
        ("/api/v1/projects?code=" + "a" * 9000, {}, 414, "uri_too_long", False),
        ("/health", {"X-Padding": "a" * 40_000}, 431, "headers_too_large", False),
        ("/health", {f"X-Padding-{index}": "a" for index in range(300)}, 431, "headers_too_large", False),
    ]
    for path, headers, status, code, reaches in requests:
        answer = server.request("GET", path, headers=headers)
        if code is None:
            assert (answer.status, answer.json()) == (200, {"status": "ok"})
        else:
            body = assert_problem(answer, status, code)
            if reaches:
                assert body["request_id"] == answer.headers["X-Request-ID"]
    served_paths = [path.split("?")[0] for path, _, _, _, reaches in requests if reaches]
    server.stop()

    whole_log = server.log_path.read_bytes()
    log = whole_log[start_log_size:].decode()
    assert SECRET not in log
    assert "a" * 100 not in log  # neither the query string nor header values
    access = [line for line in log.splitlines() if "ractory.access" in line]
    if log_format == "json":
        assert [json.loads(line) for line in whole_log.decode().splitlines()]  # every line is JSON, gunicorn's too
        lines = [json.loads(line) for line in log.splitlines()]
        access = [line for line in lines if line["logger"] == "ractory.access"]
        assert [(line["path"], line["status"]) for line in access] == list(
            zip(served_paths, [400, 200, 414, 431], strict=True)
        )
        assert {line["logger"] for line in lines} <= {"ractory.access", "gunicorn.error", "ractory.errors"}
    else:
        assert [re.search(r"GET (\S+) (\d+)$", line).groups() for line in access] == list(
            zip(served_paths, ["400", "200", "414", "431"], strict=True)
        )
        # No Apache-style access line from gunicorn ("GET /health?… HTTP/1.1" 200 …).
        assert not [line for line in log.splitlines() if "HTTP/1.1" in line]


@pytest.mark.parametrize("path", ["Makefile", "Dockerfile", ".ci/contract"])
def test_every_launcher_runs_gunicorn_with_the_config_file_and_only_a_bind_address(path):
    """Settings live in ractory/gunicorn_config.py; a flag here would make one launcher differ
    (``--access-logfile -`` once logged every request twice, query strings included)."""
    text = (ROOT / path).read_text().replace("\\\n", " ")
    commands = re.findall(r"gunicorn\"? -c python:ractory\.gunicorn_config ractory\.wsgi:application([^\n]*)", text)
    assert commands, f"{path} does not run gunicorn with the config file"
    for arguments in commands:
        flags = re.findall(r"(?<!\S)--?[a-z][\w-]*", arguments.split(">")[0])
        assert flags == ["--bind"], (path, arguments)
