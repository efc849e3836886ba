"""X-Request-ID: echoed when sane, replaced otherwise, on every response and every log line."""

from __future__ import annotations

import logging
import re
import sys

import pytest
from django.test import override_settings

from ractory.api.logging import TracebacksOnlyFilter

GENERATED = re.compile(r"[0-9a-f]{32}")


@pytest.mark.parametrize(
    "sent",
    [
        "abc",
        "8c1f2a3b-4d5e-4f60-8a7b-9c0d1e2f3a4b",
        "trace:1/2+3=4.5_6-7",
        "0",
        "A" * 100,
    ],
    ids=["word", "uuid", "punctuation", "one-char", "100-chars"],
)
def test_sane_request_id_is_echoed_in_the_header_and_the_problem_body(api, full_problem, sent):
    response = api.get("/nope", HTTP_X_REQUEST_ID=sent)
    body = full_problem(response, 404, "not_found")
    assert response["X-Request-ID"] == sent
    assert body["request_id"] == sent


def test_sane_request_id_is_echoed_on_a_success(api):
    response = api.get("/health", HTTP_X_REQUEST_ID="client-trace-42")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert response["X-Request-ID"] == "client-trace-42"


@pytest.mark.parametrize(
    "sent",
    [
        "",
        " ",
        "has space",
        " leading-space",
        "trailing-newline\n",
        "abc\r\nX-Injected: 1",
        "tab\there",
        "A" * 101,
        "-starts-with-dash",
        "ünïcode",
        "semi;colon",
        "<script>",
    ],
    ids=[
        "empty",
        "blank",
        "space",
        "leading-space",
        "trailing-newline",
        "header-injection",
        "tab",
        "101-chars",
        "leading-dash",
        "non-ascii",
        "semicolon",
        "markup",
    ],
)
def test_insane_request_id_is_replaced_by_a_generated_one(api, full_problem, sent):
    response = api.get("/nope", HTTP_X_REQUEST_ID=sent)
    body = full_problem(response, 404, "not_found")
    assert GENERATED.fullmatch(response["X-Request-ID"]), response["X-Request-ID"]
    assert body["request_id"] == response["X-Request-ID"]
    assert "X-Injected" not in response


def test_each_request_without_an_id_gets_a_new_one(api):
    first = api.get("/health")["X-Request-ID"]
    second = api.get("/health")["X-Request-ID"]
    assert GENERATED.fullmatch(first) and GENERATED.fullmatch(second)
    assert first != second


@pytest.mark.parametrize(
    ("method", "path", "kwargs", "status"),
    [
        ("get", "/health", {}, 200),
        ("get", "/api/v1/api-keys", {}, 200),
        ("post", "/api/v1/api-keys", {"data": {"scopes": ["sync:read"]}, "format": "json"}, 201),
        ("get", "/api/schema/", {}, 200),
        ("get", "/api/docs/", {}, 200),
        ("get", "/api/v1/api-keys/not-a-uuid", {}, 404),
        ("get", "/api/v1/api-keys", {"HTTP_X_API_KEY": "rfk_bad_key"}, 401),
        ("delete", "/health", {}, 405),
        ("post", "/api/v1/api-keys", {"data": b"[]", "content_type": "application/json"}, 400),
        (
            "post",
            "/api/v1/api-keys",
            {"data": b"{}", "content_type": "application/json", "CONTENT_LENGTH": "10**9"},
            400,
        ),
        (
            "post",
            "/api/v1/api-keys",
            {"data": b"{}", "content_type": "application/json", "CONTENT_LENGTH": "999999999999"},
            413,
        ),
        ("get", "/api/v1/health", {"HTTP_HOST": "evil.example.com"}, 400),
    ],
    ids=[
        "health",
        "list",
        "create",
        "schema",
        "docs",
        "bad-guid",
        "bad-key",
        "bad-method",
        "body-not-object",
        "bad-content-length",
        "declared-too-big",
        "bad-host",
    ],
)
def test_every_response_carries_a_request_id(company_admin, method, path, kwargs, status):
    response = getattr(company_admin, method)(path, **kwargs)
    assert response.status_code == status, response.content[:300]
    assert GENERATED.fullmatch(response["X-Request-ID"])
    if status >= 400:
        assert response.json()["request_id"] == response["X-Request-ID"]


