"""URL and header limits: refused by the service with problem documents, 414
``uri_too_long`` and 431 ``headers_too_large``; the same over real HTTP through gunicorn is in
``test_faults.py``."""

from __future__ import annotations

from unittest.mock import ANY

import pytest

from assemblies.models import Job


def test_a_url_over_the_limit_is_414_uri_too_long(api, db, settings, full_problem):
    path = "/api/v1/projects?code=" + "a" * settings.MAX_URL_BYTES
    body = full_problem(api.get(path), 414, "uri_too_long")
    assert body["type"] == "/problems/uri-too-long"
    assert str(settings.MAX_URL_BYTES) in body["detail"]


# Liveness (/health) is answered before the limits are checked; any other path is not.
PROTECTED = "/api/v1/auth/me"


def test_a_url_at_the_limit_reaches_the_view(api, db, settings):
    path = "/health?pad="
    response = api.get(path + "a" * (settings.MAX_URL_BYTES - len(path)))
    assert response.status_code == 400  # the view's own answer: an unknown query parameter
    assert response.json()["code"] == "unknown_query_parameter"


def test_headers_over_the_limit_are_431_headers_too_large(api, db, settings, full_problem):
    response = api.get(PROTECTED, HTTP_X_PADDING="a" * settings.MAX_HEADER_BYTES)
    body = full_problem(response, 431, "headers_too_large")
    assert body["type"] == "/problems/headers-too-large"


def test_many_small_headers_over_the_limit_together_are_431(api, db, settings, full_problem):
    headers = {f"HTTP_X_PADDING_{index}": "a" * 1000 for index in range(settings.MAX_HEADER_BYTES // 1000 + 1)}
    full_problem(api.get(PROTECTED, **headers), 431, "headers_too_large")


def test_headers_under_the_limit_reach_the_view(api, db, settings):
    response = api.get(PROTECTED, HTTP_X_PADDING="a" * (settings.MAX_HEADER_BYTES // 2))
    assert response.status_code == 401  # the view's own answer: no credentials
    assert response.json()["code"] == "not_authenticated"


JOB = b'{"external_id": "SO-1", "external_source": "SAP", "job_number": "JOB-1"}'


@pytest.mark.parametrize(
    "pad_url, pad_header, status",
    [(0, 0, 201), (8 * 1024, 0, 414), (0, 16 * 1024, 431)],
    ids=["within-limits", "url", "headers"],
)
def test_a_refused_mes_sync_writes_nothing_and_answers_the_eryxon_envelope(
    client_as, settings, pad_url, pad_header, status
):
    client, _key = client_as("key:sync:write")
    response = client.generic(
        "PUT",
        "/api-jobs/sync" + (f"?pad={'a' * pad_url}" if pad_url else ""),
        JOB,
        "application/json",
        **({"HTTP_X_PADDING": "a" * pad_header} if pad_header else {}),
    )
    assert response.status_code == status, response.content[:300]
    assert response["Content-Type"] == "application/json"
    if status == 201:
        assert Job.objects.filter(job_number="JOB-1").count() == 1
        return
    assert response.json() == {"success": False, "error": {"code": "BAD_REQUEST", "message": ANY}}
    assert not Job.objects.exists()
