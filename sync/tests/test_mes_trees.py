"""Nested MES trees.

A job item may carry ``parts[]`` and a part ``operations[]``: the tree of one top-level item is
written or refused whole. Children inherit ``external_source``; parent links may move on update;
``sync_hash`` judges each row of a tree on its own; job, part and operation ``status`` belong to
the MES; a tombstone (``is_active: false``) soft-deletes with the job → parts → operations cascade.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from assemblies.models import AuditEvent, Cell, Job, Operation, Part, Resource

from .mes import bulk, eryxon_client, failure, put, rows, state, success

pytestmark = pytest.mark.django_db

SOURCE = "SAP"
CELLS = (("WC-CUT", "Cutting"), ("WC-BEND", "Bending"), ("WC-WELD", "Welding"))
# Columns that hold no synced data: compared only where a test says so.
BOOKKEEPING = ("id", "guid", "company_id", "created_at", "updated_at", "synced_at", "sync_hash", "deleted_at")


def make_cells(client, company) -> dict[str, Cell]:
    items = [{"external_id": external_id, "external_source": SOURCE, "name": name} for external_id, name in CELLS]
    data = success(bulk(client, "cells", {"cells": items}))
    assert (data["created"], data["errors"]) == (3, 0)
    return {cell.name: cell for cell in Cell.objects.filter(company=company)}


@pytest.fixture
def cells(client, company) -> dict[str, Cell]:
    return make_cells(client, company)


def op(external_id: str, sequence: int, cell: str = "Cutting", **fields) -> dict:
    return {
        "external_id": external_id,
        "operation_name": f"Step {sequence}",
        "sequence": sequence,
        "cell_name": cell,
        **fields,
    }


def part(external_id: str, number: str, *operations: dict, **fields) -> dict:
    item = {"external_id": external_id, "part_number": number, **fields}
    if operations:
        item["operations"] = list(operations)
    return item


def job(external_id: str, number: str, *parts: dict, **fields) -> dict:
    item = {"external_id": external_id, "external_source": SOURCE, "job_number": number, **fields}
    if parts:
        item["parts"] = list(parts)
    return item


def tree(tag: str = "SO-1", **job_fields) -> dict:
    """A job with two parts: the first with two operations, the second with one."""
    return job(
        tag,
        f"JOB-{tag}",
        part(f"{tag}-10", "BRACKET", op(f"{tag}-10-010", 1, "Cutting"), op(f"{tag}-10-020", 2, "Bending")),
        part(f"{tag}-20", "PLATE", op(f"{tag}-20-010", 1, "Welding")),
        **{"customer": "Acme", **job_fields},
    )


def links(company) -> dict[str, list[tuple]]:
    """The stored tree as (source, external_id, parent's external_id, business key, …, live) tuples."""
    return {
        "jobs": sorted(
            (j.external_source, j.external_id, j.job_number, j.is_active) for j in Job.objects.filter(company=company)
        ),
        "parts": sorted(
            (p.external_source, p.external_id, p.job.external_id, p.part_number, p.is_active)
            for p in Part.objects.filter(company=company).select_related("job")
        ),
        "operations": sorted(
            (o.external_source, o.external_id, o.part.external_id, o.cell.name, o.sequence, o.is_active)
            for o in Operation.objects.filter(company=company).select_related("part", "cell")
        ),
    }


TREE_LINKS = {
    "jobs": [("SAP", "SO-1", "JOB-SO-1", True)],
    "parts": [("SAP", "SO-1-10", "SO-1", "BRACKET", True), ("SAP", "SO-1-20", "SO-1", "PLATE", True)],
    "operations": [
        ("SAP", "SO-1-10-010", "SO-1-10", "Cutting", 1, True),
        ("SAP", "SO-1-10-020", "SO-1-10", "Bending", 2, True),
        ("SAP", "SO-1-20-010", "SO-1-20", "Welding", 1, True),
    ],
}


def by_external_id(plural: str, company) -> dict:
    return {row.external_id: row for row in rows(plural, company)}


# --- Writing a tree -----------------------------------------------------------------------------


def test_a_nested_job_writes_the_whole_tree(client, company, cells):
    data = success(put(client, "jobs", tree()), 201)

    stored = Job.objects.get(company=company)
    assert data == {"action": "created", "id": str(stored.guid), "external_id": "SO-1"}
    assert links(company) == TREE_LINKS
    assert stored.customer == "Acme"
    operations = by_external_id("operations", company)
    assert [operations[e].operation_name for e in ("SO-1-10-010", "SO-1-10-020", "SO-1-20-010")] == [
        "Step 1",
        "Step 2",
        "Step 1",
    ]
    assert [o.cell_id for o in operations.values()] == [cells["Cutting"].id, cells["Bending"].id, cells["Welding"].id]
    for row in [stored, *rows("parts", company), *operations.values()]:
        assert row.is_active and row.deleted_at is None
        assert row.synced_at is not None and len(row.sync_hash) == 64
    # Defaults of an insert: the MES-owned status starts where the MES starts it.
    assert stored.status == "not_started" and stored.priority == 0
    assert {p.status for p in rows("parts", company)} == {"not_started"}
    assert {p.quantity for p in rows("parts", company)} == {1}
    assert {o.status for o in operations.values()} == {"pending"}


def test_one_bad_operation_deep_in_the_tree_refuses_the_whole_tree(client, company, cells):
    item = tree()
    item["parts"][0]["operations"][1]["cell_name"] = "Painting"

    error = failure(put(client, "jobs", item), 422, "VALIDATION_ERROR")

    assert error == {
        "code": "VALIDATION_ERROR",
        "message": "parts[0].operations[1].cell_name: No live cell named 'Painting' in this company.",
        "details": [
            {
                "field": "parts[0].operations[1].cell_name",
                "code": "cell_not_found",
                "message": "No live cell named 'Painting' in this company.",
            }
        ],
    }
    assert not Job.objects.filter(company=company).exists()
    assert not Part.objects.filter(company=company).exists()
    assert not Operation.objects.filter(company=company).exists()


def test_a_tree_without_any_external_source_names_every_item_that_lacks_one(client, company, cells):
    item = tree()
    del item["external_source"]  # nothing to inherit: not the root, nor its parts and operations

    error = failure(put(client, "jobs", item), 422, "VALIDATION_ERROR")

    inherited = "This field is required: the enclosing item has none to inherit."
    assert error["message"] == "external_source: This field is required. (and 5 more)"
    assert error["details"] == [
        {"field": "external_source", "code": "required", "message": "This field is required."},
        *(
            {"field": f"{path}.external_source", "code": "required", "message": inherited}
            for path in (
                "parts[0]",
                "parts[0].operations[0]",
                "parts[0].operations[1]",
                "parts[1]",
                "parts[1].operations[0]",
            )
        ),
    ]
    assert state(company, "jobs", "parts", "operations") == {"jobs": {}, "parts": {}, "operations": {}}


def test_every_error_of_a_tree_is_reported_with_its_nested_path(client, company, cells):
    item = tree()
    item["parts"][1]["quantity"] = 0
    item["parts"][0]["operations"][0]["sequence"] = "1"
    item["parts"][1]["operations"][0]["surprise"] = True

    error = failure(put(client, "jobs", item), 422, "VALIDATION_ERROR")

    assert sorted(detail["field"] for detail in error["details"]) == [
        "parts[0].operations[0].sequence",
        "parts[1].operations[0].surprise",
        "parts[1].quantity",
    ]
    assert {detail["field"]: detail["code"] for detail in error["details"]}["parts[1].operations[0].surprise"] == (
        "unknown_field"
    )
    assert error["message"].endswith("(and 2 more)")
    assert state(company, "jobs", "parts", "operations") == {"jobs": {}, "parts": {}, "operations": {}}


def test_a_bad_tree_for_an_existing_job_leaves_every_stored_row_as_it_was(client, company, cells):
    success(put(client, "jobs", tree()), 201)
    before = state(company)
    item = tree(customer="Changed")
    item["parts"][0]["quantity"] = 5  # would update the part
    item["parts"][1]["operations"].append(op("SO-1-20-020", 2, "Cutting"))  # would insert an operation
    item["parts"][1]["operations"][0]["cell_name"] = "Nowhere"  # … but this one is wrong

    error = failure(put(client, "jobs", item), 422, "VALIDATION_ERROR")

    assert error["details"] == [
        {
            "field": "parts[1].operations[0].cell_name",
            "code": "cell_not_found",
            "message": "No live cell named 'Nowhere' in this company.",
        }
    ]
    assert state(company) == before


def test_bulk_partial_mode_reports_a_bad_tree_at_its_index_and_writes_the_others(client, company, cells):
    bad = tree("SO-2")
    bad["parts"][1]["operations"][0]["cell_name"] = "Painting"

    data = success(bulk(client, "jobs", {"jobs": [tree("SO-1"), bad, tree("SO-3")]}))

    jobs = by_external_id("jobs", company)
    assert data == {
        "total": 3,
        "created": 2,
        "updated": 0,
        "unchanged": 0,
        "errors": 1,
        "results": [
            {"index": 0, "external_id": "SO-1", "id": str(jobs["SO-1"].guid), "action": "created"},
            {
                "index": 1,
                "external_id": "SO-2",
                "id": None,
                "action": "error",
                "error": "parts[1].operations[0].cell_name: No live cell named 'Painting' in this company.",
                "details": [
                    {
                        "field": "parts[1].operations[0].cell_name",
                        "code": "cell_not_found",
                        "message": "No live cell named 'Painting' in this company.",
                    }
                ],
            },
            {"index": 2, "external_id": "SO-3", "id": str(jobs["SO-3"].guid), "action": "created"},
        ],
    }
    assert set(jobs) == {"SO-1", "SO-3"}
    assert set(by_external_id("parts", company)) == {"SO-1-10", "SO-1-20", "SO-3-10", "SO-3-20"}
    assert set(by_external_id("operations", company)) == {
        "SO-1-10-010",
        "SO-1-10-020",
        "SO-1-20-010",
        "SO-3-10-010",
        "SO-3-10-020",
        "SO-3-20-010",
    }


def test_bulk_atomic_mode_refuses_every_tree_for_one_bad_one(client, company, cells):
    bad = tree("SO-2")
    bad["parts"][1]["operations"][0]["cell_name"] = "Painting"

    error = failure(bulk(client, "jobs", {"jobs": [tree("SO-1"), bad]}, query="atomic=true"), 422, "VALIDATION_ERROR")

    assert error == {
        "code": "VALIDATION_ERROR",
        "message": "1 item is invalid; nothing was written.",
        "details": [
            {
                "field": "jobs[1].parts[1].operations[0].cell_name",
                "code": "cell_not_found",
                "message": "No live cell named 'Painting' in this company.",
            }
        ],
    }
    assert state(company, "jobs", "parts", "operations") == {"jobs": {}, "parts": {}, "operations": {}}


# --- external_source and nested references ----------------------------------------------------------


def test_children_inherit_external_source_and_may_send_their_own(client, company, cells):
    item = job(
        "SO-1",
        "JOB-1",
        part("P-1", "A", op("O-1", 1)),
        part("P-2", "B", op("O-2", 1), op("O-3", 2, external_source="MES"), external_source="PLM"),
    )

    success(put(client, "jobs", item), 201)

    assert links(company) == {
        "jobs": [("SAP", "SO-1", "JOB-1", True)],
        "parts": [("PLM", "P-2", "SO-1", "B", True), ("SAP", "P-1", "SO-1", "A", True)],
        "operations": [
            ("MES", "O-3", "P-2", "Cutting", 2, True),
            ("PLM", "O-2", "P-2", "Cutting", 1, True),  # from its part, not from the job
            ("SAP", "O-1", "P-1", "Cutting", 1, True),
        ],
    }
    # Each row is keyed under its own source: the same tree again finds every row.
    before = state(company)
    assert success(put(client, "jobs", item), 200)["action"] == "unchanged"
    assert state(company) == before


def test_a_nested_part_may_name_its_own_job_but_no_other(client, company, cells):
    item = job(
        "SO-1",
        "JOB-1",
        part("P-1", "A", op("O-1", 1, part_external_id="P-1"), job_external_id="SO-1"),
    )
    data = success(put(client, "jobs", item), 201)
    assert data == {"action": "created", "id": str(Job.objects.get(company=company).guid), "external_id": "SO-1"}
    assert links(company)["operations"] == [("SAP", "O-1", "P-1", "Cutting", 1, True)]

    before = state(company)
    wrong = job("SO-1", "JOB-1", part("P-1", "A", op("O-1", 1, part_external_id="P-9"), job_external_id="SO-2"))
    error = failure(put(client, "jobs", wrong), 422, "VALIDATION_ERROR")
    assert error["details"] == [
        {
            "field": "parts[0].job_external_id",
            "code": "parent_mismatch",
            "message": "Nested in job 'SO-1'; job_external_id must name it or be left out.",
        },
        {
            "field": "parts[0].operations[0].part_external_id",
            "code": "parent_mismatch",
            "message": "Nested in part 'P-1'; part_external_id must name it or be left out.",
        },
    ]
    assert state(company) == before


# --- Moving rows ------------------------------------------------------------------------------------


def test_a_part_moves_to_another_job_at_the_top_level_and_nested(client, company, cells):
    success(
        bulk(client, "jobs", {"jobs": [job("SO-1", "JOB-1", part("P", "BRACKET", op("O", 1))), job("SO-2", "JOB-2")]})
    )
    jobs = by_external_id("jobs", company)
    moved = Part.objects.get(company=company, external_id="P")

    data = success(
        put(
            client,
            "parts",
            {"external_id": "P", "external_source": SOURCE, "job_external_id": "SO-2", "part_number": "BRACKET"},
        )
    )

    assert data == {"action": "updated", "id": str(moved.guid), "external_id": "P"}
    assert links(company)["parts"] == [("SAP", "P", "SO-2", "BRACKET", True)]
    assert links(company)["operations"] == [("SAP", "O", "P", "Cutting", 1, True)]  # it goes with its part
    assert Part.objects.get(company=company).guid == moved.guid

    # Nested in its first job again: the job row itself is as stored, the part moves back.
    job_before = state(company, "jobs")
    data = success(put(client, "jobs", job("SO-1", "JOB-1", part("P", "BRACKET"))))

    assert data == {"action": "updated", "id": str(jobs["SO-1"].guid), "external_id": "SO-1"}
    assert links(company)["parts"] == [("SAP", "P", "SO-1", "BRACKET", True)]
    assert state(company, "jobs") == job_before  # each row of the tree is judged on its own
    assert Part.objects.get(company=company).guid == moved.guid


def test_an_operation_moves_to_another_part_and_cell(client, company, cells):
    success(put(client, "jobs", tree()), 201)
    moved = Operation.objects.get(company=company, external_id="SO-1-10-010")

    data = success(
        put(
            client,
            "operations",
            {
                "external_id": "SO-1-10-010",
                "external_source": SOURCE,
                "part_external_id": "SO-1-20",
                "cell_name": "welding",
                "operation_name": "Step 1",
                "sequence": 2,
            },
        )
    )

    assert data == {"action": "updated", "id": str(moved.guid), "external_id": "SO-1-10-010"}
    assert links(company)["operations"] == [
        ("SAP", "SO-1-10-010", "SO-1-20", "Welding", 2, True),
        ("SAP", "SO-1-10-020", "SO-1-10", "Bending", 2, True),
        ("SAP", "SO-1-20-010", "SO-1-20", "Welding", 1, True),
    ]

    # Back to its first part, nested, and to another cell named by its external id.
    item = job("SO-1", "JOB-SO-1", part("SO-1-10", "BRACKET", op("SO-1-10-010", 1, cell=None)), customer="Acme")
    del item["parts"][0]["operations"][0]["cell_name"]
    item["parts"][0]["operations"][0]["cell_external_id"] = "WC-BEND"
    data = success(put(client, "jobs", item))

    assert data["action"] == "updated"
    assert links(company)["operations"] == [
        ("SAP", "SO-1-10-010", "SO-1-10", "Bending", 1, True),
        ("SAP", "SO-1-10-020", "SO-1-10", "Bending", 2, True),
        ("SAP", "SO-1-20-010", "SO-1-20", "Welding", 1, True),
    ]
    assert Operation.objects.get(company=company, external_id="SO-1-10-010").guid == moved.guid
    assert Operation.objects.filter(company=company).count() == 3


# --- Unchanged detection (sync_hash) ------------------------------------------------------------------


def test_the_same_tree_again_is_unchanged_and_writes_nothing(client, company, cells):
    success(put(client, "jobs", tree()), 201)
    before = state(company)
    stored = Job.objects.get(company=company)

    data = success(put(client, "jobs", tree()), 200)
    assert data == {"action": "unchanged", "id": str(stored.guid), "external_id": "SO-1"}
    assert state(company) == before

    data = success(bulk(client, "jobs", {"jobs": [tree()]}))
    assert data == {
        "total": 1,
        "created": 0,
        "updated": 0,
        "unchanged": 1,
        "errors": 0,
        "results": [{"index": 0, "external_id": "SO-1", "id": str(stored.guid), "action": "unchanged"}],
    }
    assert state(company) == before


def test_a_send_of_stored_values_with_another_hash_is_unchanged(client, company, cells):
    """Merge semantics: fields left out keep their values, so a partial send of
    what is stored, or a cell named in another case, changes nothing and writes nothing."""
    success(put(client, "jobs", tree()), 201)
    before = state(company)
    stored = Job.objects.get(company=company)

    partial = {"external_id": "SO-1", "external_source": SOURCE, "customer": "Acme"}
    assert success(put(client, "jobs", partial), 200) == {
        "action": "unchanged",
        "id": str(stored.guid),
        "external_id": "SO-1",
    }
    other_case = tree()
    other_case["parts"][0]["operations"][0]["cell_name"] = "CUTTING"
    assert success(put(client, "jobs", other_case), 200)["action"] == "unchanged"
    assert state(company) == before  # no updated_at, synced_at or sync_hash moved


def test_a_tombstone_sent_again_for_a_deleted_row_is_unchanged_and_keeps_its_stamp(client, company):
    resource = {"external_id": "R-1", "external_source": SOURCE, "name": "Saw", "type": "equipment"}
    success(put(client, "resources", resource), 201)
    tombstone = {"external_id": "R-1", "external_source": SOURCE, "is_active": False}
    assert success(put(client, "resources", tombstone), 200)["action"] == "updated"
    deleted = state(company, "resources")

    again = {**tombstone, "deleted_at": "2020-01-01T00:00:00Z"}
    assert success(put(client, "resources", again), 200)["action"] == "unchanged"
    assert state(company, "resources") == deleted
    row = Resource.objects.get(company=company)
    assert not row.is_active and row.deleted_at.year == datetime.now(UTC).year


def test_changing_only_a_nested_operation_updates_only_that_row(client, company, cells):
    success(put(client, "jobs", tree()), 201)
    before = state(company)
    changed = tree()
    changed["parts"][0]["operations"][1]["notes"] = "Deburr first"
    target = Operation.objects.get(company=company, external_id="SO-1-10-020")

    data = success(put(client, "jobs", changed), 200)

    assert data == {"action": "updated", "id": str(Job.objects.get(company=company).guid), "external_id": "SO-1"}
    after = state(company)
    old, new = before["operations"].pop(target.guid), after["operations"].pop(target.guid)
    assert after == before  # every other row: not written at all
    assert new["notes"] == "Deburr first"
    assert new["synced_at"] > old["synced_at"] and new["updated_at"] > old["updated_at"]
    assert new["sync_hash"] != old["sync_hash"] and len(new["sync_hash"]) == 64
    assert {k: v for k, v in new.items() if k not in ("notes", "synced_at", "updated_at", "sync_hash")} == {
        k: v for k, v in old.items() if k not in ("notes", "synced_at", "updated_at", "sync_hash")
    }


# --- Status: MES-owned on jobs, parts, operations; ERP data on resources ------------------------------


def with_statuses(item: dict, job_status: str, part_status: str, operation_status: str) -> dict:
    item["status"] = job_status
    for nested in item["parts"]:
        nested["status"] = part_status
        for operation in nested["operations"]:
            operation["status"] = operation_status
    return item


def test_a_synced_status_is_validated_then_ignored_and_the_mes_status_survives(client, company, cells):
    data = success(put(client, "jobs", with_statuses(tree(), "completed", "in_progress", "on_hold")), 201)
    assert data["action"] == "created"
    assert Job.objects.get(company=company).status == "not_started"
    assert {p.status for p in rows("parts", company)} == {"not_started"}
    assert {o.status for o in rows("operations", company)} == {"pending"}

    # The MES moves the work on (its own writes, not sync).
    Job.objects.filter(company=company).update(status="in_progress")
    Part.objects.filter(company=company, external_id="SO-1-10").update(status="on_hold")
    Operation.objects.filter(company=company, external_id="SO-1-10-010").update(status="completed")
    before = state(company)

    # Another status only: nothing the ERP owns changed.
    data = success(put(client, "jobs", with_statuses(tree(), "not_started", "completed", "pending")), 200)
    assert data["action"] == "unchanged"
    assert state(company) == before

    changed = with_statuses(tree(customer="Acme Ltd"), "not_started", "not_started", "pending")
    changed["parts"][0]["quantity"] = 4
    changed["parts"][0]["operations"][0]["notes"] = "Laser"
    data = success(put(client, "jobs", changed), 200)
    assert data["action"] == "updated"
    stored_job = Job.objects.get(company=company)
    parts = by_external_id("parts", company)
    operations = by_external_id("operations", company)
    assert (stored_job.customer, stored_job.status) == ("Acme Ltd", "in_progress")
    assert (parts["SO-1-10"].quantity, parts["SO-1-10"].status, parts["SO-1-20"].status) == (
        4,
        "on_hold",
        "not_started",
    )
    assert (operations["SO-1-10-010"].notes, operations["SO-1-10-010"].status) == ("Laser", "completed")
    assert operations["SO-1-10-020"].status == "pending"


@pytest.mark.parametrize(
    ("where", "field"),
    [
        ("job", "status"),
        ("part", "parts[1].status"),
        ("operation", "parts[0].operations[1].status"),
    ],
)
def test_a_status_outside_the_allowed_values_is_an_error(client, company, cells, where, field):
    success(put(client, "jobs", tree()), 201)
    before = state(company)
    item = tree()
    target = {
        "job": item,
        "part": item["parts"][1],
        "operation": item["parts"][0]["operations"][1],
    }[where]
    target["status"] = "done"

    error = failure(put(client, "jobs", item), 422, "VALIDATION_ERROR")

    assert [(detail["field"], detail["code"]) for detail in error["details"]] == [(field, "invalid_choice")]
    assert state(company) == before


def test_a_resource_status_is_erp_data_and_is_written(client, company):
    resource = {"external_id": "TOOL-1", "external_source": SOURCE, "name": "Press", "type": "equipment"}
    data = success(put(client, "resources", {**resource, "status": "in_use"}), 201)
    stored = Resource.objects.get(company=company)
    assert data == {"action": "created", "id": str(stored.guid), "external_id": "TOOL-1"}
    assert stored.status == "in_use"

    data = success(put(client, "resources", {**resource, "status": "maintenance"}), 200)
    assert data == {"action": "updated", "id": str(stored.guid), "external_id": "TOOL-1"}
    stored.refresh_from_db()
    assert stored.status == "maintenance"

    assert success(put(client, "resources", {**resource, "status": "maintenance"}), 200)["action"] == "unchanged"

    # Left out: merge semantics keep it.
    assert success(put(client, "resources", {**resource, "location": "Bay 3"}), 200)["action"] == "updated"
    stored.refresh_from_db()
    assert (stored.status, stored.location) == ("maintenance", "Bay 3")

    error = failure(put(client, "resources", {**resource, "status": "broken"}), 422, "VALIDATION_ERROR")
    assert [(d["field"], d["code"]) for d in error["details"]] == [("status", "invalid_choice")]
    stored.refresh_from_db()
    assert stored.status == "maintenance"


# --- Tombstones ----------------------------------------------------------------------------------------


def test_a_job_tombstone_soft_deletes_its_parts_and_operations_with_one_stamp(client, key, company, cells):
    success(bulk(client, "jobs", {"jobs": [tree("SO-1"), tree("SO-2")]}))
    earlier = datetime(2024, 5, 1, 10, 0, tzinfo=UTC)
    tombstone = {
        "external_id": "SO-1-20-010",
        "external_source": SOURCE,
        "part_external_id": "SO-1-20",
        "is_active": False,
        "deleted_at": "2024-05-01T10:00:00Z",
    }
    assert success(put(client, "operations", tombstone))["action"] == "updated"
    other_tree = state(company)
    stored = Job.objects.get(company=company, external_id="SO-1")

    response = put(client, "jobs", {"external_id": "SO-1", "external_source": SOURCE, "is_active": False})

    assert success(response, 200) == {"action": "updated", "id": str(stored.guid), "external_id": "SO-1"}
    stored.refresh_from_db()
    stamp = stored.deleted_at
    assert stored.is_active is False and stamp is not None
    parts = by_external_id("parts", company)
    operations = by_external_id("operations", company)
    for row in (parts["SO-1-10"], parts["SO-1-20"], operations["SO-1-10-010"], operations["SO-1-10-020"]):
        assert (row.is_active, row.deleted_at) == (False, stamp)
    # Deleted before: keeps its own stamp.
    assert (operations["SO-1-20-010"].is_active, operations["SO-1-20-010"].deleted_at) == (False, earlier)
    # The other job's tree is not touched.
    after = state(company)
    for plural in ("jobs", "parts", "operations"):
        for guid, values in other_tree[plural].items():
            if values["external_id"].startswith("SO-2"):
                assert after[plural][guid] == values
    events = list(AuditEvent.objects.filter(company=company).order_by("id"))
    assert [(e.action, e.entity, e.target_guid, e.rows_touched) for e in events] == [
        ("soft_delete", "operation", operations["SO-1-20-010"].guid, 1),
        ("soft_delete", "job", stored.guid, 5),  # the job, its two parts, two live operations
    ]
    assert events[1].actor_api_key_id == key[0].pk and events[1].actor_user_id is None
    assert events[1].request_id == response["X-Request-ID"]


def test_a_later_sync_of_the_key_reactivates_the_same_rows(client, company, cells):
    success(put(client, "jobs", tree()), 201)
    guids = {
        plural: {r.external_id: r.guid for r in rows(plural, company)} for plural in ("jobs", "parts", "operations")
    }
    success(put(client, "jobs", {"external_id": "SO-1", "external_source": SOURCE, "is_active": False}))
    stamp = Job.objects.get(company=company).deleted_at

    # The job alone: only that row comes back.
    data = success(put(client, "jobs", job("SO-1", "JOB-SO-1", customer="Acme")), 200)

    assert data == {"action": "updated", "id": str(guids["jobs"]["SO-1"]), "external_id": "SO-1"}
    revived = Job.objects.get(company=company)
    assert (revived.guid, revived.is_active, revived.deleted_at) == (guids["jobs"]["SO-1"], True, None)
    assert {(r.is_active, r.deleted_at) for r in [*rows("parts", company), *rows("operations", company)]} == {
        (False, stamp)
    }

    # The whole tree: every row it names comes back, under its old guid.
    data = success(put(client, "jobs", tree()), 200)

    assert data == {"action": "updated", "id": str(guids["jobs"]["SO-1"]), "external_id": "SO-1"}
    assert links(company) == TREE_LINKS
    for plural, expected in guids.items():
        assert {r.external_id: r.guid for r in rows(plural, company)} == expected
        assert all(r.deleted_at is None for r in rows(plural, company))


def test_a_deleted_item_carrying_nested_items_is_an_error(client, company, cells):
    success(put(client, "jobs", tree()), 201)
    before = state(company)
    tombstone = {**tree(), "is_active": False}

    error = failure(put(client, "jobs", tombstone), 422, "VALIDATION_ERROR")

    assert error["details"] == [
        {
            "field": "parts",
            "code": "children_of_deleted",
            "message": "An item that is deleted (is_active false) carries no nested items.",
        }
    ]
    assert state(company) == before

    # A nested part tombstone carrying operations, in a bulk request beside a good item.
    nested = job("SO-1", "JOB-SO-1", part("SO-1-10", "BRACKET", op("SO-1-10-010", 1), is_active=False))
    data = success(bulk(client, "jobs", {"jobs": [tree("SO-5"), nested]}))

    assert (data["created"], data["errors"]) == (1, 1)
    assert data["results"][1] == {
        "index": 1,
        "external_id": "SO-1",
        "id": None,
        "action": "error",
        "error": "parts[0].operations: An item that is deleted (is_active false) carries no nested items.",
        "details": [
            {
                "field": "parts[0].operations",
                "code": "children_of_deleted",
                "message": "An item that is deleted (is_active false) carries no nested items.",
            }
        ],
    }
    after = state(company, "jobs", "parts", "operations")
    for plural in ("jobs", "parts", "operations"):
        assert {guid: after[plural][guid] for guid in before[plural]} == before[plural]
    assert Job.objects.filter(company=company, external_id="SO-5", is_active=True).exists()


# --- One nested request or five flat ones --------------------------------------------------------------


def synced_rows(company) -> dict[str, list[dict]]:
    """The synced data of every MES row, parents by external id: comparable across companies."""

    def clean(values: dict, **parents) -> dict:
        kept = {k: v for k, v in values.items() if k not in BOOKKEEPING and not k.endswith("_id") or k == "external_id"}
        return {**kept, **parents}

    cells = {c.id: c.external_id for c in Cell.objects.filter(company=company)}
    jobs = {j.id: j.external_id for j in Job.objects.filter(company=company)}
    parts = {p.id: p.external_id for p in Part.objects.filter(company=company)}
    result = {
        "cells": [clean(v) for v in Cell.objects.filter(company=company).values()],
        "resources": [clean(v) for v in Resource.objects.filter(company=company).values()],
        "jobs": [clean(v) for v in Job.objects.filter(company=company).values()],
        "parts": [clean(v, job=jobs[v["job_id"]]) for v in Part.objects.filter(company=company).values()],
        "operations": [
            clean(v, part=parts[v["part_id"]], cell=cells[v["cell_id"]])
            for v in Operation.objects.filter(company=company).values()
        ],
    }
    return {plural: sorted(values, key=lambda v: v["external_id"]) for plural, values in result.items()}


RESOURCES = [{"external_id": "TOOL-1", "external_source": SOURCE, "name": "Press", "type": "tooling"}]


def test_five_flat_requests_in_order_give_the_rows_of_one_nested_job(client, company, other_company, make_api_key):
    make_cells(client, company)
    success(bulk(client, "resources", {"resources": RESOURCES}))
    success(put(client, "jobs", tree()), 201)

    flat = eryxon_client(make_api_key(company=other_company)[1])
    make_cells(flat, other_company)
    success(bulk(flat, "resources", {"resources": RESOURCES}))
    nested = tree()
    parts = nested.pop("parts")
    success(put(flat, "jobs", nested), 201)
    part_items = [
        {"external_source": SOURCE, "job_external_id": "SO-1", **{k: v for k, v in p.items() if k != "operations"}}
        for p in parts
    ]
    data = success(bulk(flat, "parts", {"parts": part_items}))
    assert (data["created"], data["errors"]) == (2, 0)
    operation_items = [
        {"external_source": SOURCE, "part_external_id": p["external_id"], **o} for p in parts for o in p["operations"]
    ]
    data = success(bulk(flat, "operations", {"operations": operation_items}))
    assert (data["created"], data["errors"]) == (3, 0)

    assert links(other_company) == TREE_LINKS
    assert synced_rows(other_company) == synced_rows(company)
