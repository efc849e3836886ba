"""The MES sync endpoints as requests: query counts that do
not grow with the batch, sync runs, ``Idempotency-Key``, rate limits, tenant isolation and
concurrent writers (PostgreSQL)."""

from __future__ import annotations

import re
import threading
import time

import pytest
from django.db import connection, connections, transaction
from django.test.utils import CaptureQueriesContext

from assemblies.models import Cell, Job, Operation, Part
from ractory.api import ratelimit
from sync.models import IdempotencyRecord, SyncRun

from .factories import freshen_key, run_of
from .mes import bulk, eryxon_client, failure, put, state, success

pytestmark = pytest.mark.django_db

SOURCE = "SAP"
RUNS_URL = "/api/v1/sync/runs"


def make_cells(client) -> None:
    items = [
        {"external_id": "WC-CUT", "external_source": SOURCE, "name": "Cutting"},
        {"external_id": "WC-BEND", "external_source": SOURCE, "name": "Bending"},
    ]
    assert success(bulk(client, "cells", {"cells": items}))["created"] == 2


@pytest.fixture
def cells(client, company) -> dict[str, Cell]:
    make_cells(client)
    return {cell.name: cell for cell in Cell.objects.filter(company=company)}


def job_item(external_id: str, number: str | None = None, **fields) -> dict:
    return {"external_id": external_id, "external_source": SOURCE, "job_number": number or f"N-{external_id}", **fields}


def operation(external_id: str, part: str, sequence: int, **fields) -> dict:
    return {
        "external_id": external_id,
        "external_source": SOURCE,
        "part_external_id": part,
        "operation_name": "Cut",
        "cell_name": "Cutting",
        "sequence": sequence,
        **fields,
    }


def nested_job(external_id: str, parts: int, operations: int = 5, name: str = "Cut") -> dict:
    return job_item(
        external_id,
        parts=[
            {
                "external_id": f"{external_id}-P{p}",
                "part_number": f"PN-{p}",
                "material": name,
                "operations": [
                    {
                        "external_id": f"{external_id}-P{p}-O{o}",
                        "operation_name": name,
                        "cell_name": "Cutting",
                        "sequence": o + 1,
                    }
                    for o in range(operations)
                ],
            }
            for p in range(parts)
        ],
    )


# --- Query counts -------------------------------------------------------------------------------------

# Statements per request (authentication and rate limiting included; the key's last_used_at is
# freshened first, so authentication writes nothing). Pinned: a change is a deliberate one.
# Bulk operations: the key, a savepoint, the stored operations, the parts, the cells, the
# sequences' live holders, the upsert (not when unchanged), the sync run, the release.
BULK_OPERATION_QUERIES = {
    "sqlite": {"insert": 9, "update": 9, "unchanged": 8},
    "postgresql": {"insert": 10, "update": 10, "unchanged": 9},  # + the MES writers' advisory lock
}
# Nested job: per level its stored rows, the cells, the live holders per rule that has candidates,
# one upsert per written level; on SQLite an inserted parent level's ids cost one more read.
NESTED_JOB_QUERIES = {
    "sqlite": {"insert": 14, "update": 13, "unchanged": 11},
    "postgresql": {"insert": 13, "update": 14, "unchanged": 12},  # + the MES writers' advisory lock
}


def measured(api_key, send, *args) -> tuple[object, list[str]]:
    """``send(*args)``, and the SQL statements it issued."""
    freshen_key(api_key)
    with CaptureQueriesContext(connection) as queries:
        response = send(*args)
    return response, [query["sql"] for query in queries.captured_queries]


def writes(statements: list[str]) -> list[str]:
    """The INSERT and UPDATE statements (an ``executemany`` is logged as ``"<n> times: <sql>"``)."""
    plain = [re.sub(r"^\d+ times: ", "", sql) for sql in statements]
    return [sql for sql in plain if sql.lstrip().upper().startswith(("INSERT", "UPDATE"))]


