"""Business keys unique among live rows, judged on the state after the whole request: cell name
(case-insensitive), job number, part number per job, operation sequence per part.

Swaps and rotations inside one request are valid; a real collision is an item error
(``not_unique``), never a 500 or an IntegrityError, and leaves the stored rows untouched. On
PostgreSQL the partial unique indexes check every write, so these tests run on both databases.
"""

from __future__ import annotations

import pytest

from assemblies.models import Cell, Job, Operation, Part

from .mes import bulk, failure, put, state, success

pytestmark = pytest.mark.django_db

SOURCE = "SAP"


@pytest.fixture
def cutting(client, company) -> Cell:
    success(put(client, "cells", {"external_id": "WC-CUT", "external_source": SOURCE, "name": "Cutting"}), 201)
    return Cell.objects.get(company=company)


def job(external_id: str, number: str | None = None, **fields) -> dict:
    item = {"external_id": external_id, "external_source": SOURCE, **fields}
    if number is not None:
        item["job_number"] = number
    return item


def operation(external_id: str, sequence: int, part: str = "P-1", **fields) -> dict:
    return {
        "external_id": external_id,
        "external_source": SOURCE,
        "part_external_id": part,
        "operation_name": f"Op {external_id}",
        "cell_name": "Cutting",
        "sequence": sequence,
        **fields,
    }


def result(index: int, external_id: str, row, action: str) -> dict:
    return {"index": index, "external_id": external_id, "id": str(row.guid), "action": action}


def error_result(index: int, external_id: str, field: str, message: str) -> dict:
    return {
        "index": index,
        "external_id": external_id,
        "id": None,
        "action": "error",
        "error": f"{field}: {message}",
        "details": [{"field": field, "code": "not_unique", "message": message}],
    }


def counts(data: dict) -> tuple[int, int, int, int, int]:
    return data["total"], data["created"], data["updated"], data["unchanged"], data["errors"]


def sequences(company, part: str = "P-1") -> dict[str, tuple[int, bool]]:
    return {
        o.external_id: (o.sequence, o.is_active)
        for o in Operation.objects.filter(company=company, part__external_id=part)
    }


@pytest.fixture
def routing(client, company, cutting) -> dict[str, Operation]:
    """Job J-1 → part P-1 → operations A, B, C at sequences 1, 2, 3."""
    item = job(
        "J-1",
        "JOB-1",
        parts=[
            {
                "external_id": "P-1",
                "part_number": "BRACKET",
                "operations": [
                    {"external_id": name, "operation_name": f"Op {name}", "cell_name": "Cutting", "sequence": n}
                    for n, name in enumerate("ABC", start=1)
                ],
            }
        ],
    )
    success(put(client, "jobs", item), 201)
    return {o.external_id: o for o in Operation.objects.filter(company=company)}


# --- Operation sequences -----------------------------------------------------------------------------


def test_operations_swapping_sequences_in_one_bulk_request_succeed(client, company, routing):
    data = success(bulk(client, "operations", {"operations": [operation("A", 2), operation("B", 1)]}))

    assert data == {
        "total": 2,
        "created": 0,
        "updated": 2,
        "unchanged": 0,
        "errors": 0,
        "results": [result(0, "A", routing["A"], "updated"), result(1, "B", routing["B"], "updated")],
    }
    assert sequences(company) == {"A": (2, True), "B": (1, True), "C": (3, True)}
    assert {o.guid for o in Operation.objects.filter(company=company)} == {o.guid for o in routing.values()}
    assert all(o.deleted_at is None for o in Operation.objects.filter(company=company))


def test_a_three_cycle_rotation_of_sequences_succeeds(client, company, routing):
    body = {"operations": [operation("A", 2), operation("B", 3), operation("C", 1)]}

    data = success(bulk(client, "operations", body))

    assert counts(data) == (3, 0, 3, 0, 0)
    assert [r["action"] for r in data["results"]] == ["updated"] * 3
    assert sequences(company) == {"A": (2, True), "B": (3, True), "C": (1, True)}
    assert Operation.objects.filter(company=company).count() == 3


