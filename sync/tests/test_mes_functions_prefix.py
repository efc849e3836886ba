"""Every Eryxon function is also served under ``/functions/v1/``, where Eryxon's own clients call
it: the same view, the same envelope (also for errors), the same rows; the OpenAPI document lists
each function once, under ``/api-…``."""

from __future__ import annotations

import json

import pytest
from django.urls import reverse

from assemblies.models import Job, Part
from sync.models import SyncRun

from .mes import eryxon_client, failure, rows, state, success

pytestmark = pytest.mark.django_db

PREFIX = "/functions/v1"
JOB = {
    "external_id": "SO-1",
    "external_source": "SAP",
    "job_number": "J-1",
    "parts": [{"external_id": "SO-1-10", "part_number": "P-1", "quantity": 2}],
}


def put(client, path: str, body):
    return client.put(path, data=json.dumps(body), content_type="application/json")


def test_a_job_tree_synced_under_the_prefix_is_the_same_function(client, company):
    data = success(put(client, f"{PREFIX}/api-jobs/sync", JOB), 201)

    job = Job.objects.get(company=company)
    assert data == {"action": "created", "id": str(job.guid), "external_id": "SO-1"}
    assert [part.part_number for part in rows("parts", company)] == ["P-1"]
    assert SyncRun.objects.get().endpoint == "PUT /functions/v1/api-jobs/sync"

    again = success(put(client, "/api-jobs/sync", JOB), 200)  # the same row by either path

    assert again["action"] == "unchanged"
    assert Job.objects.count() == 1


def test_bulk_sync_under_the_prefix_answers_per_item(client, company):
    body = {
        "parts": [
            {"external_id": "X-1", "external_source": "SAP", "job_external_id": "SO-404", "part_number": "A"},
        ]
    }

    data = success(client.post(f"{PREFIX}/api-parts/bulk-sync/", json.dumps(body), content_type="application/json"))

    assert (data["total"], data["errors"]) == (1, 1)
    assert data["results"][0]["details"][0]["field"] == "job_external_id"
    assert Part.objects.count() == 0


@pytest.mark.parametrize(
    ("method", "path", "status", "code"),
    [
        ("put", "/api-jobs/sync", 422, "VALIDATION_ERROR"),  # an invalid item
        ("get", "/api-jobs/sync", 405, "METHOD_NOT_ALLOWED"),
        ("put", "/api-nothing/sync", 404, "NOT_FOUND"),
        ("get", "/nothing-at-all", 404, "NOT_FOUND"),
        ("get", "", 404, "NOT_FOUND"),  # /functions/v1 itself
        ("get", "/", 404, "NOT_FOUND"),
    ],
)
def test_errors_under_the_prefix_are_in_eryxons_envelope_and_write_nothing(client, company, method, path, status, code):
    before = state(company)

    if method == "put":
        response = put(client, PREFIX + path, {"external_id": "SO-2", "external_source": "SAP", "job_number": 7})
    else:
        response = client.get(PREFIX + path)

    error = failure(response, status, code)
    assert error["message"]
    assert state(company) == before


def test_an_unknown_key_under_the_prefix_is_a_401_in_the_envelope(company):
    response = put(eryxon_client("rfk_nothing_here"), f"{PREFIX}/api-cells/sync", {"external_id": "C"})

    failure(response, 401, "UNAUTHORIZED")
    assert rows("cells", company) == []


def test_the_ractory_api_is_not_served_under_the_prefix(client):
    response = client.get(f"{PREFIX}/api/v1/pieces")

    failure(response, 404, "NOT_FOUND")


def test_the_alias_routes_have_their_own_names_and_the_schema_lists_each_function_once(client):
    assert reverse("functions-v1:mes-sync-jobs") == f"{PREFIX}/api-jobs/sync"
    assert reverse("mes-sync-jobs") == "/api-jobs/sync"

    response = client.get("/api/schema/?format=json")

    assert response.status_code == 200
    paths = response.json()["paths"]
    assert "/api-jobs/sync" in paths
    assert not [path for path in paths if path.startswith(PREFIX)]