def test_bulk_operations_queries_do_not_grow_with_the_batch(client, key, company, cells):
    counts: dict[str, list[int]] = {"insert": [], "update": [], "unchanged": []}
    for size in (10, 200):
        part = f"P-{size}"
        tree = job_item(f"J-{size}", parts=[{"external_id": part, "part_number": "PN"}])
        success(put(client, "jobs", tree), 201)
        items = [operation(f"O-{size}-{n}", part, n + 1) for n in range(size)]

        response, statements = measured(key[0], bulk, client, "operations", {"operations": items})
        data = success(response)
        assert (data["created"], data["errors"]) == (size, 0)
        assert len(writes(statements)) == 2  # the rows in one statement, and the sync run
        counts["insert"].append(len(statements))

        renamed = [{**item, "operation_name": "Laser cut"} for item in items]
        response, statements = measured(key[0], bulk, client, "operations", {"operations": renamed})
        data = success(response)
        assert (data["updated"], data["errors"]) == (size, 0)
        assert len(writes(statements)) == 2
        counts["update"].append(len(statements))

        response, statements = measured(key[0], bulk, client, "operations", {"operations": renamed})
        data = success(response)
        assert (data["unchanged"], data["errors"]) == (size, 0)
        assert len(writes(statements)) == 1  # only the sync run
        counts["unchanged"].append(len(statements))

        stored = Operation.objects.filter(company=company, part__external_id=part)
        assert stored.count() == size
        assert set(stored.values_list("operation_name", flat=True)) == {"Laser cut"}

    for kind, (small, large) in counts.items():
        assert small == large, (kind, counts)
    assert {kind: small for kind, (small, _) in counts.items()} == BULK_OPERATION_QUERIES[connection.vendor]


def test_nested_job_queries_do_not_grow_with_the_tree(client, key, company, cells):
    counts: dict[str, list[int]] = {"insert": [], "update": [], "unchanged": []}
    for parts in (2, 20):
        tag = f"J-{parts}"
        response, statements = measured(key[0], put, client, "jobs", nested_job(tag, parts))
        assert success(response, 201)["action"] == "created"
        assert len(writes(statements)) == 4  # jobs, parts, operations, the sync run
        counts["insert"].append(len(statements))

        changed = nested_job(tag, parts, name="Laser")
        response, statements = measured(key[0], put, client, "jobs", changed)
        assert success(response, 200)["action"] == "updated"
        assert len(writes(statements)) == 3  # parts, operations, the sync run: the job is as stored
        counts["update"].append(len(statements))

        response, statements = measured(key[0], put, client, "jobs", changed)
        assert success(response, 200)["action"] == "unchanged"
        assert len(writes(statements)) == 1
        counts["unchanged"].append(len(statements))

        assert Part.objects.filter(company=company, job__external_id=tag, material="Laser").count() == parts
        assert Operation.objects.filter(
            company=company, part__job__external_id=tag, operation_name="Laser"
        ).count() == (parts * 5)

    for kind, (small, large) in counts.items():
        assert small == large, (kind, counts)
    assert {kind: small for kind, (small, _) in counts.items()} == NESTED_JOB_QUERIES[connection.vendor]


# --- Sync runs ----------------------------------------------------------------------------------------


def run_fields(run: SyncRun) -> tuple:
    return (
        run.entity,
        run.endpoint,
        run.status,
        run.atomic,
        run.item_count,
        run.inserted,
        run.updated,
        run.unchanged,
        run.errors,
    )


