"""Sync runs: one record per sync request that passed authentication and body parsing, and the
endpoints that list them."""

from __future__ import annotations

import datetime as dt
import re
import uuid

import pytest
from django.db import IntegrityError, OperationalError
from django.utils import timezone

from assemblies.models import Cell
from sync.models import SyncRun
from tenants.roles import Role

from .factories import MODELS, RUNS_URL, SyncClient, new_guid, run_of
from .mes import eryxon_client, failure, put

UTC = dt.UTC


# --- Recording ----------------------------------------------------------------------------------


def test_a_successful_request_records_a_succeeded_run(writer, company, key):
    project = writer.project()
    component = writer.component(project)
    started = timezone.now()

    response = writer.post(
        "components",
        [
            writer.new("components", project_guid=project),
            writer.item("components", guid=component, code="C-2"),
            writer.new("components", project_guid=project),
        ],
        HTTP_IDEMPOTENCY_KEY="run-key",
        HTTP_X_REQUEST_ID="req-123",
    )

    finished = timezone.now()
    assert response.status_code == 200, response.content
    assert response["X-Request-ID"] == "req-123"
    run = run_of(response)
    assert run.company_id == company.pk
    assert (run.actor_api_key_id, run.actor_user_id) == (key[0].pk, None)
    assert (run.entity, run.endpoint) == ("component", "POST /api/v1/sync/components")
    assert (run.status, run.item_count, run.inserted, run.updated, run.unchanged, run.errors) == (
        "succeeded",
        3,
        2,
        1,
        0,
        0,
    )
    assert (run.dry_run, run.atomic, run.idempotency_key) == (False, True, "run-key")
    assert run.error_summary is None
    assert re.fullmatch(r"[0-9a-f]{64}", run.request_hash)
    assert started <= run.started_at <= run.finished_at <= finished


def test_unchanged_rows_and_dry_runs_are_counted(writer, company):
    project = writer.project(code="SAME")

    same = writer.post("projects", [writer.item("projects", guid=project, code="SAME")])
    dry = writer.post("projects", [writer.new("projects")], query={"dry_run": "true"})

    assert (run_of(same).status, run_of(same).unchanged, run_of(same).updated) == ("succeeded", 1, 0)
    assert (run_of(dry).dry_run, run_of(dry).inserted) == (True, 1)
    assert MODELS["projects"].objects.count() == 1


def test_a_refused_request_records_a_failed_run_although_its_data_rolled_back(writer, company):
    project = writer.project()
    items = [writer.new("components", project_guid=project)]  # valid: would be written
    items += [writer.new("components", project_guid=project, quantity=-n) for n in range(1, 25)]  # 24 invalid
    items.append(writer.new("components", project_guid=new_guid()))  # and one more kind of error

    response = writer.post("components", items)

    assert response.status_code == 422
    errors = response.json()["errors"]
    assert len(errors) == 25
    assert not MODELS["components"].objects.exists()
    run = run_of(response)
    assert (run.status, run.item_count, run.inserted, run.updated, run.unchanged, run.errors) == (
        "failed",
        26,
        0,
        0,
        0,
        25,
    )
    assert run.error_summary["total"] == 25
    assert run.error_summary["errors"] == errors[:20]
    assert run.error_summary["errors"][0] == {
        "pointer": "/components/1/quantity",
        "code": "min_value",
        "detail": "Ensure this value is greater than or equal to 0.",
    }


def test_partial_mode_records_a_partial_run_with_its_errors(writer, company):
    project = writer.project()

    response = writer.post(
        "components",
        [writer.new("components", project_guid=project), writer.new("components", project_guid=project, code="")],
        query={"atomic": "false"},
    )

    assert response.status_code == 200
    run = run_of(response)
    assert (run.status, run.inserted, run.errors, run.atomic) == ("partial", 1, 1, False)
    assert run.error_summary == {
        "total": 1,
        "errors": [{"pointer": "/components/1/code", "code": "blank", "detail": "This field may not be blank."}],
    }
    assert MODELS["components"].objects.count() == 1