def test_a_nested_reorder_of_a_part_succeeds(client, company, routing):
    item = job(
        "J-1",
        "JOB-1",
        parts=[
            {
                "external_id": "P-1",
                "part_number": "BRACKET",
                "operations": [
                    {"external_id": "A", "operation_name": "Op A", "cell_name": "Cutting", "sequence": 3},
                    {"external_id": "C", "operation_name": "Op C", "cell_name": "Cutting", "sequence": 1},
                ],
            }
        ],
    )

    data = success(put(client, "jobs", item), 200)

    assert data == {"action": "updated", "id": str(Job.objects.get(company=company).guid), "external_id": "J-1"}
    assert sequences(company) == {"A": (3, True), "B": (2, True), "C": (1, True)}


def test_a_new_operation_on_a_stored_sequence_is_not_unique(client, company, routing):
    before = state(company)

    data = success(bulk(client, "operations", {"operations": [operation("D", 4), operation("E", 2)]}))

    created = Operation.objects.get(company=company, external_id="D")
    assert data == {
        "total": 2,
        "created": 1,
        "updated": 0,
        "unchanged": 0,
        "errors": 1,
        "results": [
            result(0, "D", created, "created"),
            error_result(1, "E", "sequence", "sequence 2 is already used by another live operation of this part."),
        ],
    }
    after = state(company)
    del after["operations"][created.guid]
    assert after == before
    assert sequences(company) == {"A": (1, True), "B": (2, True), "C": (3, True), "D": (4, True)}


def test_a_half_done_swap_is_refused_not_an_integrity_error(client, company, routing):
    """B's own error takes it out of the request: A's move onto 2 then collides with stored B."""
    before = state(company)
    body = {"operations": [operation("A", 2), operation("B", 1, estimated_time_minutes=-1)]}

    data = success(bulk(client, "operations", body))

    assert counts(data) == (2, 0, 0, 0, 2)
    assert data["results"][0] == error_result(
        0, "A", "sequence", "sequence 2 is already used by another live operation of this part."
    )
    assert data["results"][1]["action"] == "error"
    assert [d["field"] for d in data["results"][1]["details"]] == ["estimated_time_minutes"]
    assert state(company) == before


def test_a_tombstone_frees_a_sequence_for_a_new_operation_in_the_same_request(client, company, routing):
    body = {"operations": [operation("D", 2), operation("B", 2, is_active=False)]}

    data = success(bulk(client, "operations", body))

    created = Operation.objects.get(company=company, external_id="D")
    assert data["results"] == [result(0, "D", created, "created"), result(1, "B", routing["B"], "updated")]
    assert counts(data) == (2, 1, 1, 0, 0)
    assert sequences(company) == {"A": (1, True), "B": (2, False), "C": (3, True), "D": (2, True)}


# --- Job numbers --------------------------------------------------------------------------------------


@pytest.fixture
def two_jobs(client, company) -> dict[str, Job]:
    success(bulk(client, "jobs", {"jobs": [job("J-1", "N-1"), job("J-2", "N-2")]}))
    return {j.external_id: j for j in Job.objects.filter(company=company)}


def job_numbers(company) -> dict[str, tuple[str, bool]]:
    return {j.external_id: (j.job_number, j.is_active) for j in Job.objects.filter(company=company)}


def test_two_jobs_swapping_their_numbers_succeed(client, company, two_jobs):
    data = success(bulk(client, "jobs", {"jobs": [job("J-1", "N-2"), job("J-2", "N-1")]}))

    assert data["results"] == [
        result(0, "J-1", two_jobs["J-1"], "updated"),
        result(1, "J-2", two_jobs["J-2"], "updated"),
    ]
    assert counts(data) == (2, 0, 2, 0, 0)
    assert job_numbers(company) == {"J-1": ("N-2", True), "J-2": ("N-1", True)}


