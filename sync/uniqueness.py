"""Business keys unique among live rows (cell name, job number, part number per job, operation
sequence per part), judged on the state after the whole request.

A request may swap two sequences or two job numbers: the final state is what counts, and the
writer parks the moved rows first (``parked_ids``) so the database's partial unique indexes
never see a duplicate part-way. A real collision is an item error, never an IntegrityError.
"""

from __future__ import annotations

from collections import defaultdict
from typing import TYPE_CHECKING

from .entities import LiveUnique, SyncEntity

if TYPE_CHECKING:
    from .work import Work

STORED = None  # a holder that is a stored row the request does not touch


def _folded(rule: LiveUnique, value):
    return rule.fold(value) if rule.fold is not None and isinstance(value, str) else value


def _scope_token(work: Work, rule: LiveUnique):
    """Who the rule's scope is: a stored parent row, or a parent this request inserts."""
    if rule.scope is None:
        return None
    parent = work.parent_ids.get(rule.scope)
    if parent is None and work.existing is not None:
        parent = work.existing.get(f"{rule.scope}_id")
    if isinstance(parent, int):
        return ("row", parent)
    if parent is not None:  # the enclosing item's work
        return ("row", parent.existing["id"]) if parent.existing is not None else ("new", id(parent))
    return None


def _final_state(work: Work, rule: LiveUnique):
    """(live, value) of the work's row once the request is written."""
    if work.row is not None:
        return work.row["is_active"], work.row.get(rule.field)
    return work.existing["is_active"], work.existing.get(rule.field)


def _candidates(works: list[Work]) -> list[Work]:
    return [work for work in works if not work.tree_failed and (work.row is not None or work.existing is not None)]


def _stored_holders(entity: SyncEntity, rule: LiveUnique, company, works: list[Work]) -> list[dict]:
    """The live stored rows that may collide with the request's values (one query)."""
    candidates = _candidates(works)
    if not candidates:
        return []
    queryset = entity.model.objects.for_company(company).filter(is_active=True)
    if rule.fold is None:  # folded names: every live cell (a company has tens), see references.py
        values = {_final_state(work, rule)[1] for work in candidates}
        queryset = queryset.filter(**{f"{rule.field}__in": [value for value in values if value is not None]})
    columns = ["id", rule.field]
    if rule.scope is not None:
        scope_ids = {
            token[1] for token in map(lambda w: _scope_token(w, rule), candidates) if token and token[0] == "row"
        }
        if not scope_ids:
            return []
        queryset = queryset.filter(**{f"{rule.scope}_id__in": scope_ids})
        columns.append(f"{rule.scope}_id")
    return list(queryset.values(*columns))


def enforce_live_uniqueness(levels: list[tuple[SyncEntity, list[Work]]], company) -> None:
    """Fail every item whose row would share a live business key with another row.

    A failure fails the item's whole tree, which takes its rows out of the final state and may
    free a key another item was refused for, or, more often, leave a swap half-done: so the
    check repeats until nothing changes (in memory; the stored rows are read once).
    """
    rules = [
        (entity, rule, works, _stored_holders(entity, rule, company, works))
        for entity, works in levels
        for rule in entity.unique_live
    ]
    changed = bool(rules)
    while changed:
        changed = False
        for entity, rule, works, stored in rules:
            candidates = _candidates(works)
            in_request = {work.existing["id"] for work in candidates if work.existing is not None}
            holders: dict[tuple, list] = defaultdict(list)
            for row in stored:
                if row["id"] not in in_request:
                    scope = ("row", row[f"{rule.scope}_id"]) if rule.scope else None
                    holders[(scope, _folded(rule, row[rule.field]))].append(STORED)
            for work in candidates:
                live, value = _final_state(work, rule)
                if live:
                    holders[(_scope_token(work, rule), _folded(rule, value))].append(work)
            for (_, value), entries in holders.items():
                for position, holder in enumerate(entries):
                    if position == 0 or holder is STORED or holder.tree_failed:
                        continue
                    where = f" of this {rule.scope}" if rule.scope else ""
                    holder.fail_at(
                        rule.field,
                        "not_unique",
                        f"{rule.field} {value!r} is already used by another live {entity.singular}{where}.",
                    )
                    changed = True


def parked_ids(entity: SyncEntity, works: list[Work]) -> list[int]:
    """The stored live rows whose business key this request moves (or which it deletes): parked
    out of the live indexes before the upsert, so a swap never collides part-way."""
    if not entity.unique_live:
        return []
    parked = []
    for work in works:
        stored, row = work.existing, work.row
        if stored is None or row is None or not stored["is_active"]:
            continue
        moved = not row["is_active"]
        for rule in entity.unique_live:
            if row.get(rule.field) != stored.get(rule.field):
                moved = True
            if rule.scope is not None and row.get(f"{rule.scope}_id") != stored.get(f"{rule.scope}_id"):
                moved = True
        if moved:
            parked.append(stored["id"])
    return parked
