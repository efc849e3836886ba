"""Concurrent sync requests over the same rows: overlapping upserts and a reused
``Idempotency-Key``. PostgreSQL only.

Each thread has its own client and its own database connection (Django's connections are
per thread) and closes it when done. The threads start together at a barrier; nothing waits
on a clock.
"""

from __future__ import annotations

import threading
import uuid

import pytest
from django.db import connections, transaction

from sync import idempotency

from .factories import MODELS, SyncClient, freshen_key, new_guid
from .ordering import CONCURRENT_WRITERS

pytestmark = CONCURRENT_WRITERS

ROUNDS = 3
BATCH = 1000
OVERLAP = 500


def run_together(*jobs):
    """Run each job in its own thread, released together; returns their results in order."""
    barrier = threading.Barrier(len(jobs))
    results: list = [None] * len(jobs)

    def work(index, job):
        try:
            barrier.wait()
            results[index] = job()
        except Exception as error:  # noqa: BLE001 - reported to the test, never swallowed
            results[index] = error
        finally:
            connections.close_all()

    threads = [threading.Thread(target=work, args=(index, job)) for index, job in enumerate(jobs)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def values(writer_name: str, round_number: int, n: int) -> dict:
    """What writer ``writer_name`` sends for its ``n``-th piece in ``round_number``."""
    tag = f"{writer_name}-{round_number}"
    return {"piece_id": tag, "barcode": tag, "client": tag, "outer_length": round_number * 10 + (writer_name == "B")}


@pytest.fixture
def writers(make_api_key, as_key, company):
    first_key, first_raw = make_api_key()
    second_key, second_raw = make_api_key()
    return (SyncClient(as_key(first_raw), company), first_key), (SyncClient(as_key(second_raw), company), second_key)


def test_overlapping_batches_in_opposite_orders_both_succeed_and_each_row_is_one_writers(writers, company):
    (first, first_key), (second, second_key) = writers
    tree = first.tree(pieces=0, articles=0)
    links = {"project_guid": tree.project, "component_guid": tree.component, "assembly_guid": tree.assembly}
    guids = [new_guid() for _ in range(2 * BATCH - OVERLAP)]
    first_guids = guids[:BATCH]  # ascending
    second_guids = guids[BATCH - OVERLAP :][::-1]  # the other end, descending: opposite orders
    shared = set(first_guids) & set(second_guids)
    assert len(shared) == OVERLAP

    for round_number in range(ROUNDS):
        first_items = [
            first.item("pieces", guid=g, **links, **values("A", round_number, n)) for n, g in enumerate(first_guids)
        ]
        second_items = [
            second.item("pieces", guid=g, **links, **values("B", round_number, n)) for n, g in enumerate(second_guids)
        ]
        freshen_key(first_key)
        freshen_key(second_key)

        responses = run_together(
            lambda items=first_items: first.post("pieces", items),
            lambda items=second_items: second.post("pieces", items),
        )

        for response in responses:
            assert not isinstance(response, Exception), repr(response)
            assert response.status_code == 200, (round_number, response.status_code, response.content[:1000])
            body = response.json()
            assert body["inserted"] + body["updated"] == BATCH, body | {"items": "..."}
            assert body["unchanged"] == 0
            assert [entry["index"] for entry in body["items"]] == list(range(BATCH))
        bodies = [response.json() for response in responses]
        if round_number == 0:
            # Every new guid was inserted by exactly one of the two requests.
            inserted = [{e["guid"] for e in body["items"] if e["action"] == "inserted"} for body in bodies]
            assert not inserted[0] & inserted[1]
            assert inserted[0] | inserted[1] == set(guids)
        else:
            assert all(body["updated"] == BATCH for body in bodies)

        stored = {
            str(row["guid"]): row
            for row in MODELS["pieces"]
            .objects.filter(company=company)
            .values("guid", "piece_id", "barcode", "client", "outer_length", "is_active")
        }
        assert len(stored) == len(guids)
        expected_a = values("A", round_number, 0)
        expected_b = values("B", round_number, 0)
        winners = {"A": 0, "B": 0}
        for guid, row in stored.items():
            written = {name: row[name] for name in expected_a}
            assert row["is_active"] is True
            if guid in shared:
                assert written in (expected_a, expected_b), (guid, written)  # whole rows, never a mix
                winners["A" if written == expected_a else "B"] += 1
            elif guid in first_guids:
                assert written == expected_a, (guid, written)
            else:
                assert written == expected_b, (guid, written)
        assert sum(winners.values()) == OVERLAP


def test_a_request_with_a_key_still_running_is_a_409(writers, company, problem):
    (client, key), _ = writers
    holding, release = threading.Event(), threading.Event()

    def hold():
        try:
            with transaction.atomic():
                idempotency.hold_key(company_id=company.pk, key="busy")
                holding.set()
                release.wait()
        finally:
            connections.close_all()

    holder = threading.Thread(target=hold)
    holder.start()
    try:
        assert holding.wait(timeout=30)
        response = client.post("projects", [client.new("projects")], HTTP_IDEMPOTENCY_KEY="busy")
    finally:
        release.set()
        holder.join()

    problem(response, 409, "request_in_progress")
    assert not MODELS["projects"].objects.filter(company=company).exists()
    # Once the first has finished, the key works.
    response = client.post("projects", [client.new("projects", guid=str(uuid.uuid4()))], HTTP_IDEMPOTENCY_KEY="busy")
    assert response.status_code == 200, response.content
