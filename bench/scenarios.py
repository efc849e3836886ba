"""The scenarios: each runs ours (real HTTP), the floor (psycopg) and the naive endpoint (HTTP).

Runs are interleaved (ours, floor, naive, ours, floor, …) so drift of a noisy machine hits all
three alike; every figure is the median of its runs. Every response is checked (status and
inserted / updated / unchanged counts): a scenario whose requests did not do what it claims
is reported as an error, not as a figure. Before each scenario's timed runs the planner
statistics are refreshed (``ANALYZE``, untimed), as autovacuum does on a live server: a fresh
database that grew by tens of thousands of rows without statistics gets plans no server keeps.
"""

from __future__ import annotations

import json
import statistics
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

from django.utils import timezone

from .data import ASSEMBLIES, OPERATIONS, PIECES, Parents, Shape, new_guids
from .floor import Floor
from .server import Client

OURS_SYNC = "/api/v1/sync/{plural}"
MES_BULK_SYNC = "/api-{plural}/bulk-sync"
NAIVE_SYNC = "/bench/naive/sync/{plural}"
OURS_LIST = "/api/v1/pieces"
NAIVE_LIST = "/bench/naive/pieces"
LIST_ROWS = 10_000
LIST_PAGE = 1000


class ScenarioError(RuntimeError):
    pass


@dataclass
class Bench:
    port: int
    api_key: str
    conninfo: str
    parents: Parents
    runs: int
    naive_runs: int
    floor: Floor
    clients: list[Client] = field(default_factory=list)
    _serial: int = 0

    def client(self) -> Client:
        client = Client(self.port, self.api_key)
        self.clients.append(client)
        return client

    def close(self) -> None:
        for client in self.clients:
            client.close()

    def numbers(self, count: int) -> range:
        """Distinct item numbers (piece ids) across the whole run."""
        start = self._serial
        self._serial += count
        return range(start, start + count)


@dataclass
class Result:
    name: str
    items: int
    requests: int
    ours: list[float] = field(default_factory=list)
    floor: list[float] = field(default_factory=list)
    naive: list[float] = field(default_factory=list)
    skipped: str | None = None
    error: str | None = None
    note: str = ""

    def as_json(self) -> dict:
        ours, floor, naive = (
            statistics.median(values) if values else None for values in (self.ours, self.floor, self.naive)
        )
        body = {
            "name": self.name,
            "items": self.items,
            "requests": self.requests,
            "ours_ms": _round(ours),
            "floor_ms": _round(floor),
            "naive_ms": _round(naive),
            "ratio_to_floor": _round(ours / floor, 2) if ours and floor else None,
            "speedup_vs_naive": _round(naive / ours, 1) if ours and naive else None,
            "runs": {"ours": len(self.ours), "floor": len(self.floor), "naive": len(self.naive)},
        }
        if self.ours:
            body["ours_range_ms"] = [_round(min(self.ours)), _round(max(self.ours))]
        if self.note:
            body["note"] = self.note
        if self.skipped:
            body["skipped"] = self.skipped
        if self.error:
            body["error"] = self.error
        return body


def _round(value, digits: int = 1):
    return None if value is None else round(value, digits)


def body_of(shape: Shape, items: list[dict]) -> bytes:
    return json.dumps({shape.plural: items}, separators=(",", ":")).encode()


def items_for(bench: Bench, shape: Shape, guids: list[uuid.UUID], rev: int, numbers: range | None = None) -> list[dict]:
    numbers = numbers if numbers is not None else bench.numbers(len(guids))
    return [shape.item(guid, n, rev, bench.parents) for n, guid in zip(numbers, guids, strict=True)]


def rows_for(bench: Bench, shape: Shape, items: list[dict]) -> list[tuple]:
    now = timezone.now()
    return [shape.row(item, bench.parents, now) for item in items]


def expect(answer: dict, who: str, **counts: int) -> None:
    for name, wanted in counts.items():
        if answer.get(name) != wanted:
            got = {key: answer.get(key) for key in ("inserted", "updated", "unchanged")}
            raise ScenarioError(f"{who}: expected {counts}, got {got}")


def post(client: Client, path: str, shape: Shape, items: list[dict], who: str, **counts: int) -> float:
    answer, elapsed = client.post_json(path.format(plural=shape.plural), body_of(shape, items))
    if path == MES_BULK_SYNC:  # Eryxon's envelope and words
        data = answer.get("data") or {}
        answer = {"inserted": data.get("created"), "updated": data.get("updated"), "unchanged": data.get("unchanged")}
    expect(answer, who, **counts)
    return elapsed


