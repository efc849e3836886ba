"""``--phases``: where the time of one 1000-piece sync request goes, without a profiler's overhead.

Wraps a few functions of the sync path with timers (in this process only, for the duration of
the measurement) and times every SQL statement by kind, then sends in-process requests of 1000
new, changed and unchanged pieces. Functions that no longer exist are left out, so a refactor
of the sync path makes the table shorter, not the bench fail. Phases nest: the indented ones
are part of the one above.
"""

from __future__ import annotations

import contextlib
import importlib
import re
import time
from collections import Counter

from django.db import connection

from .data import PIECES, new_guids
from .inproc import _client, _post
from .scenarios import Bench, expect, items_for

# (module, attribute path, label, depth)
PHASES = (
    ("ractory.api.parsers", "parse_json_body", "parse JSON body", 0),
    ("ractory.api.parsers", "json_depth", "depth check (json_depth)", 1),
    ("sync.runner", "sync_items", "sync_items (the engine)", 0),
    ("sync.validation", "ItemValidator.validate", "validate items", 1),
    ("sync.services", "_classify", "classify (_classify)", 1),
    ("sync.services", "_resolve_parents", "resolve parents", 2),
    ("sync.references", "ParentLink.check", "check parents", 2),
    ("sync.planning", "plan_insert", "plan inserts", 2),
    ("sync.planning", "plan_update", "plan updates / compare", 2),
    ("sync.services", "_write", "write (_write)", 1),
    ("sync.services", "upsert_rows", "upsert_rows", 2),
    ("sync.runner", "record_run", "record sync run", 0),
)
RUNS = 5
_TABLE = re.compile(r'(?:FROM|INTO|UPDATE)\s+"?(\w+)"?', re.IGNORECASE)


@contextlib.contextmanager
def _timed(totals: Counter):
    undo = []
    try:
        for module_name, path, label, _depth in PHASES:
            try:
                owner = importlib.import_module(module_name)
                *parents, name = path.split(".")
                for parent in parents:
                    owner = getattr(owner, parent)
                original = getattr(owner, name)
            except (ImportError, AttributeError):
                continue

            def timed(*args, _original=original, _label=label, **kwargs):
                started = time.perf_counter()
                try:
                    return _original(*args, **kwargs)
                finally:
                    totals[_label] += (time.perf_counter() - started) * 1000

            setattr(owner, name, timed)
            undo.append((owner, name, original))
        yield
    finally:
        for owner, name, original in reversed(undo):
            setattr(owner, name, original)


def _sql_timer(totals: Counter):
    def wrapper(execute, sql, params, many, context):
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            verb = sql.split(None, 1)[0].upper()
            table = _TABLE.search(sql)
            label = (
                f"SQL {verb} {table.group(1)}" if table and verb in {"SELECT", "INSERT", "UPDATE"} else f"SQL {verb}"
            )
            totals[label] += (time.perf_counter() - started) * 1000

    return wrapper


def phases(bench: Bench) -> str:
    client = _client(bench)
    lines = []
    for kind in ("new", "changed", "unchanged"):
        totals: Counter = Counter()
        sql: Counter = Counter()
        walls = []
        for _run in range(RUNS):
            guids, numbers = new_guids(1000), bench.numbers(1000)
            if kind != "new":
                _post(client, items_for(bench, PIECES, guids, 0, numbers))
            items = items_for(bench, PIECES, guids, 0 if kind != "changed" else 1, numbers)
            wanted = {"new": {"inserted": 1000}, "changed": {"updated": 1000}, "unchanged": {"unchanged": 1000}}[kind]
            with _timed(totals), connection.execute_wrapper(_sql_timer(sql)):
                started = time.perf_counter()
                answer = _post(client, items)
                walls.append((time.perf_counter() - started) * 1000)
            expect(answer, f"phases {kind}", **wanted)
        walls.sort()
        lines.append(f"1000 {kind} pieces, in process: median {walls[len(walls) // 2]:.0f} ms (mean per phase, ms)")
        for _module, _path, label, depth in PHASES:
            if label in totals:
                lines.append(f"  {'  ' * depth}{label:<{34 - 2 * depth}} {totals[label] / RUNS:7.1f}")
        for label, total in sql.most_common():
            if total / RUNS >= 0.5:
                lines.append(f"  {label:<34} {total / RUNS:7.1f}")
    return "\n".join(lines)