def test_mes_requests_record_sync_runs(client, key, company, cells):
    success(put(client, "jobs", job_item("J-1", parts=[{"external_id": "P-1", "part_number": "PN"}])), 201)
    created = bulk(client, "operations", {"operations": [operation("O-1", "P-1", 1), operation("O-2", "P-1", 2)]})
    mixed = bulk(
        client,
        "operations",
        {"items": [operation("O-1", "P-1", 1), operation("O-2", "P-1", 2, notes="x"), operation("O-3", "P-9", 3)]},
    )
    all_bad = bulk(client, "operations", {"operations": [operation("O-4", "P-9", 4)]})
    atomic = bulk(
        client, "operations", {"operations": [operation("O-5", "P-1", 5), operation("O-6", "P-9", 6)]}, "atomic=true"
    )
    single_bad = put(client, "jobs", job_item("J-2", priority=-1))

    assert success(created)["created"] == 2
    assert success(mixed)["errors"] == 1
    assert success(all_bad)["errors"] == 1
    failure(atomic, 422, "VALIDATION_ERROR")
    failure(single_bad, 422, "VALIDATION_ERROR")
    assert set(Operation.objects.filter(company=company).values_list("external_id", flat=True)) == {"O-1", "O-2"}

    runs = SyncRun.objects.filter(company=company, entity__in=["job", "operation"]).order_by("started_at", "id")
    assert [run_fields(run) for run in runs] == [
        ("job", "PUT /api-jobs/sync", "succeeded", True, 1, 1, 0, 0, 0),
        ("operation", "POST /api-operations/bulk-sync", "succeeded", False, 2, 2, 0, 0, 0),
        ("operation", "POST /api-operations/bulk-sync", "partial", False, 3, 0, 1, 1, 1),
        ("operation", "POST /api-operations/bulk-sync", "failed", False, 1, 0, 0, 0, 1),
        ("operation", "POST /api-operations/bulk-sync", "failed", True, 2, 0, 0, 0, 1),
        ("job", "PUT /api-jobs/sync", "failed", True, 1, 0, 0, 0, 1),
    ]
    assert all((run.actor_api_key_id, run.actor_user_id) == (key[0].pk, None) for run in runs)
    assert run_of(mixed).error_summary == {
        "total": 1,
        "errors": [
            {
                "pointer": "/items/2/part_external_id",
                "code": "parent_not_found",
                "detail": "No part with external_id 'P-9' from 'SAP' in this company.",
            }
        ],
    }
    assert run_of(single_bad).error_summary["errors"][0]["pointer"] == "/priority"
    assert run_of(created).error_summary is None

    # Read back through the API: newest first, filtered by entity.
    response = client.get(RUNS_URL, {"entity": "operation"})
    assert response.status_code == 200, response.content
    assert response["X-Total-Count"] == "4"
    listed = response.json()
    assert [entry["guid"] for entry in listed] == [str(run_of(r).guid) for r in (atomic, all_bad, mixed, created)]
    assert {k: listed[-1][k] for k in ("entity", "endpoint", "status", "inserted", "item_count", "atomic")} == {
        "entity": "operation",
        "endpoint": "POST /api-operations/bulk-sync",
        "status": "succeeded",
        "inserted": 2,
        "item_count": 2,
        "atomic": False,
    }
    assert listed[-1]["actor_api_key"] == str(key[0].guid)
    response = client.get(RUNS_URL, {"entity": "job", "status": "failed"})
    assert [entry["endpoint"] for entry in response.json()] == ["PUT /api-jobs/sync"]


# --- Idempotency-Key ----------------------------------------------------------------------------------

REPLAYED = "Idempotent-Replayed"


def test_an_idempotency_key_replays_a_bulk_response_verbatim(client, company):
    body = {"jobs": [job_item("J-1"), job_item("J-2", priority=-1)]}
    first = bulk(client, "jobs", body, HTTP_IDEMPOTENCY_KEY="erp-batch-1")
    data = success(first)
    assert (data["created"], data["errors"]) == (1, 1)
    assert REPLAYED not in first
    before = state(company)

    replay = bulk(client, "jobs", body, HTTP_IDEMPOTENCY_KEY="erp-batch-1")

    assert success(replay) == data  # "created" again: the stored answer, not a second run ("unchanged")
    assert replay.json() == first.json()
    assert replay[REPLAYED] == "true"
    assert state(company) == before
    assert IdempotencyRecord.objects.get(company=company, key="erp-batch-1").response_body == first.json()
    assert SyncRun.objects.filter(company=company, inserted__gt=0).count() == 1  # the engine ran once

    # The same key with another body: refused, nothing written.
    other = bulk(client, "jobs", {"jobs": [job_item("J-3")]}, HTTP_IDEMPOTENCY_KEY="erp-batch-1")
    error = failure(other, 422, "VALIDATION_ERROR")
    assert error == {
        "code": "VALIDATION_ERROR",
        "message": "This Idempotency-Key was used for a different request; use a new key.",
    }
    assert REPLAYED not in other
    assert state(company) == before

    # ... also the same body to another MES endpoint.
    error = failure(bulk(client, "parts", {"items": []}, HTTP_IDEMPOTENCY_KEY="erp-batch-1"), 422, "VALIDATION_ERROR")
    assert error["message"] == "This Idempotency-Key was used for a different request; use a new key."


def test_an_idempotency_key_replays_a_single_sync_with_its_201(client, company):
    first = put(client, "jobs", job_item("J-1"), HTTP_IDEMPOTENCY_KEY="put-1")
    data = success(first, 201)
    assert data["action"] == "created"

    replay = put(client, "jobs", job_item("J-1"), HTTP_IDEMPOTENCY_KEY="put-1")

    assert success(replay, 201) == data
    assert replay[REPLAYED] == "true"
    assert Job.objects.filter(company=company).count() == 1
    # Without the key the same item is a new request: unchanged.
    assert success(put(client, "jobs", job_item("J-1")), 200)["action"] == "unchanged"


# --- Rate limits -------------------------------------------------------------------------------------

RATE_HEADERS = ("X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset")