def test_a_forbidden_company_records_a_failed_run(writer, company, other_company):
    response = writer.post("projects", [writer.new("projects", company_guid=str(other_company.guid))])

    assert response.status_code == 403
    run = run_of(response)
    assert (run.status, run.company_id, run.inserted, run.errors) == ("failed", company.pk, 0, 0)
    assert not MODELS["projects"].objects.exists()


def test_a_reused_idempotency_key_records_a_failed_run(writer, company):
    first = writer.post("projects", [writer.new("projects")], HTTP_IDEMPOTENCY_KEY="once")
    reused = writer.post("projects", [writer.new("projects")], HTTP_IDEMPOTENCY_KEY="once")

    assert (first.status_code, reused.status_code) == (200, 422)
    run = run_of(reused)
    assert (run.status, run.idempotency_key, run.inserted, run.company_id) == ("failed", "once", 0, company.pk)
    assert run.request_hash != run_of(first).request_hash
    assert MODELS["projects"].objects.count() == 1


def failing_after_the_write(monkeypatch, error: Exception) -> None:
    """Make the engine fail with ``error`` right after its upsert wrote the rows."""
    from sync import services

    real_upsert = services.upsert_rows

    def upsert_then_fail(**arguments):
        real_upsert(**arguments)
        raise error

    monkeypatch.setattr(services, "upsert_rows", upsert_then_fail)


FAILURES = [
    (IntegrityError("duplicate key value violates unique constraint"), 409, "concurrent_conflict"),
    (OperationalError("canceling statement due to statement timeout"), 503, "database_unavailable"),
    (RuntimeError("a bug"), 500, "internal_error"),
]


@pytest.mark.parametrize(("error", "status", "code"), FAILURES, ids=["409", "503", "500"])
def test_a_request_that_fails_after_writing_rolls_back_and_records_a_failed_run(
    writer, company, monkeypatch, problem, error, status, code
):
    failing_after_the_write(monkeypatch, error)

    response = writer.post("projects", [writer.new("projects"), writer.new("projects")])

    problem(response, status, code)
    assert not MODELS["projects"].objects.exists()
    run = run_of(response)
    assert (run.status, run.company_id, run.item_count, run.inserted, run.entity) == (
        "failed",
        company.pk,
        2,
        0,
        "project",
    )


@pytest.mark.parametrize(("error", "status", "code"), FAILURES, ids=["409", "503", "500"])
def test_an_mes_request_that_fails_after_writing_records_a_failed_run(key, company, monkeypatch, error, status, code):
    failing_after_the_write(monkeypatch, error)
    client = eryxon_client(key[1])

    response = put(client, "cells", {"external_id": "WC-1", "external_source": "SAP", "name": "Laser"})

    failure(response, status, {409: "CONFLICT", 503: "SERVICE_UNAVAILABLE", 500: "INTERNAL_ERROR"}[status])
    assert not Cell.objects.exists()
    run = run_of(response)
    assert (run.status, run.company_id, run.item_count, run.entity) == ("failed", company.pk, 1, "cell")


def test_a_failed_run_that_cannot_be_recorded_leaves_the_requests_own_error(writer, monkeypatch, problem, caplog):
    """The database that failed the request may fail the record too: the caller still gets the 503."""
    from sync import runs

    failing_after_the_write(monkeypatch, OperationalError("server closed the connection unexpectedly"))

    def database_down(*args, **kwargs):
        raise OperationalError("connection refused")

    monkeypatch.setattr(runs, "record_run", database_down)

    response = writer.post("projects", [writer.new("projects")])

    problem(response, 503, "database_unavailable")
    assert response["Retry-After"]
    assert not SyncRun.objects.exists()
    assert "could not record the failed sync run" in caplog.text


def test_a_jwt_user_is_recorded_as_the_actor(make_user, as_user, company):
    user = make_user(Role.COMPANY_ADMIN)
    client = SyncClient(as_user(user), company)

    response = client.post("projects", [client.new("projects")])

    assert response.status_code == 200
    run = run_of(response)
    assert (run.actor_user_id, run.actor_api_key_id) == (user.pk, None)