def seed(bench: Bench, client: Client, shape: Shape, count: int) -> tuple[list[uuid.UUID], range]:
    """``count`` rows written through our endpoint (untimed), rev 0."""
    guids, numbers = new_guids(count), bench.numbers(count)
    post(client, OURS_SYNC, shape, items_for(bench, shape, guids, 0, numbers), "seed", inserted=count)
    return guids, numbers


# --- Scenarios ---------------------------------------------------------------------------------


def new_rows(bench: Bench, shape: Shape, name: str, count: int = 1000) -> Result:
    """``count`` rows never seen before, per request (fresh guids every run, for all three)."""
    result = Result(name, count, 1)
    client = bench.client()
    bench.floor.analyze()
    for run in range(bench.runs):
        items = items_for(bench, shape, new_guids(count), 0)
        result.ours.append(post(client, OURS_SYNC, shape, items, "ours", inserted=count))
        items = items_for(bench, shape, new_guids(count), 0)
        result.floor.append(bench.floor.upsert(shape, rows_for(bench, shape, items)))
        if run < bench.naive_runs:
            items = items_for(bench, shape, new_guids(count), 0)
            result.naive.append(post(client, NAIVE_SYNC, shape, items, "naive", inserted=count))
    return result


def changed_pieces(bench: Bench, count: int = 1000, fields: tuple[str, ...] = ()) -> Result:
    """``count`` stored pieces, every one changed (a new revision every run).

    Without ``fields`` every field of every item changes (the worst case, and the one the
    targets are judged on); with ``fields`` only those change, the rest is sent as stored.
    """
    if fields:
        name, note = f"changed_pieces_1000_{len(fields)}_fields", f"only {', '.join(fields)} change"
    else:
        name, note = "changed_pieces_1000", "every field of every item changes each run"
    result = Result(name, count, 1, note=note)
    client = bench.client()
    sets = {who: seed(bench, client, PIECES, count) for who in ("ours", "floor", "naive")}

    def revision(who: str, rev: int) -> list[dict]:
        guids, numbers = sets[who]
        if not fields:
            return items_for(bench, PIECES, guids, rev, numbers)
        items = items_for(bench, PIECES, guids, 0, numbers)
        for item in items:
            for field_name in fields:
                value = item[field_name]
                item[field_name] = value + rev if isinstance(value, int) else f"{value}/r{rev}"
        return items

    bench.floor.analyze()
    for run in range(bench.runs):
        rev = run + 1
        result.ours.append(post(client, OURS_SYNC, PIECES, revision("ours", rev), "ours", updated=count))
        result.floor.append(bench.floor.upsert(PIECES, rows_for(bench, PIECES, revision("floor", rev))))
        if run < bench.naive_runs:
            result.naive.append(post(client, NAIVE_SYNC, PIECES, revision("naive", rev), "naive", updated=count))
    return result


def unchanged_pieces(bench: Bench, count: int = 1000) -> Result:
    """``count`` stored pieces sent again exactly as stored (the floor and naive rewrite them)."""
    result = Result("unchanged_pieces_1000", count, 1, note="floor and naive rewrite the rows; ours skips them")
    client = bench.client()
    sets = {who: seed(bench, client, PIECES, count) for who in ("ours", "floor", "naive")}
    ours_items = items_for(bench, PIECES, sets["ours"][0], 0, sets["ours"][1])
    floor_rows = rows_for(bench, PIECES, items_for(bench, PIECES, sets["floor"][0], 0, sets["floor"][1]))
    naive_items = items_for(bench, PIECES, sets["naive"][0], 0, sets["naive"][1])
    bench.floor.analyze()
    for run in range(bench.runs):
        result.ours.append(post(client, OURS_SYNC, PIECES, ours_items, "ours", unchanged=count))
        result.floor.append(bench.floor.upsert(PIECES, floor_rows))
        if run < bench.naive_runs:
            result.naive.append(post(client, NAIVE_SYNC, PIECES, naive_items, "naive", updated=count))
    return result


