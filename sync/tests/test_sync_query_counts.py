"""The number of queries of a sync request does not grow with the batch.

Each case runs the same kind of request at 10 and at 1000 items and compares the number of SQL
statements the request issued (``executemany`` counts once, as it is one statement sent once).
The API key is marked as used just before each measured request, so authentication issues no
``last_used_at`` UPDATE.
"""

from __future__ import annotations

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from .factories import MODELS, SyncClient, freshen_key

SIZES = (10, 1000)


def build_items(writer: SyncClient, plural: str, tree, count: int, tag: str) -> list[dict]:
    links = {
        "projects": {},
        "components": {"project_guid": tree.project},
        "assemblies": {"project_guid": tree.project, "component_guid": tree.component},
        "pieces": {"project_guid": tree.project, "component_guid": tree.component, "assembly_guid": tree.assembly},
        "articles": {"project_guid": tree.project, "component_guid": tree.component},
    }[plural]
    fields = {
        "projects": lambda n: {"code": f"{tag}-{n}", "company_name": tag},
        "components": lambda n: {"code": f"{tag}-{n}", "designation": tag},
        "assemblies": lambda n: {"trolley": f"{tag}-{n}", "cell_number": n},
        "pieces": lambda n: {"piece_id": f"{tag}-{n}", "barcode": tag, "outer_length": n, "client": tag},
        "articles": lambda n: {"code": f"{tag}-{n}", "quantity": n + 0.5},
    }[plural]
    return [writer.item(plural, **links, **fields(n)) for n in range(count)]


def measured(writer: SyncClient, key, plural: str, items: list[dict], **options) -> tuple[dict, list[str]]:
    freshen_key(key[0])
    with CaptureQueriesContext(connection) as queries:
        body = writer.ok(plural, items, **options)
    return body, [query["sql"] for query in queries.captured_queries]


def writes(statements: list[str]) -> list[str]:
    """The INSERT and UPDATE statements (an ``executemany`` is logged as ``"<n> times: <sql>"``)."""
    plain = [re.sub(r"^\d+ times: ", "", sql) for sql in statements]
    return [sql for sql in plain if sql.lstrip().upper().startswith(("INSERT", "UPDATE"))]


@pytest.mark.parametrize("plural", list(MODELS))
def test_queries_of_inserts_updates_and_unchanged_do_not_grow_with_the_batch(writer, key, company, plural):
    tree = writer.tree(pieces=0, articles=0)
    counts: dict[str, list[int]] = {"insert": [], "update": [], "unchanged": []}
    for size in SIZES:
        items = build_items(writer, plural, tree, size, tag=f"v1-{size}")
        body, statements = measured(writer, key, plural, items)
        assert body["inserted"] == size
        assert len(writes(statements)) == 2  # the rows in one statement, and the sync run
        counts["insert"].append(len(statements))
        assert MODELS[plural].objects.filter(company=company, guid__in=[i["guid"] for i in items]).count() == size

        changed = build_items(writer, plural, tree, size, tag=f"v2-{size}")
        for item, old in zip(changed, items, strict=True):
            item["guid"] = old["guid"]
        body, statements = measured(writer, key, plural, changed)
        assert body["updated"] == size
        assert len(writes(statements)) == 2
        counts["update"].append(len(statements))

        body, statements = measured(writer, key, plural, changed)
        assert body["unchanged"] == size
        assert len(writes(statements)) == 1  # only the sync run
        counts["unchanged"].append(len(statements))

    for kind, (small, large) in counts.items():
        assert small == large, (kind, counts)


def test_queries_of_a_mixed_piece_batch_do_not_grow(writer, key, company):
    tree = writer.tree(pieces=0, articles=0)
    counts = []
    for size in SIZES:
        existing = build_items(writer, "pieces", tree, size, tag=f"old-{size}")
        writer.ok("pieces", existing)
        third = size // 3
        batch = build_items(writer, "pieces", tree, size, tag=f"new-{size}")
        for n in range(third):  # a third updates, a third is unchanged, the rest inserts
            batch[n] = {**existing[n], "outer_length": -n - 1}
            batch[third + n] = existing[third + n]
        body, statements = measured(writer, key, "pieces", batch)
        assert (body["updated"], body["unchanged"], body["inserted"]) == (third, third, size - 2 * third)
        counts.append(len(statements))

    assert counts[0] == counts[1], counts


@pytest.mark.parametrize("plural", ["components", "pieces"])
def test_queries_of_soft_deletes_do_not_grow_with_the_batch(writer, key, company, plural):
    """Soft-deleting many rows in one request: one UPDATE per descendant table, whatever the count."""
    tree = writer.tree(pieces=0, articles=0)
    counts = []
    for size in SIZES:
        items = build_items(writer, plural, tree, size, tag=f"del-{size}")
        writer.ok(plural, items)
        tombstones = [writer.item(plural, guid=item["guid"], is_active=False) for item in items]
        body, statements = measured(writer, key, plural, tombstones)
        assert body["updated"] == size
        assert not MODELS[plural].objects.filter(guid__in=[i["guid"] for i in items], is_active=True).exists()
        counts.append(len(statements))

    assert counts[0] == counts[1], counts