def test_a_new_job_taking_a_stored_live_number_is_not_unique(client, company, two_jobs):
    before = state(company)

    data = success(bulk(client, "jobs", {"jobs": [job("J-3", "N-1")]}))

    assert data == {
        "total": 1,
        "created": 0,
        "updated": 0,
        "unchanged": 0,
        "errors": 1,
        "results": [error_result(0, "J-3", "job_number", "job_number 'N-1' is already used by another live job.")],
    }
    assert state(company) == before

    error = failure(put(client, "jobs", job("J-3", "N-2")), 422, "VALIDATION_ERROR")
    assert error == {
        "code": "VALIDATION_ERROR",
        "message": "job_number: job_number 'N-2' is already used by another live job.",
        "details": [
            {
                "field": "job_number",
                "code": "not_unique",
                "message": "job_number 'N-2' is already used by another live job.",
            }
        ],
    }
    assert state(company) == before


def test_an_update_taking_another_jobs_number_is_not_unique(client, company, two_jobs):
    before = state(company)

    error = failure(put(client, "jobs", job("J-2", "N-1")), 422, "VALIDATION_ERROR")

    assert [(d["field"], d["code"]) for d in error["details"]] == [("job_number", "not_unique")]
    assert state(company) == before


def test_two_new_jobs_with_one_number_in_one_request_the_later_fails(client, company):
    data = success(bulk(client, "jobs", {"jobs": [job("J-1", "N-1"), job("J-2", "N-1"), job("J-3", "N-3")]}))

    stored = {j.external_id: j for j in Job.objects.filter(company=company)}
    assert data["results"] == [
        result(0, "J-1", stored["J-1"], "created"),
        error_result(1, "J-2", "job_number", "job_number 'N-1' is already used by another live job."),
        result(2, "J-3", stored["J-3"], "created"),
    ]
    assert counts(data) == (3, 2, 0, 0, 1)
    assert job_numbers(company) == {"J-1": ("N-1", True), "J-3": ("N-3", True)}


def test_a_soft_deleted_jobs_number_may_be_reused(client, company, two_jobs):
    success(put(client, "jobs", job("J-1", is_active=False)), 200)

    data = success(put(client, "jobs", job("J-3", "N-1")), 201)

    created = Job.objects.get(company=company, external_id="J-3")
    assert data == {"action": "created", "id": str(created.guid), "external_id": "J-3"}
    assert job_numbers(company) == {"J-1": ("N-1", False), "J-2": ("N-2", True), "J-3": ("N-1", True)}

    # Reactivating the deleted one would break the rule: an item error.
    before = state(company)
    error = failure(put(client, "jobs", job("J-1", "N-1")), 422, "VALIDATION_ERROR")
    assert [(d["field"], d["code"]) for d in error["details"]] == [("job_number", "not_unique")]
    assert state(company) == before


def test_a_tombstone_frees_a_number_for_a_new_job_in_the_same_request(client, company, two_jobs):
    body = {"jobs": [job("J-3", "N-1"), job("J-1", is_active=False)]}

    data = success(bulk(client, "jobs", body))

    created = Job.objects.get(company=company, external_id="J-3")
    assert data["results"] == [result(0, "J-3", created, "created"), result(1, "J-1", two_jobs["J-1"], "updated")]
    assert job_numbers(company) == {"J-1": ("N-1", False), "J-2": ("N-2", True), "J-3": ("N-1", True)}


def test_a_half_done_job_number_swap_is_refused_not_an_integrity_error(client, company, two_jobs):
    before = state(company)

    data = success(bulk(client, "jobs", {"jobs": [job("J-1", "N-2"), job("J-2", "N-1", priority=-1)]}))

    assert counts(data) == (2, 0, 0, 0, 2)
    assert data["results"][0] == error_result(
        0, "J-1", "job_number", "job_number 'N-2' is already used by another live job."
    )
    assert [d["field"] for d in data["results"][1]["details"]] == ["priority"]
    assert state(company) == before


# --- Part numbers: per job ----------------------------------------------------------------------------


