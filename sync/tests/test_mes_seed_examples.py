"""The documented example requests of the Eryxon MES sync API, restated here, work as documented:
single and bulk sync of jobs, parts, operations, cells and resources, nested trees, partial errors."""

from __future__ import annotations

import pytest

from assemblies.models import Cell, Job, Operation, Part, Resource

from .mes import bulk, put, rows, success

pytestmark = pytest.mark.django_db


@pytest.fixture
def cells(client, company):
    for number, name in enumerate(["Cutting", "Bending"], start=1):
        data = success(
            put(
                client,
                "cells",
                {"external_id": f"WC-{name.upper()}", "external_source": "SAP", "name": name, "sequence": number},
            ),
            201,
        )
        assert data["action"] == "created"
    return {cell.name: cell for cell in Cell.objects.filter(company=company)}


JOB = {
    "external_id": "SO-12345",
    "external_source": "SAP",
    "job_number": "JOB-2024-001",
    "customer": "Acme Corp",
    "due_date": "2024-12-31",
    "priority": 5,
    "notes": "Synced from SAP",
}

NESTED_JOB = {
    "external_id": "SO-12345",
    "external_source": "SAP",
    "job_number": "JOB-2024-001",
    "customer": "Acme Corp",
    "parts": [
        {
            "external_id": "SO-12345-10",
            "part_number": "BRACKET-A",
            "material": "Steel 304",
            "quantity": 25,
            "operations": [
                {
                    "external_id": "SO-12345-10-010",
                    "operation_name": "Laser Cut",
                    "cell_name": "Cutting",
                    "sequence": 1,
                    "estimated_time_minutes": 30,
                },
                {
                    "external_id": "SO-12345-10-020",
                    "operation_name": "Bend 90°",
                    "cell_name": "Bending",
                    "sequence": 2,
                    "estimated_time_minutes": 15,
                },
            ],
        }
    ],
}


def test_single_job_sync_creates_then_updates_then_is_unchanged(client, company):
    data = success(put(client, "jobs", JOB), 201)
    job = Job.objects.get(company=company)
    assert data == {"action": "created", "id": str(job.guid), "external_id": "SO-12345"}
    assert (job.external_source, job.job_number, job.customer, str(job.due_date), job.priority, job.notes) == (
        "SAP",
        "JOB-2024-001",
        "Acme Corp",
        "2024-12-31",
        5,
        "Synced from SAP",
    )
    assert job.synced_at is not None and len(job.sync_hash) == 64
    first_sync = job.synced_at

    data = success(put(client, "jobs", JOB), 200)
    assert data == {"action": "unchanged", "id": str(job.guid), "external_id": "SO-12345"}
    job.refresh_from_db()
    assert job.synced_at == first_sync  # not written

    data = success(put(client, "jobs", {**JOB, "priority": 7}), 200)
    assert data == {"action": "updated", "id": str(job.guid), "external_id": "SO-12345"}
    job.refresh_from_db()
    assert job.priority == 7 and job.synced_at > first_sync
    assert Job.objects.filter(company=company).count() == 1


def test_nested_job_writes_the_whole_tree(client, company, cells):
    data = success(put(client, "jobs", NESTED_JOB), 201)
    job = Job.objects.get(company=company)
    assert data == {"action": "created", "id": str(job.guid), "external_id": "SO-12345"}
    part = Part.objects.get(company=company)
    assert (part.job_id, part.external_source, part.part_number, part.material, part.quantity) == (
        job.id,
        "SAP",
        "BRACKET-A",
        "Steel 304",
        25,
    )
    operations = rows("operations", company)
    assert [(o.part_id, o.cell_id, o.sequence, o.operation_name, o.estimated_time_minutes) for o in operations] == [
        (part.id, cells["Cutting"].id, 1, "Laser Cut", 30),
        (part.id, cells["Bending"].id, 2, "Bend 90°", 15),
    ]
    assert {o.external_source for o in operations} == {"SAP"}  # inherited

    assert success(put(client, "jobs", NESTED_JOB), 200)["action"] == "unchanged"
    changed = {**NESTED_JOB, "parts": [{**NESTED_JOB["parts"][0], "quantity": 30}]}
    assert success(put(client, "jobs", changed), 200)["action"] == "updated"
    part.refresh_from_db()
    assert part.quantity == 30


def test_bulk_jobs_sync_reports_created_and_updated_in_input_order(client, company):
    success(put(client, "jobs", {"external_id": "SO-002", "external_source": "SAP", "job_number": "JOB-002"}), 201)
    body = {
        "jobs": [
            {"external_id": "SO-001", "external_source": "SAP", "job_number": "JOB-001", "customer": "Customer A"},
            {"external_id": "SO-002", "external_source": "SAP", "job_number": "JOB-002", "customer": "Customer B"},
        ]
    }
    data = success(bulk(client, "jobs", body))
    jobs = {job.external_id: job for job in Job.objects.filter(company=company)}
    assert data == {
        "total": 2,
        "created": 1,
        "updated": 1,
        "unchanged": 0,
        "errors": 0,
        "results": [
            {"index": 0, "external_id": "SO-001", "id": str(jobs["SO-001"].guid), "action": "created"},
            {"index": 1, "external_id": "SO-002", "id": str(jobs["SO-002"].guid), "action": "updated"},
        ],
    }
    assert jobs["SO-002"].customer == "Customer B"


