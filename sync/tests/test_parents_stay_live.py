"""A sync writing children and a concurrent delete of their parent never leave an active child
under an inactive parent, whichever commits first (see ``assemblies.locking``). PostgreSQL
only: SQLite runs one writer at a time.

Each case runs the two requests in a fixed order (``ordering.run_in_order``): the first inside a
transaction held open after its response, the second must *wait* for it, then the first commits.
Without the parent locks the second does not wait: a DELETE commits under a sync that has read its
parent as active, and the sync's children stay active under the deleted parent.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from assemblies.models import Component, Job, Operation, Part, Piece, Project
from sync.models import SyncRun

from .factories import SyncClient, freshen_key
from .mes import bulk, eryxon_client, put, success
from .ordering import CONCURRENT_WRITERS, response_of, run_in_order

pytestmark = CONCURRENT_WRITERS

SOURCE = "SAP"
CHILDREN = 50
# --- Ractory -------------------------------------------------------------------------------------


@pytest.fixture
def writer(key, writer) -> SyncClient:
    """The shared writer, its key marked used just now: the concurrent requests then issue no
    ``last_used_at`` UPDATE of the key row."""
    freshen_key(key[0])
    return writer


def components_under(writer: SyncClient, project: str) -> Callable:
    items = [writer.new("components", project_guid=project, code=f"C-{n}") for n in range(CHILDREN)]
    return lambda: writer.post("components", items)


def delete_project(writer: SyncClient, project: str) -> Callable:
    return lambda: writer.client.delete(f"/api/v1/projects/{project}")


def tombstone_project(writer: SyncClient, project: str) -> Callable:
    return lambda: writer.post("projects", [writer.item("projects", guid=project, is_active=False)])


def active_children(model, **parent) -> int:
    return model.objects.filter(is_active=True, **parent).count()


@pytest.mark.parametrize("kill", [delete_project, tombstone_project], ids=["DELETE", "tombstone"])
def test_children_synced_first_are_cascaded_by_the_delete_that_waited(writer, company, kill):
    project = writer.project()

    outcome = run_in_order(components_under(writer, project), kill(writer, project))

    synced = response_of(outcome.first)
    assert synced.status_code == 200, synced.content[:500]
    assert synced.json()["inserted"] == CHILDREN
    assert outcome.second_waited, "the delete did not wait for the sync holding its parent"
    deleted = response_of(outcome.second)
    assert deleted.status_code in (200, 204), deleted.content[:500]
    stored = Project.objects.get(company=company, guid=project)
    assert stored.is_active is False
    assert Component.objects.filter(company=company, project=stored).count() == CHILDREN
    assert active_children(Component, project=stored) == 0
    # The cascade stamped the children with the project's time, so a restore brings them back.
    assert set(Component.objects.filter(project=stored).values_list("deleted_at", flat=True)) == {stored.deleted_at}


@pytest.mark.parametrize("kill", [delete_project, tombstone_project], ids=["DELETE", "tombstone"])
def test_a_sync_that_waited_for_the_delete_of_its_parent_refuses_the_children(writer, company, kill, problem):
    project = writer.project()

    outcome = run_in_order(kill(writer, project), components_under(writer, project))

    assert response_of(outcome.first).status_code in (200, 204)
    assert outcome.second_waited, "the sync did not wait for the delete of its parent"
    body = problem(response_of(outcome.second), 422, "validation_error")
    assert len(body["errors"]) == CHILDREN
    assert {error["code"] for error in body["errors"]} == {"parent_inactive"}
    assert {error["pointer"] for error in body["errors"]} == {f"/components/{n}/project_guid" for n in range(CHILDREN)}
    assert not Component.objects.filter(company=company).exists()
    assert SyncRun.objects.filter(company=company, entity="component", status="failed").count() == 1


def test_pieces_synced_under_a_project_deleted_meanwhile_two_levels_up_are_cascaded(writer, company):
    tree = writer.tree(pieces=0, articles=0)
    links = {"project_guid": tree.project, "component_guid": tree.component, "assembly_guid": tree.assembly}
    items = [writer.new("pieces", piece_id=f"PC-{n}", **links) for n in range(CHILDREN)]

    outcome = run_in_order(lambda: writer.post("pieces", items), delete_project(writer, tree.project))

    assert response_of(outcome.first).status_code == 200
    assert outcome.second_waited
    assert response_of(outcome.second).status_code == 204
    assert Piece.objects.filter(company=company).count() == CHILDREN
    assert active_children(Piece, company=company) == 0
    assert active_children(Component, company=company) == 0


def test_an_update_of_existing_children_that_waited_for_the_delete_is_refused(writer, company, problem):
    """An item that updates an existing row without naming its parent is checked against the
    stored parent, locked the same way."""
    project = writer.project()
    components = [writer.component(project, code=f"C-{n}") for n in range(3)]
    updates = [writer.item("components", guid=guid, designation="changed") for guid in components]

    outcome = run_in_order(delete_project(writer, project), lambda: writer.post("components", updates))

    assert response_of(outcome.first).status_code == 204
    assert outcome.second_waited
    body = problem(response_of(outcome.second), 422, "validation_error")
    assert {error["code"] for error in body["errors"]} == {"parent_inactive"}
    assert active_children(Component, company=company) == 0
    assert not Component.objects.filter(company=company, designation="changed").exists()


# --- Eryxon MES ----------------------------------------------------------------------------------


@pytest.fixture
def eryxon(make_api_key):
    key, raw = make_api_key()
    freshen_key(key)
    return eryxon_client(raw)


def make_job(eryxon, *, parts: int = 0, operations: int = 0) -> None:
    job = {"external_id": "J-1", "external_source": SOURCE, "job_number": "JOB-1"}
    if parts:
        job["parts"] = [
            {
                "external_id": f"J-1-P{p}",
                "part_number": f"PN-{p}",
                "operations": [
                    {"external_id": f"J-1-P{p}-O{o}", "operation_name": "Cut", "cell_name": "Cutting", "sequence": o}
                    for o in range(1, operations + 1)
                ],
            }
            for p in range(parts)
        ]
    success(put(eryxon, "jobs", job), 201)


def tombstone_job(eryxon) -> Callable:
    return lambda: put(eryxon, "jobs", {"external_id": "J-1", "external_source": SOURCE, "is_active": False})


def parts_under_job(eryxon) -> Callable:
    items = [
        {"external_id": f"X-{n}", "external_source": SOURCE, "job_external_id": "J-1", "part_number": f"X-{n}"}
        for n in range(CHILDREN)
    ]
    return lambda: bulk(eryxon, "parts", {"parts": items})


def operations_under_part(eryxon) -> Callable:
    items = [
        {
            "external_id": f"OP-{n}",
            "external_source": SOURCE,
            "part_external_id": "J-1-P0",
            "operation_name": "Cut",
            "cell_name": "Cutting",
            "sequence": 100 + n,
        }
        for n in range(CHILDREN)
    ]
    return lambda: bulk(eryxon, "operations", {"operations": items})


@pytest.fixture
def cutting(eryxon):
    success(put(eryxon, "cells", {"external_id": "WC-CUT", "external_source": SOURCE, "name": "Cutting"}), 201)


def test_parts_synced_first_are_cascaded_by_the_job_tombstone_that_waited(eryxon, company):
    make_job(eryxon)

    outcome = run_in_order(parts_under_job(eryxon), tombstone_job(eryxon))

    assert success(response_of(outcome.first))["created"] == CHILDREN
    assert outcome.second_waited
    assert success(response_of(outcome.second))["action"] == "updated"
    assert Job.objects.get(company=company).is_active is False
    assert Part.objects.filter(company=company).count() == CHILDREN
    assert active_children(Part, company=company) == 0


def test_a_parts_sync_that_waited_for_the_job_tombstone_refuses_every_part(eryxon, company):
    make_job(eryxon)

    outcome = run_in_order(tombstone_job(eryxon), parts_under_job(eryxon))

    assert success(response_of(outcome.first))["action"] == "updated"
    assert outcome.second_waited
    data = success(response_of(outcome.second))
    assert data["errors"] == CHILDREN and data["created"] == 0
    assert {result["details"][0]["code"] for result in data["results"]} == {"parent_inactive"}
    assert {result["details"][0]["field"] for result in data["results"]} == {"job_external_id"}
    assert not Part.objects.filter(company=company).exists()


def test_operations_synced_first_are_cascaded_by_a_tombstone_of_their_job(eryxon, company, cutting):
    """The job is the operations' grandparent: the tombstone cascades over the part the sync
    holds and then over the operations it wrote."""
    make_job(eryxon, parts=1, operations=1)

    outcome = run_in_order(operations_under_part(eryxon), tombstone_job(eryxon))

    assert success(response_of(outcome.first))["created"] == CHILDREN
    assert outcome.second_waited
    success(response_of(outcome.second))
    assert Operation.objects.filter(company=company).count() == CHILDREN + 1
    assert active_children(Operation, company=company) == 0
    assert active_children(Part, company=company) == 0


def test_an_operations_sync_that_waited_for_the_job_tombstone_refuses_every_operation(eryxon, company, cutting):
    make_job(eryxon, parts=1, operations=1)

    outcome = run_in_order(tombstone_job(eryxon), operations_under_part(eryxon))

    success(response_of(outcome.first))
    assert outcome.second_waited
    data = success(response_of(outcome.second))
    assert data["errors"] == CHILDREN
    assert {result["details"][0]["code"] for result in data["results"]} == {"parent_inactive"}
    assert Operation.objects.filter(company=company).count() == 1
    assert active_children(Operation, company=company) == 0