def test_a_part_number_is_unique_per_job_and_may_repeat_across_jobs(client, company, two_jobs):
    def part(external_id, job_external_id, number="BRACKET"):
        return {
            "external_id": external_id,
            "external_source": SOURCE,
            "job_external_id": job_external_id,
            "part_number": number,
        }

    data = success(bulk(client, "parts", {"parts": [part("P-1", "J-1"), part("P-2", "J-2")]}))
    parts = {p.external_id: p for p in Part.objects.filter(company=company)}
    assert data["results"] == [result(0, "P-1", parts["P-1"], "created"), result(1, "P-2", parts["P-2"], "created")]
    before = state(company)

    data = success(bulk(client, "parts", {"parts": [part("P-3", "J-1")]}))

    assert data["results"] == [
        error_result(0, "P-3", "part_number", "part_number 'BRACKET' is already used by another live part of this job.")
    ]
    assert state(company) == before

    # Within one nested tree too: the later part fails, and with it the tree.
    item = job(
        "J-4",
        "N-4",
        parts=[
            {"external_id": "P-4", "part_number": "PLATE"},
            {"external_id": "P-5", "part_number": "PLATE"},
        ],
    )
    error = failure(put(client, "jobs", item), 422, "VALIDATION_ERROR")
    assert error["details"] == [
        {
            "field": "parts[1].part_number",
            "code": "not_unique",
            "message": "part_number 'PLATE' is already used by another live part of this job.",
        }
    ]
    assert state(company) == before


def test_a_part_moving_into_a_job_that_has_its_number_is_not_unique(client, company, two_jobs):
    body = {
        "parts": [
            {"external_id": "P-1", "external_source": SOURCE, "job_external_id": "J-1", "part_number": "BRACKET"},
            {"external_id": "P-2", "external_source": SOURCE, "job_external_id": "J-2", "part_number": "BRACKET"},
        ]
    }
    success(bulk(client, "parts", body))
    before = state(company)

    error = failure(
        put(
            client,
            "parts",
            {"external_id": "P-2", "external_source": SOURCE, "job_external_id": "J-1"},
        ),
        422,
        "VALIDATION_ERROR",
    )

    assert [(d["field"], d["code"]) for d in error["details"]] == [("part_number", "not_unique")]
    assert state(company) == before


# --- Cell names: case-insensitive ---------------------------------------------------------------------


def test_cell_names_are_unique_case_insensitively(client, company, cutting):
    before = state(company)
    cell = {"external_id": "WC-CUT-2", "external_source": "MES", "name": "cutting"}

    error = failure(put(client, "cells", cell), 422, "VALIDATION_ERROR")

    assert error["details"] == [
        {"field": "name", "code": "not_unique", "message": "name 'cutting' is already used by another live cell."}
    ]
    assert state(company) == before

    body = {
        "cells": [
            {"external_id": "WC-WELD", "external_source": SOURCE, "name": "Welding"},
            {"external_id": "WC-WELD-2", "external_source": SOURCE, "name": "WELDING"},
        ]
    }
    data = success(bulk(client, "cells", body))
    welding = Cell.objects.get(company=company, external_id="WC-WELD")
    assert data["results"] == [
        result(0, "WC-WELD", welding, "created"),
        error_result(1, "WC-WELD-2", "name", "name 'welding' is already used by another live cell."),
    ]
    assert sorted(Cell.objects.filter(company=company).values_list("name", flat=True)) == ["Cutting", "Welding"]


def test_cell_renames_swapping_case_insensitive_names_succeed(client, company, cutting):
    success(put(client, "cells", {"external_id": "WC-BEND", "external_source": SOURCE, "name": "Bending"}), 201)

    body = {
        "cells": [
            {"external_id": "WC-CUT", "external_source": SOURCE, "name": "BENDING"},
            {"external_id": "WC-BEND", "external_source": SOURCE, "name": "cutting"},
        ]
    }
    data = success(bulk(client, "cells", body))

    assert counts(data) == (2, 0, 2, 0, 0)
    assert dict(Cell.objects.filter(company=company).values_list("external_id", "name")) == {
        "WC-CUT": "BENDING",
        "WC-BEND": "cutting",
    }
