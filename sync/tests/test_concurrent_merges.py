"""Two syncs of the same rows at once: the later one merges its items into what the earlier one
committed, never into a stale copy (fields left out keep their stored values;
``sync.services._stored_rows``). PostgreSQL only: SQLite runs one writer at a time.

Without the row locks the second request reads the row before the first commits: it writes the
first one's fields back with their old values (a lost update), or finds its own values equal to
the stale ones and skips the row as ``unchanged`` although it commits last.
"""

from __future__ import annotations

import pytest

from assemblies.models import Component, Job

from .factories import SyncClient, freshen_key
from .mes import eryxon_client, put, success
from .ordering import CONCURRENT_WRITERS, response_of, run_in_order

pytestmark = CONCURRENT_WRITERS


@pytest.fixture
def writer(key, writer) -> SyncClient:
    """The shared writer, its key marked used just now: the concurrent requests then issue no
    ``last_used_at`` UPDATE of the key row."""
    freshen_key(key[0])
    return writer


def test_two_syncs_of_different_fields_of_one_row_keep_both(writer, company):
    project = writer.project()
    component = writer.component(project, designation="old", quantity=1)

    outcome = run_in_order(
        lambda: writer.post("components", [writer.item("components", guid=component, designation="new")]),
        lambda: writer.post("components", [writer.item("components", guid=component, quantity=7)]),
    )

    assert response_of(outcome.first).json()["updated"] == 1
    assert outcome.second_waited, "the second sync did not wait for the first one's row"
    assert response_of(outcome.second).json()["items"][0]["action"] == "updated"
    stored = Component.objects.get(company=company, guid=component)
    assert (stored.designation, stored.quantity) == ("new", 7)


def test_a_sync_that_waited_compares_its_items_with_the_committed_row(writer, company):
    """The second sends the value stored *before* the first: an update, and it wins."""
    project = writer.project()
    component = writer.component(project, quantity=1)

    outcome = run_in_order(
        lambda: writer.post("components", [writer.item("components", guid=component, quantity=5)]),
        lambda: writer.post("components", [writer.item("components", guid=component, quantity=1)]),
    )

    assert outcome.second_waited
    second = response_of(outcome.second).json()
    assert (second["updated"], second["unchanged"]) == (1, 0), second
    assert Component.objects.get(company=company, guid=component).quantity == 1


def test_a_dry_run_does_not_wait_for_a_concurrent_write(writer, company):
    project = writer.project()
    component = writer.component(project, quantity=1)

    outcome = run_in_order(
        lambda: writer.post("components", [writer.item("components", guid=component, quantity=5)]),
        lambda: writer.post(
            "components", [writer.item("components", guid=component, quantity=9)], query={"dry_run": "true"}
        ),
    )

    assert not outcome.second_waited
    dry = response_of(outcome.second).json()
    assert dry["dry_run"] is True and dry["updated"] == 1
    assert dry["items"][0]["changes"] == {"quantity": [1, 9]}  # what it saw: the committed row
    assert Component.objects.get(company=company, guid=component).quantity == 5


def test_two_mes_syncs_of_different_fields_of_one_job_keep_both(make_api_key, company):
    key, raw = make_api_key()
    freshen_key(key)
    eryxon = eryxon_client(raw)
    job = {"external_id": "J-1", "external_source": "SAP", "job_number": "JOB-1"}
    success(put(eryxon, "jobs", {**job, "customer": "Old Customer", "priority": 1}), 201)

    outcome = run_in_order(
        lambda: put(eryxon, "jobs", {**job, "customer": "New Customer"}),
        lambda: put(eryxon, "jobs", {**job, "priority": 9}),
    )

    assert success(response_of(outcome.first))["action"] == "updated"
    assert outcome.second_waited
    assert success(response_of(outcome.second))["action"] == "updated"
    stored = Job.objects.get(company=company)
    assert (stored.customer, stored.priority) == ("New Customer", 9)