def small_batches(bench: Bench, requests: int = 100, size: int = 10) -> Result:
    """``requests`` sequential requests of ``size`` new pieces; the figure is the total."""
    result = Result(f"small_batches_{requests}x{size}", requests * size, requests, note="total of all requests")
    client = bench.client()
    bench.floor.analyze()

    def batches():
        return [items_for(bench, PIECES, new_guids(size), 0) for _ in range(requests)]

    for run in range(bench.runs):
        result.ours.append(sum(post(client, OURS_SYNC, PIECES, b, "ours", inserted=size) for b in batches()))
        rows = [rows_for(bench, PIECES, b) for b in batches()]
        result.floor.append(sum(bench.floor.upsert(PIECES, batch) for batch in rows))
        if run < bench.naive_runs:
            result.naive.append(sum(post(client, NAIVE_SYNC, PIECES, b, "naive", inserted=size) for b in batches()))
    return result


def _two_at_once(work: Callable[[int], object]) -> tuple[float, list]:
    """Run ``work(0)`` and ``work(1)`` in two threads started together; wall ms and their results."""
    barrier = threading.Barrier(3)
    results: list = [None, None]
    errors: list[BaseException] = []

    def run(which: int) -> None:
        try:
            barrier.wait(timeout=60)
            results[which] = work(which)
        except BaseException as error:  # noqa: BLE001 - reported to the main thread below
            errors.append(error)

    threads = [threading.Thread(target=run, args=(which,), daemon=True) for which in (0, 1)]
    for thread in threads:
        thread.start()
    barrier.wait(timeout=60)
    started = time.perf_counter()
    for thread in threads:
        thread.join(timeout=600)
    elapsed = (time.perf_counter() - started) * 1000
    if any(thread.is_alive() for thread in threads):
        raise ScenarioError("a concurrent client did not finish within 600 s")
    if errors:
        raise ScenarioError(f"a concurrent client failed: {errors[0]}")
    return elapsed, results


def concurrent_clients(bench: Bench, count: int = 1000, overlap: int = 500) -> Result:
    """Two clients at once, ``count`` new pieces each, ``overlap`` of them the same guids.

    The second client sends another revision of the shared rows, so whichever commits second
    updates them: together 1500 inserted and 500 updated, whatever the interleaving.
    """
    total = 2 * count - overlap
    result = Result(f"concurrent_2x{count}_overlap{overlap}", total, 2, note="wall time until both answered")
    clients = [bench.client(), bench.client()]
    second_floor = Floor(bench.conninfo)
    floors = [bench.floor, second_floor]

    def halves():
        guids, numbers = new_guids(total), bench.numbers(total)
        first = items_for(bench, PIECES, guids[:count], 0, numbers[:count])
        second = items_for(bench, PIECES, guids[count - overlap :], 1, numbers[count - overlap :])
        return first, second

    def check(answers: list[dict], who: str) -> None:
        inserted = sum(answer["inserted"] for answer in answers)
        updated = sum(answer["updated"] for answer in answers)
        if (inserted, updated) != (total, overlap):
            raise ScenarioError(f"{who}: expected {total} inserted and {overlap} updated, got {inserted} and {updated}")

    def over_http(path: str, who: str) -> float:
        parts = halves()
        bodies = [body_of(PIECES, part) for part in parts]
        elapsed, answers = _two_at_once(
            lambda which: clients[which].post_json(path.format(plural="pieces"), bodies[which])[0]
        )
        check(answers, who)
        return elapsed

    bench.floor.analyze()
    try:
        for run in range(bench.runs):
            result.ours.append(over_http(OURS_SYNC, "ours"))
            rows = [rows_for(bench, PIECES, part) for part in halves()]
            elapsed, _ = _two_at_once(lambda which, rows=rows: floors[which].upsert(PIECES, rows[which]))
            result.floor.append(elapsed)
            if run < bench.naive_runs:
                result.naive.append(over_http(NAIVE_SYNC, "naive"))
    finally:
        second_floor.close()
    return result


