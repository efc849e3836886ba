"""In-process measurements against the bench database: SQL queries per request, and a profile.

Requests go through Django's test client (the whole middleware and DRF stack, no socket), so
``CaptureQueriesContext`` sees every statement one sync request makes.
"""

from __future__ import annotations

import cProfile
import io
import logging
import pstats

from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from .data import PIECES, new_guids
from .scenarios import OURS_SYNC, Bench, body_of, expect, items_for

SIZES = (10, 1000)


def _client(bench: Bench) -> Client:
    logging.getLogger("ractory.access").setLevel(logging.WARNING)  # no access line per in-process request
    return Client(HTTP_HOST="127.0.0.1", HTTP_X_API_KEY=bench.api_key)


def _post(client: Client, items: list[dict]) -> dict:
    response = client.post(OURS_SYNC.format(plural="pieces"), body_of(PIECES, items), content_type="application/json")
    if response.status_code != 200:
        raise RuntimeError(f"in-process sync answered {response.status_code}: {response.content[:300]!r}")
    return response.json()


def _counted(client: Client, items: list[dict], **counts: int) -> tuple[int, list[str]]:
    with CaptureQueriesContext(connection) as captured:
        answer = _post(client, items)
    expect(answer, "in-process", **counts)
    return len(captured.captured_queries), [query["sql"][:120] for query in captured.captured_queries]


def query_counts(bench: Bench) -> dict:
    """Queries of one pieces sync request, new / changed / unchanged, at 10 and at 1000 items."""
    client = _client(bench)
    _post(client, items_for(bench, PIECES, new_guids(1), 0))  # records the key's use (once a minute)
    counts: dict[str, dict[int, int]] = {"new": {}, "changed": {}, "unchanged": {}}
    statements: dict[str, list[str]] = {}
    for size in SIZES:
        guids, numbers = new_guids(size), bench.numbers(size)
        counts["new"][size], statements[f"new_{size}"] = _counted(
            client, items_for(bench, PIECES, guids, 0, numbers), inserted=size
        )
        counts["changed"][size], statements[f"changed_{size}"] = _counted(
            client, items_for(bench, PIECES, guids, 1, numbers), updated=size
        )
        counts["unchanged"][size], statements[f"unchanged_{size}"] = _counted(
            client, items_for(bench, PIECES, guids, 1, numbers), unchanged=size
        )
    return {"counts": counts, "statements_new_10": statements["new_10"]}


def profile(bench: Bench, *, top: int = 25) -> str:
    """cProfile of one in-process 1000-piece request of each kind; the top functions by own time."""
    client = _client(bench)
    guids, numbers = new_guids(1000), bench.numbers(1000)
    out = io.StringIO()
    for kind, rev, counts in (
        ("new", 0, {"inserted": 1000}),
        ("changed", 1, {"updated": 1000}),
        ("unchanged", 1, {"unchanged": 1000}),
    ):
        items = items_for(bench, PIECES, guids, rev, numbers)
        profiler = cProfile.Profile()
        profiler.enable()
        answer = _post(client, items)
        profiler.disable()
        expect(answer, f"profile {kind}", **counts)
        stats = pstats.Stats(profiler, stream=out)
        out.write(f"\n=== profile: one in-process request of 1000 {kind} pieces ===\n")
        stats.sort_stats("tottime").print_stats(top)
        stats.sort_stats("cumulative").print_stats(top)
    return out.getvalue()