@override_settings(ROOT_URLCONF="ractory.tests.failing_urls")
def test_a_500_carries_the_request_id(api):
    response = api.get("/test/django-boom", HTTP_X_REQUEST_ID="boom-1")
    assert response.status_code == 500
    assert response["X-Request-ID"] == "boom-1"
    assert response.json()["request_id"] == "boom-1"


@override_settings(ROOT_URLCONF="ractory.tests.failing_urls")
def test_a_500_is_logged_once_with_its_traceback_and_request_id(api, caplog):
    caplog.set_level(logging.INFO)
    response = api.get("/test/django-boom", HTTP_X_REQUEST_ID="boom-2")
    assert response.status_code == 500
    errors = [record for record in caplog.records if record.levelno >= logging.ERROR]
    assert [record.name for record in errors] == ["ractory.errors"]  # no "Internal Server Error: …" echo
    assert errors[0].exc_info is not None
    assert errors[0].request_id == "boom-2"


def test_django_request_keeps_tracebacks_and_drops_their_echoes():
    keep = TracebacksOnlyFilter()
    echo = logging.LogRecord("django.request", logging.ERROR, __file__, 1, "Service Unavailable: %s", ("/x",), None)
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        failure = logging.LogRecord("django.request", logging.ERROR, __file__, 1, "boom", (), sys.exc_info())
    assert keep.filter(echo) is False
    assert keep.filter(failure) is True


def test_access_log_line_carries_the_request_id(api, caplog):
    caplog.set_level(logging.INFO, logger="ractory.access")
    response = api.get("/health", HTTP_X_REQUEST_ID="log-trace-7")
    assert response.status_code == 200
    lines = [record for record in caplog.records if record.name == "ractory.access"]
    assert len(lines) == 1
    assert lines[0].request_id == "log-trace-7"
    assert lines[0].getMessage() == "GET /health 200"
    assert (lines[0].method, lines[0].path, lines[0].status) == ("GET", "/health", 200)


def test_access_log_line_carries_the_generated_request_id(api, caplog):
    caplog.set_level(logging.INFO, logger="ractory.access")
    response = api.get("/nope", HTTP_X_REQUEST_ID="bad id with spaces")
    lines = [record for record in caplog.records if record.name == "ractory.access"]
    assert [record.request_id for record in lines] == [response["X-Request-ID"]]
    assert lines[0].getMessage() == "GET /nope 404"


def test_log_lines_outside_a_request_carry_a_dash(caplog):
    caplog.set_level(logging.INFO, logger="ractory.test")
    logging.getLogger("ractory.test").info("outside any request")
    assert [record.request_id for record in caplog.records if record.name == "ractory.test"] == ["-"]


def test_request_id_does_not_leak_into_the_next_request_logs(api, caplog):
    caplog.set_level(logging.INFO, logger="ractory.access")
    api.get("/health", HTTP_X_REQUEST_ID="first-request")
    second = api.get("/health")
    ids = [record.request_id for record in caplog.records if record.name == "ractory.access"]
    assert ids == ["first-request", second["X-Request-ID"]]
    logging.getLogger("ractory.access").info("after the requests")
    assert caplog.records[-1].request_id == "-"


def test_a_control_character_in_the_path_cannot_forge_a_log_line(api, caplog):
    caplog.set_level("INFO", logger="ractory.access")

    response = api.get("/nothing%0AFAKE 200")

    assert response.status_code == 404
    lines = [record.getMessage() for record in caplog.records if record.name == "ractory.access"]
    assert len(lines) == 1
    assert "\n" not in lines[0]
    assert "\\n" in lines[0]