def list_pieces(bench: Bench) -> Result:
    """GET 10,000 pieces in pages of 1000, if the service has a list endpoint."""
    result = Result(f"list_pieces_{LIST_ROWS}", LIST_ROWS, LIST_ROWS // LIST_PAGE, note="10 pages of 1000")
    client = bench.client()
    status, data, _elapsed = client.request("GET", f"{OURS_LIST}?limit=1")
    if status == 404:
        result.skipped = "no list endpoint yet"
        return result
    if status != 200:
        raise ScenarioError(f"GET {OURS_LIST} answered {status}: {data[:300].decode(errors='replace')}")

    # Run alone (--only), the earlier scenarios have not written 10,000 pieces yet: write them.
    status, data, _elapsed = client.request("GET", f"{OURS_LIST}?limit=1&offset={LIST_ROWS - 1}")
    if status == 200 and not json.loads(data):
        for _chunk in range(LIST_ROWS // LIST_PAGE):
            seed(bench, client, PIECES, LIST_PAGE)
    bench.floor.analyze()

    def read_all(path: str, who: str) -> float:
        total_ms, rows = 0.0, 0
        for page in range(LIST_ROWS // LIST_PAGE):
            status, data, elapsed = client.request("GET", f"{path}?limit={LIST_PAGE}&offset={page * LIST_PAGE}")
            if status != 200:
                raise ScenarioError(f"{who}: GET {path} answered {status}")
            rows += len(json.loads(data))
            total_ms += elapsed
        if rows != LIST_ROWS:
            raise ScenarioError(f"{who}: read {rows} rows, expected {LIST_ROWS}")
        return total_ms

    for run in range(bench.runs):
        result.ours.append(read_all(OURS_LIST, "ours"))
        result.floor.append(bench.floor.select_pieces(bench.parents.company_id, LIST_ROWS))
        if run < bench.naive_runs:
            result.naive.append(read_all(NAIVE_LIST, "naive"))
    return result


def mes_operations(bench: Bench, *, changed: bool, count: int = 1000) -> Result:
    """``count`` MES operations per ``POST /api-operations/bulk-sync`` (partial mode, parents by
    external id, the cell by name): new rows every run, or every stored row changed."""
    name = f"{'changed' if changed else 'new'}_operations_1000"
    result = Result(name, count, 1, note="Eryxon MES bulk-sync; no naive endpoint")
    client = bench.client()
    sets = {who: seed_mes(bench, client, count) for who in ("ours", "floor")} if changed else {}
    bench.floor.analyze()
    for run in range(bench.runs):
        if changed:
            rev = run + 1
            items = items_for(bench, OPERATIONS, sets["ours"][0], rev, sets["ours"][1])
            result.ours.append(post(client, MES_BULK_SYNC, OPERATIONS, items, "ours", updated=count))
            items = items_for(bench, OPERATIONS, sets["floor"][0], rev, sets["floor"][1])
        else:
            items = items_for(bench, OPERATIONS, new_guids(count), 0)
            result.ours.append(post(client, MES_BULK_SYNC, OPERATIONS, items, "ours", inserted=count))
            items = items_for(bench, OPERATIONS, new_guids(count), 0)
        result.floor.append(bench.floor.upsert(OPERATIONS, rows_for(bench, OPERATIONS, items)))
    return result


def seed_mes(bench: Bench, client: Client, count: int) -> tuple[list[uuid.UUID], range]:
    guids, numbers = new_guids(count), bench.numbers(count)
    items = items_for(bench, OPERATIONS, guids, 0, numbers)
    post(client, MES_BULK_SYNC, OPERATIONS, items, "seed", inserted=count)
    return guids, numbers


def warm_up(bench: Bench) -> None:
    """A few untimed requests, so both gunicorn workers have loaded everything."""
    client = bench.client()
    for shape in (PIECES, ASSEMBLIES):
        for _ in range(4):
            items = items_for(bench, shape, new_guids(100), 0)
            post(client, OURS_SYNC, shape, items, "warm-up ours", inserted=100)
            items = items_for(bench, shape, new_guids(100), 0)
            post(client, NAIVE_SYNC, shape, items, "warm-up naive", inserted=100)
            bench.floor.upsert(shape, rows_for(bench, shape, items_for(bench, shape, new_guids(100), 0)))
    for _ in range(4):
        post(
            client, MES_BULK_SYNC, OPERATIONS, items_for(bench, OPERATIONS, new_guids(100), 0), "warm-up", inserted=100
        )


SCENARIOS: list[tuple[str, Callable[[Bench], Result]]] = [
    ("new_pieces_1000", lambda bench: new_rows(bench, PIECES, "new_pieces_1000")),
    ("changed_pieces_1000", changed_pieces),
    ("changed_pieces_1000_2_fields", lambda bench: changed_pieces(bench, fields=("outer_length", "operations"))),
    ("unchanged_pieces_1000", unchanged_pieces),
    ("new_assemblies_1000", lambda bench: new_rows(bench, ASSEMBLIES, "new_assemblies_1000")),
    ("small_batches_100x10", small_batches),
    ("concurrent_2x1000_overlap500", concurrent_clients),
    ("list_pieces_10000", list_pieces),
    ("new_operations_1000", lambda bench: mes_operations(bench, changed=False)),
    ("changed_operations_1000", lambda bench: mes_operations(bench, changed=True)),
]
