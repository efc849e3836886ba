"""Blank strings and unstorable UTC offsets deep in an MES tree.

A whitespace-only required string is ``blank`` and a timestamp whose UTC offset PostgreSQL
cannot store is ``invalid_datetime`` at any depth, reported with the nested path, and refuse the
whole tree (never a 500: one such value used to fail the whole request with nothing written and
no sync run). Run these on PostgreSQL too.
"""

from __future__ import annotations

import pytest

from assemblies.models import Job, Operation, Part
from sync.models import SyncRun

from .mes import bulk, eryxon_client, failure, put, state, success

pytestmark = pytest.mark.django_db

SOURCE = "SAP"
BLANK = "This field may not be blank."
OFFSET = "The UTC offset must be within ±15:59 (whole seconds), e.g. 2026-11-22T10:00:00+02:00."


@pytest.fixture
def client(key, company):
    client = eryxon_client(key[1])
    success(put(client, "cells", {"external_id": "WC-CUT", "external_source": SOURCE, "name": "Cutting"}), 201)
    return client


def tree(tag: str) -> dict:
    return {
        "external_id": tag,
        "external_source": SOURCE,
        "job_number": f"JOB-{tag}",
        "parts": [
            {"external_id": f"{tag}-10", "part_number": "P-1"},
            {
                "external_id": f"{tag}-20",
                "part_number": "P-2",
                "operations": [
                    {"external_id": f"{tag}-20-1", "operation_name": "Cut", "sequence": 1, "cell_name": "Cutting"},
                    {"external_id": f"{tag}-20-2", "operation_name": "Bend", "sequence": 2, "cell_name": "Cutting"},
                ],
            },
        ],
    }


def spoil(item: dict) -> tuple[dict, list[dict]]:
    """The tree with bad values at three depths; returns it and the details they give."""
    item["parts"][0]["part_number"] = " \t "
    item["parts"][1]["operations"][1]["operation_name"] = "\u00a0"
    item["parts"][1]["operations"][0]["cell_name"] = "  "
    item["due_date"] = "2024-06-01T00:00:00+16:00"
    details = [
        {"field": "due_date", "code": "invalid_datetime", "message": OFFSET},
        {"field": "parts[0].part_number", "code": "blank", "message": BLANK},
        {"field": "parts[1].operations[0].cell_name", "code": "blank", "message": BLANK},
        {"field": "parts[1].operations[1].operation_name", "code": "blank", "message": BLANK},
    ]
    return item, details


def tables(company) -> dict:
    return state(company, "jobs", "parts", "operations")


def test_a_single_put_names_every_bad_nested_value_and_writes_nothing(client, company):
    item, details = spoil(tree("SO-1"))

    response = put(client, "jobs", item)

    error = failure(response, 422, "VALIDATION_ERROR")
    assert error["details"] == details
    assert error["message"] == f"due_date: {OFFSET} (and 3 more)"
    assert tables(company) == {"jobs": {}, "parts": {}, "operations": {}}
    run = SyncRun.objects.get(request_id=response["X-Request-ID"])
    assert (run.status, run.item_count, run.errors, run.inserted) == ("failed", 1, 1, 0)


def test_a_nested_deleted_at_with_an_unstorable_offset_is_an_error_of_its_path(client, company):
    item = tree("SO-1")
    item["parts"][1]["operations"][0].update(is_active=False, deleted_at="2024-06-01T00:00:00-16:00")

    error = failure(put(client, "jobs", item), 422, "VALIDATION_ERROR")

    assert error["details"] == [
        {"field": "parts[1].operations[0].deleted_at", "code": "invalid_datetime", "message": OFFSET}
    ]
    assert tables(company) == {"jobs": {}, "parts": {}, "operations": {}}


def test_a_partial_bulk_refuses_the_bad_tree_and_writes_the_good_one(client, company):
    bad, details = spoil(tree("SO-2"))

    response = bulk(client, "jobs", {"jobs": [tree("SO-1"), bad]})

    data = success(response)
    job = Job.objects.get(company=company)
    assert data["results"] == [
        {"index": 0, "external_id": "SO-1", "id": str(job.guid), "action": "created"},
        {
            "index": 1,
            "external_id": "SO-2",
            "id": None,
            "action": "error",
            "error": f"due_date: {OFFSET} (and 3 more)",
            "details": details,
        },
    ]
    assert job.external_id == "SO-1"
    assert sorted(Part.objects.filter(company=company).values_list("external_id", flat=True)) == ["SO-1-10", "SO-1-20"]
    assert Operation.objects.filter(company=company).count() == 2
    run = SyncRun.objects.get(request_id=response["X-Request-ID"])
    assert (run.status, run.item_count, run.inserted, run.errors) == ("partial", 2, 1, 1)


def test_an_atomic_bulk_is_refused_whole_with_body_relative_paths(client, company):
    bad, details = spoil(tree("SO-2"))

    response = bulk(client, "jobs", {"jobs": [tree("SO-1"), bad]}, "atomic=true")

    error = failure(response, 422, "VALIDATION_ERROR")
    assert error["details"] == [{**detail, "field": f"jobs[1].{detail['field']}"} for detail in details]
    assert tables(company) == {"jobs": {}, "parts": {}, "operations": {}}
    run = SyncRun.objects.get(request_id=response["X-Request-ID"])
    assert (run.status, run.item_count, run.inserted, run.errors) == ("failed", 2, 0, 1)
