"""The item cap counts every row a request would write, nested ones included.

One ``PUT /api-jobs/sync`` used to write 12,001 rows: the cap counted top-level items only. Now
jobs + nested parts + nested operations together are at most ``SYNC_MAX_ITEMS``, else a 400
``batch_too_large`` in Eryxon's envelope, decided by counting before any item is validated, with
nothing written (like every 400, no sync run: the request is refused before it is run).
"""

from __future__ import annotations

import pytest

from assemblies.models import Job, Operation, Part
from sync.models import SyncRun

from .mes import bulk, eryxon_client, failure, put, success

pytestmark = pytest.mark.django_db

SOURCE = "SAP"


@pytest.fixture
def client(key, company):
    client = eryxon_client(key[1])
    cell = {"external_id": "WC-CUT", "external_source": SOURCE, "name": "Cutting"}
    success(put(client, "cells", cell), 201)
    return client


def operations(tag: str, count: int) -> list[dict]:
    return [
        {"external_id": f"{tag}-{n}", "operation_name": f"Op {n}", "sequence": n + 1, "cell_name": "Cutting"}
        for n in range(count)
    ]


def parts(tag: str, count: int, operations_each: int = 0) -> list[dict]:
    result = []
    for n in range(count):
        part = {"external_id": f"{tag}-{n}", "part_number": f"P-{tag}-{n}"}
        if operations_each:
            part["operations"] = operations(f"{tag}-{n}", operations_each)
        result.append(part)
    return result


def job(tag: str, part_count: int = 0, operations_each: int = 0) -> dict:
    item = {"external_id": tag, "external_source": SOURCE, "job_number": f"JOB-{tag}"}
    if part_count:
        item["parts"] = parts(tag, part_count, operations_each)
    return item


def nothing_written(company) -> bool:
    return not (
        Job.objects.filter(company=company).exists()
        or Part.objects.filter(company=company).exists()
        or Operation.objects.filter(company=company).exists()
    )


def too_large(response, message: str, field: str, detail: str) -> None:
    error = failure(response, 400, "BAD_REQUEST")
    assert error == {
        "code": "BAD_REQUEST",
        "message": message,
        "details": [{"field": field, "code": "max_items", "message": detail}],
    }


def test_one_put_with_2000_nested_parts_is_a_400_and_writes_nothing(client, company):
    runs = SyncRun.objects.count()

    response = put(client, "jobs", job("SO-1", part_count=2000))

    too_large(
        response,
        "2001 rows (1 item and 2000 nested in it); at most 1000 are accepted per request.",
        "",
        "At most 1000 rows, nested items included.",
    )
    assert nothing_written(company)
    assert SyncRun.objects.count() == runs


def test_one_put_counts_nested_operations_too(client, company, settings):
    settings.SYNC_MAX_ITEMS = 7

    too_large(
        put(client, "jobs", job("SO-1", part_count=2, operations_each=3)),  # 1 + 2 + 6 = 9
        "9 rows (1 item and 8 nested in it); at most 7 are accepted per request.",
        "",
        "At most 7 rows, nested items included.",
    )
    assert nothing_written(company)

    data = success(put(client, "jobs", job("SO-1", part_count=2, operations_each=2)), 201)  # 1 + 2 + 4 = 7

    assert data["action"] == "created"
    assert (Job.objects.count(), Part.objects.count(), Operation.objects.count()) == (1, 2, 4)


def test_a_part_put_counts_its_nested_operations(client, company, settings):
    success(put(client, "jobs", job("SO-1")), 201)
    settings.SYNC_MAX_ITEMS = 3
    part = {"external_id": "SO-1-10", "external_source": SOURCE, "job_external_id": "SO-1", "part_number": "P-1"}

    too_large(
        put(client, "parts", {**part, "operations": operations("SO-1-10", 3)}),
        "4 rows (1 item and 3 nested in it); at most 3 are accepted per request.",
        "",
        "At most 3 rows, nested items included.",
    )
    assert not Part.objects.exists() and not Operation.objects.exists()


@pytest.mark.parametrize("wrapper", ["jobs", "items"])
@pytest.mark.parametrize("query", ["", "atomic=true", "atomic=false"])
def test_a_bulk_whose_nested_rows_pass_the_cap_is_a_400_and_writes_nothing(client, company, settings, wrapper, query):
    settings.SYNC_MAX_ITEMS = 10
    runs = SyncRun.objects.count()
    body = {wrapper: [job("SO-1", part_count=2, operations_each=1), job("SO-2", part_count=3, operations_each=1)]}

    response = bulk(client, "jobs", body, query)  # 2 jobs + 5 parts + 5 operations = 12

    too_large(
        response,
        "12 rows (2 items and 10 nested in them); at most 10 are accepted per request.",
        wrapper,
        "At most 10 rows, nested items included.",
    )
    assert nothing_written(company)
    assert SyncRun.objects.count() == runs


def test_a_bulk_of_exactly_the_cap_in_rows_is_written(client, company, settings):
    settings.SYNC_MAX_ITEMS = 10
    body = {"jobs": [job("SO-1", part_count=2, operations_each=1), job("SO-2", part_count=2, operations_each=1)]}

    data = success(bulk(client, "jobs", body))  # 2 + 4 + 4 = 10

    assert (data["total"], data["created"], data["errors"]) == (2, 2, 0)
    assert (Job.objects.count(), Part.objects.count(), Operation.objects.count()) == (2, 4, 4)
    runs = SyncRun.objects.filter(endpoint="POST /api-jobs/bulk-sync")
    assert [(run.status, run.item_count, run.inserted) for run in runs] == [("succeeded", 2, 2)]


def test_rows_are_counted_before_items_are_validated(client, company, settings):
    """Broken nested items over the cap are a 400 for their number, not item errors."""
    settings.SYNC_MAX_ITEMS = 5
    item = {**job("SO-1"), "parts": [{"part_number": 7}, 1, "x", None, [], {}]}

    too_large(
        put(client, "jobs", item),
        "7 rows (1 item and 6 nested in it); at most 5 are accepted per request.",
        "",
        "At most 5 rows, nested items included.",
    )
    assert nothing_written(company)


def test_the_default_cap_of_1000_rows_takes_a_bulk_of_few_jobs_with_many_parts(client, company):
    body = {"jobs": [job("SO-1", part_count=600), job("SO-2", part_count=600)]}

    too_large(
        bulk(client, "jobs", body, "atomic=false"),
        "1202 rows (2 items and 1200 nested in them); at most 1000 are accepted per request.",
        "jobs",
        "At most 1000 rows, nested items included.",
    )
    assert nothing_written(company)