def test_an_empty_batch_records_a_succeeded_run_with_zeros(writer):
    response = writer.post("articles", [])

    assert response.status_code == 200
    assert response.json() == {"inserted": 0, "updated": 0, "unchanged": 0, "items": []}
    run = run_of(response)
    assert (run.status, run.entity, run.item_count, run.inserted) == ("succeeded", "article", 0, 0)


# --- GET /api/v1/sync/runs ----------------------------------------------------------------------


@pytest.fixture
def runs(writer, other_writer, company):
    """Five runs of our company with fixed start times, and one of another company: all made by
    requests (``writer.project()`` would write without a request, so without a run)."""
    project = writer.ok("projects", [writer.new("projects")])["items"][0]["guid"]  # run 1: project, succeeded
    writer.post("components", [writer.new("components", project_guid=new_guid())])  # run 2: component, failed
    writer.post("components", [writer.new("components", project_guid=project)])  # run 3: component, succeeded
    writer.post(
        "components",
        [writer.new("components", project_guid=project), writer.new("components", code="")],
        query={"atomic": "false"},
    )  # run 4: component, partial
    writer.post("pieces", [])  # run 5: piece, succeeded
    other_writer.ok("projects", [other_writer.new("projects")])
    ours = list(SyncRun.objects.filter(company=company).order_by("id"))
    assert len(ours) == 5
    base = dt.datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
    for n, run in enumerate(ours):
        SyncRun.objects.filter(pk=run.pk).update(started_at=base + dt.timedelta(hours=n))
    return [str(run.guid) for run in ours]


def listed(response) -> list[str]:
    assert response.status_code == 200, response.content
    return [entry["guid"] for entry in response.json()]


def test_the_list_shows_the_companys_runs_newest_first(writer, runs, other_company):
    response = writer.client.get(RUNS_URL)

    assert listed(response) == runs[::-1]
    assert response["X-Total-Count"] == "5"
    assert "Link" not in response
    other_runs = {str(guid) for guid in SyncRun.objects.filter(company=other_company).values_list("guid", flat=True)}
    assert other_runs and not other_runs & set(listed(response))


def test_list_entries_carry_the_documented_fields(writer, runs, key, company):
    entry = writer.client.get(RUNS_URL).json()[1]  # run 4: partial

    assert set(entry) == {
        "guid",
        "company_guid",
        "actor_user",
        "actor_api_key",
        "entity",
        "endpoint",
        "started_at",
        "finished_at",
        "duration_ms",
        "status",
        "dry_run",
        "atomic",
        "item_count",
        "inserted",
        "updated",
        "unchanged",
        "errors",
        "request_id",
        "idempotency_key",
        "request_hash",
        "error_summary",
    }
    assert entry["guid"] == runs[3]
    assert (entry["company_guid"], entry["actor_api_key"], entry["actor_user"]) == (
        str(company.guid),
        str(key[0].guid),
        None,
    )
    assert (entry["entity"], entry["status"], entry["atomic"], entry["item_count"]) == (
        "component",
        "partial",
        False,
        2,
    )
    assert (entry["inserted"], entry["errors"]) == (1, 1)
    assert entry["error_summary"]["total"] == 2  # the blank code and the missing project_guid
    assert entry["started_at"] == "2026-05-01T15:00:00Z"
    assert "id" not in entry


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"entity": "component"}, [3, 2, 1]),
        ({"status": "succeeded"}, [4, 2, 0]),
        ({"status": "failed"}, [1]),
        ({"entity": "component", "status": "partial"}, [3]),
        ({"since": "2026-05-01T14:00:00Z"}, [4, 3, 2]),
        ({"since": "2026-05-01T16:00:00+02:00"}, [4, 3, 2]),
        ({"since": "2026-05-02T05:59:00+15:59"}, [4, 3, 2]),  # the largest offset PostgreSQL stores
        ({"entity": "article"}, []),
        ({"limit": "2", "offset": "1"}, [3, 2]),
    ],
)
def test_the_list_filters_by_entity_status_and_since(writer, runs, query, expected):
    assert listed(writer.client.get(RUNS_URL, query)) == [runs[n] for n in expected]