@pytest.fixture
def limit(settings):
    def set_limit(per_credential: int) -> None:
        settings.RATE_LIMIT_PER_MINUTE = per_credential
        settings.RATE_LIMIT_COMPANY_PER_MINUTE = 5 * per_credential

    return set_limit


def assert_rate_headers(response, *, limit: int, remaining: int, now: float) -> None:
    assert (response["X-RateLimit-Limit"], response["X-RateLimit-Remaining"]) == (str(limit), str(remaining))
    assert now <= int(response["X-RateLimit-Reset"]) <= now + ratelimit.WINDOW_SECONDS + 1


def test_mes_success_responses_carry_the_rate_limit_headers(client, company, limit, frozen_window):
    limit(5)

    single = put(client, "jobs", job_item("J-1"))
    many = bulk(client, "jobs", {"jobs": [job_item("J-2")]})
    again = put(client, "jobs", job_item("J-1"))

    assert success(single, 201)["action"] == "created"
    assert success(many)["created"] == 1
    assert success(again)["action"] == "unchanged"
    for response, remaining in ((single, 4), (many, 3), (again, 2)):
        assert_rate_headers(response, limit=5, remaining=remaining, now=frozen_window)
        assert "Retry-After" not in response


def test_over_the_limit_a_mes_endpoint_answers_429_in_the_eryxon_envelope(client, company, limit, frozen_window):
    limit(2)
    assert success(put(client, "jobs", job_item("J-1")), 201)["action"] == "created"
    assert success(bulk(client, "jobs", {"jobs": [job_item("J-2")]}))["created"] == 1
    runs = SyncRun.objects.filter(company=company).count()

    response = bulk(client, "jobs", {"jobs": [job_item("J-3")]})

    error = failure(response, 429, "RATE_LIMIT_EXCEEDED")
    assert error == {
        "code": "RATE_LIMIT_EXCEEDED",
        "message": "Too many requests: the limit is 2 a minute. Retry after the Retry-After seconds.",
    }
    assert_rate_headers(response, limit=2, remaining=0, now=frozen_window)
    assert 1 <= int(response["Retry-After"]) <= ratelimit.WINDOW_SECONDS
    assert int(response["Retry-After"]) == int(response["X-RateLimit-Reset"]) - int(frozen_window)
    # It never reached the view: nothing written, no run recorded.
    assert sorted(Job.objects.filter(company=company).values_list("external_id", flat=True)) == ["J-1", "J-2"]
    assert SyncRun.objects.filter(company=company).count() == runs

    failure(put(client, "jobs", job_item("J-3")), 429, "RATE_LIMIT_EXCEEDED")
    assert not Job.objects.filter(company=company, external_id="J-3").exists()


# --- Tenants ------------------------------------------------------------------------------------------


def test_another_company_syncing_the_same_keys_gets_rows_of_its_own(
    client, company, other_company, make_api_key, cells
):
    success(put(client, "cells", {"external_id": "WC-PAINT", "external_source": SOURCE, "name": "Painting"}), 201)
    tree = nested_job("J-1", parts=2, operations=2)
    success(put(client, "jobs", tree), 201)
    success(
        put(
            client,
            "parts",
            {"external_id": "P-A", "external_source": SOURCE, "job_external_id": "J-1", "part_number": "A-only"},
        ),
        201,
    )
    theirs = state(company)

    other = eryxon_client(make_api_key(company=other_company)[1])
    make_cells(other)
    data = success(bulk(other, "jobs", {"jobs": [{**tree, "customer": "Other Doors"}]}))

    stored = Job.objects.get(company=other_company)
    assert data["results"] == [{"index": 0, "external_id": "J-1", "id": str(stored.guid), "action": "created"}]
    assert stored.customer == "Other Doors" and stored.job_number == "N-J-1"  # numbers are per company
    assert state(company) == theirs  # company A's rows: not read into the answer, not changed
    mine = state(other_company)
    assert len(mine["jobs"]) == 1 and len(mine["parts"]) == 2 and len(mine["operations"]) == 4
    for plural in ("cells", "jobs", "parts", "operations"):
        assert not set(mine[plural]) & set(theirs[plural])  # no guid of A
    assert {p.job_id for p in Part.objects.filter(company=other_company)} == {stored.id}
    other_cells = set(Cell.objects.filter(company=other_company).values_list("id", flat=True))
    other_parts = set(Part.objects.filter(company=other_company).values_list("id", flat=True))
    for o in Operation.objects.filter(company=other_company):
        assert o.cell_id in other_cells and o.part_id in other_parts

    # A's part and A's cell cannot be named from B.
    data = success(
        bulk(
            other,
            "operations",
            {
                "operations": [
                    operation("O-X", "P-A", 1),
                    {**operation("O-Y", "J-1-P0", 9), "cell_name": "Painting"},
                ]
            },
        )
    )
    assert [(r["action"], [(d["field"], d["code"]) for d in r["details"]]) for r in data["results"]] == [
        ("error", [("part_external_id", "parent_not_found")]),
        ("error", [("cell_name", "cell_not_found")]),
    ]
    assert state(company) == theirs
    assert Operation.objects.filter(company=other_company).count() == 4