def test_single_and_bulk_parts_sync_link_to_their_job(client, company):
    success(
        bulk(
            client,
            "jobs",
            {"jobs": [JOB, {"external_id": "SO-001", "external_source": "SAP", "job_number": "JOB-001"}]},
        )
    )
    part = {
        "external_id": "SO-12345-10",
        "external_source": "SAP",
        "job_external_id": "SO-12345",
        "part_number": "BRACKET-A",
        "material": "Steel 304",
        "quantity": 25,
        "notes": "Handle with care",
    }
    data = success(put(client, "parts", part), 201)
    stored = Part.objects.get(company=company, external_id="SO-12345-10")
    assert data == {"action": "created", "id": str(stored.guid), "external_id": "SO-12345-10"}
    assert (stored.job.external_id, stored.notes) == ("SO-12345", "Handle with care")

    body = {
        "parts": [
            {
                "external_id": "SO-001-10",
                "external_source": "SAP",
                "job_external_id": "SO-001",
                "part_number": "PART-A",
                "quantity": 10,
            }
        ]
    }
    data = success(bulk(client, "parts", body))
    created = Part.objects.get(company=company, external_id="SO-001-10")
    assert data["results"] == [{"index": 0, "external_id": "SO-001-10", "id": str(created.guid), "action": "created"}]
    assert (created.job.external_id, created.quantity) == ("SO-001", 10)


def test_single_and_bulk_operations_sync(client, company, cells):
    success(put(client, "jobs", JOB), 201)
    success(
        put(
            client,
            "parts",
            {
                "external_id": "SO-12345-10",
                "external_source": "SAP",
                "job_external_id": "SO-12345",
                "part_number": "BRACKET-A",
            },
        ),
        201,
    )
    operation = {
        "external_id": "SO-12345-10-010",
        "external_source": "SAP",
        "part_external_id": "SO-12345-10",
        "operation_name": "Laser Cut",
        "cell_name": "Cutting",
        "sequence": 1,
        "estimated_time_minutes": 30,
        "notes": "Use 1000W laser",
    }
    data = success(put(client, "operations", operation), 201)
    stored = Operation.objects.get(company=company)
    assert data == {"action": "created", "id": str(stored.guid), "external_id": "SO-12345-10-010"}
    assert (stored.part.external_id, stored.cell_id, stored.notes) == (
        "SO-12345-10",
        cells["Cutting"].id,
        "Use 1000W laser",
    )

    second = {
        **operation,
        "external_id": "SO-12345-10-020",
        "operation_name": "Bend",
        "cell_name": "bending",
        "sequence": 2,
    }
    data = success(bulk(client, "operations", {"operations": [second]}))
    assert data["created"] == 1 and data["results"][0]["action"] == "created"
    assert Operation.objects.get(external_id="SO-12345-10-020").cell_id == cells["Bending"].id


def test_single_and_bulk_cells_sync(client, company):
    cell = {
        "external_id": "WC-CUTTING",
        "external_source": "SAP",
        "name": "Cutting",
        "color": "#3B82F6",
        "sequence": 1,
        "active": True,
    }
    data = success(put(client, "cells", cell), 201)
    stored = Cell.objects.get(company=company)
    assert data == {"action": "created", "id": str(stored.guid), "external_id": "WC-CUTTING"}
    assert (stored.name, stored.color, stored.sequence, stored.active) == ("Cutting", "#3b82f6", 1, True)
    data = success(bulk(client, "cells", {"cells": [cell, {**cell, "external_id": "WC-WELD", "name": "Welding"}]}))
    assert [r["action"] for r in data["results"]] == ["unchanged", "created"]
    assert Cell.objects.filter(company=company).count() == 2


def test_single_and_bulk_resources_sync(client, company):
    resource = {
        "external_id": "TOOL-001",
        "external_source": "SAP",
        "name": "CNC Mill #1",
        "type": "equipment",
        "description": "5-axis CNC milling machine",
        "identifier": "MILL-001",
        "location": "Building A, Bay 3",
        "status": "available",
    }
    data = success(put(client, "resources", resource), 201)
    stored = Resource.objects.get(company=company)
    assert data == {"action": "created", "id": str(stored.guid), "external_id": "TOOL-001"}
    assert (stored.type, stored.status, stored.location) == ("equipment", "available", "Building A, Bay 3")
    data = success(bulk(client, "resources", {"items": [{**resource, "status": "maintenance"}]}))
    assert data["results"] == [{"index": 0, "external_id": "TOOL-001", "id": str(stored.guid), "action": "updated"}]
    stored.refresh_from_db()
    assert stored.status == "maintenance"  # ERP data: written


def test_bulk_sync_with_errors_writes_the_valid_items(client, company):
    success(put(client, "jobs", {"external_id": "SO-002", "external_source": "SAP", "job_number": "JOB-002"}), 201)
    body = {
        "jobs": [
            {"external_id": "SO-001", "external_source": "SAP", "job_number": "JOB-001"},
            {"external_id": "SO-002", "external_source": "SAP", "job_number": "JOB-002", "customer": "B"},
            {"external_id": "SO-003", "external_source": "SAP", "job_number": "JOB-003", "due_date": "31/12/2024"},
        ]
    }
    data = success(bulk(client, "jobs", body))
    jobs = {job.external_id: job for job in Job.objects.filter(company=company)}
    assert set(jobs) == {"SO-001", "SO-002"}
    assert data["total"] == 3 and (data["created"], data["updated"], data["errors"]) == (1, 1, 1)
    assert data["results"][2] == {
        "index": 2,
        "external_id": "SO-003",
        "id": None,
        "action": "error",
        "error": "due_date: Must be a date, YYYY-MM-DD (a full ISO 8601 timestamp is reduced to its UTC date).",
        "details": [
            {
                "field": "due_date",
                "code": "invalid_date",
                "message": "Must be a date, YYYY-MM-DD (a full ISO 8601 timestamp is reduced to its UTC date).",
            }
        ],
    }