def test_the_list_is_paged_with_headers(writer, runs):
    response = writer.client.get(RUNS_URL, {"limit": 2})

    assert listed(response) == [runs[4], runs[3]]
    assert response["X-Total-Count"] == "5"
    link = response["Link"]
    assert link.endswith('>; rel="next"') and "offset=2" in link and "limit=2" in link


@pytest.mark.parametrize(
    ("query", "code"),
    [
        ({"actor": "me"}, "unknown_query_parameter"),
        ({"status": "done"}, "invalid_query_parameter"),
        ({"entity": "components"}, "invalid_query_parameter"),  # singular names, as in the records
        ({"since": "yesterday"}, "invalid_query_parameter"),
        ({"limit": "0"}, "invalid_query_parameter"),
    ],
)
def test_a_bad_filter_is_a_400(writer, runs, problem, query, code):
    problem(writer.client.get(RUNS_URL, query), 400, code)


@pytest.mark.parametrize(
    "since", ["2026-05-01T14:00:00+16:00", "2026-05-01T14:00:00-16:00", "2026-05-01T14:00:00+23:59"]
)
def test_a_since_with_an_offset_postgresql_cannot_store_is_a_400_not_a_500(writer, runs, problem, since):
    before = SyncRun.objects.count()

    body = problem(writer.client.get(RUNS_URL, {"since": since}), 400, "invalid_query_parameter")

    assert body["errors"] == [
        {
            "pointer": "/query/since",
            "code": "invalid_datetime",
            "detail": "The UTC offset must be within ±15:59 (whole seconds), e.g. 2026-11-22T10:00:00+02:00.",
        }
    ]
    assert SyncRun.objects.count() == before


def test_a_run_is_read_by_guid_in_any_spelling(writer, runs):
    response = writer.client.get(f"{RUNS_URL}/{uuid.UUID(runs[1]).hex.upper()}")

    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["guid"], body["status"], body["entity"]) == (runs[1], "failed", "component")
    assert body["error_summary"]["errors"][0]["code"] == "parent_not_found"


def test_another_companys_run_is_not_found(writer, other_writer, runs, problem, other_company):
    theirs = SyncRun.objects.filter(company=other_company).get()

    problem(writer.client.get(f"{RUNS_URL}/{theirs.guid}"), 404)
    problem(writer.client.get(f"{RUNS_URL}/{new_guid()}"), 404)
    assert other_writer.client.get(f"{RUNS_URL}/{theirs.guid}").status_code == 200
    problem(other_writer.client.get(f"{RUNS_URL}/{runs[0]}"), 404)


def test_runs_are_readable_with_sync_read_and_by_every_user_role(make_api_key, make_user, as_key, as_user, runs):
    readers = [as_key(make_api_key(scopes=["sync:read"])[1]), as_user(make_user(Role.OPERATOR))]

    for client in readers:
        assert listed(client.get(RUNS_URL)) == runs[::-1]


def test_a_system_admin_lists_every_companys_runs_or_one_company(make_user, as_user, runs, company, other_company):
    admin = as_user(make_user(Role.SYSTEM_ADMIN))
    theirs = [str(guid) for guid in SyncRun.objects.filter(company=other_company).values_list("guid", flat=True)]

    everything = listed(admin.get(RUNS_URL))
    narrowed = listed(admin.get(RUNS_URL, {"company_guid": str(other_company.guid)}))

    assert set(everything) == set(runs) | set(theirs)
    assert narrowed == theirs


def test_a_company_guid_filter_naming_another_company_is_forbidden(writer, runs, other_company, problem):
    problem(writer.client.get(RUNS_URL, {"company_guid": str(other_company.guid)}), 403, "company_mismatch")


def test_runs_need_credentials(api, runs, problem):
    problem(api.get(RUNS_URL), 401)