# --- Concurrency (PostgreSQL) -------------------------------------------------------------------------


def run_together(*jobs, gate: str):
    """Run each job in its own thread (its own connection), their writes released together.

    The test holds a SHARE lock on the table ``gate`` until every job waits to write to it (reads
    are not blocked), then commits: the jobs' upserts start at the same moment instead of
    whenever the threads happen to get there. A job queued behind another one's MES writers'
    lock (an advisory lock, ``sync.writers.serialize_writers``) counts as waiting too.
    """
    results: list = [None] * len(jobs)

    def work(index, job):
        try:
            results[index] = job()
        except Exception as error:  # noqa: BLE001 - reported to the test, never swallowed
            results[index] = error
        finally:
            connections.close_all()

    threads = [threading.Thread(target=work, args=(index, job)) for index, job in enumerate(jobs)]
    deadline = time.monotonic() + 60
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"LOCK TABLE {gate} IN SHARE MODE")
        for thread in threads:
            thread.start()
        while time.monotonic() < deadline and all(thread.is_alive() for thread in threads):
            cursor.execute(
                "SELECT count(*) FROM pg_locks "
                "WHERE NOT granted AND (relation = %s::regclass OR locktype = 'advisory')",
                [gate],
            )
            if cursor.fetchone()[0] >= len(jobs):
                break
            time.sleep(0.005)
    for thread in threads:
        thread.join()
    return results


CONCURRENT_JOBS = 25
ROUNDS = 40


@pytest.mark.postgres
@pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="needs PostgreSQL: SQLite serialises writers, so there is no concurrency to test",
)
@pytest.mark.django_db(transaction=True)
def test_two_concurrent_bulk_syncs_inserting_the_same_keys_end_with_one_row_per_key(make_api_key, company):
    (first_key, first_raw), (second_key, second_raw) = make_api_key(), make_api_key()
    first, second = eryxon_client(first_raw), eryxon_client(second_raw)

    for round_number in range(ROUNDS):
        tag = f"R{round_number}"
        items = [
            job_item(
                f"{tag}-J{n}",
                f"{tag}-N{n}",
                parts=[{"external_id": f"{tag}-J{n}-P", "part_number": "PN", "quantity": 2}],
            )
            for n in range(CONCURRENT_JOBS)
        ]
        freshen_key(first_key)
        freshen_key(second_key)

        responses = run_together(
            lambda items=items: bulk(first, "jobs", {"jobs": items}),
            lambda items=items: bulk(second, "jobs", {"jobs": items[::-1]}),
            gate=Job._meta.db_table,
        )

        bodies = []
        for response in responses:
            assert not isinstance(response, Exception), repr(response)
            assert response.status_code == 200, (f"round {round_number}", response.status_code, response.content)
            data = success(response)
            assert (data["total"], data["errors"]) == (CONCURRENT_JOBS, 0), data["results"][:5]
            assert data["created"] + data["updated"] + data["unchanged"] == CONCURRENT_JOBS
            bodies.append(data)
        created = [{r["external_id"] for r in data["results"] if r["action"] == "created"} for data in bodies]
        assert not created[0] & created[1]
        assert created[0] | created[1] == {item["external_id"] for item in items}

        jobs = Job.objects.filter(company=company, external_id__startswith=f"{tag}-")
        assert jobs.count() == CONCURRENT_JOBS
        assert sorted(jobs.values_list("job_number", flat=True)) == sorted(item["job_number"] for item in items)
        parts = Part.objects.filter(company=company, external_id__startswith=f"{tag}-")
        assert parts.count() == CONCURRENT_JOBS
        assert all(p.job.external_id == p.external_id.removesuffix("-P") for p in parts.select_related("job"))
        # Both answers name the one stored guid of each key.
        guids = {j.external_id: str(j.guid) for j in jobs}
        for data in bodies:
            assert all(r["id"] == guids[r["external_id"]] for r in data["results"])
