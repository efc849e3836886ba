"""The one upsert engine of every sync request: both API families and ``sync_file``, through ``sync.runner``.

``sync_items`` validates a whole batch (and, for the MES, each item's nested tree), resolves its
company and parents with one query per reference, classifies every row as insert / update /
unchanged with one query per entity, checks the live-uniqueness rules on the state after the
request, and writes with one set-based statement per entity, sorted by key, all in the caller's
transaction. It is driven entirely by ``SyncEntity`` descriptions (``sync.entities``).
"""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from assemblies.services import Actor, cascade_soft_delete_from, record_soft_deletes
from ractory.refusals import json_pointer
from tenants.caller import Caller
from tenants.models import Company

from .entities import MES_ENTITIES, SyncEntity
from .refusals import ItemsRefused
from .uniqueness import enforce_live_uniqueness, parked_ids
from .work import ERROR, INSERTED, UNCHANGED, UPDATED, ItemOutcome, SyncOutcome, Work
from .writers import serialize_writers, upsert_rows

__all__ = ["ERROR", "INSERTED", "UNCHANGED", "UPDATED", "ItemOutcome", "SyncOutcome", "sync_items"]


def sync_items(
    *,
    entity: SyncEntity,
    caller: Caller,
    items: list,
    dry_run: bool = False,
    atomic: bool = True,
    actor: Actor | None = None,
    wrapper: str | None = "",
) -> SyncOutcome:
    """Validate and upsert one batch of items of ``entity`` (with their nested trees).

    Atomic (the default): any invalid item raises ``ItemsRefused`` with every error of every
    item and nothing is written. ``atomic=False``: valid items (whole trees) are written, invalid
    ones are reported in the outcome. ``dry_run``: everything but the writes. ``wrapper``: the
    body key the items came in (default: the entity's plural; ``None`` for a single item that
    is the body itself), for the errors' pointers.
    """
    if wrapper == "":
        wrapper = entity.plural
    levels: dict[str, list[Work]] = {}
    entities: dict[str, SyncEntity] = {}
    roots: list[Work] = []
    for index, item in enumerate(items):
        path = (wrapper, index) if wrapper is not None else ()
        roots.append(_take(entity, item, path, ItemOutcome(index=index), None, levels, entities))

    company = entity.family.company.resolve(caller, roots)
    order = [(entities[plural], works) for plural, works in levels.items()]
    for level_entity, works in order:
        _check_batch_rules(level_entity, works)
    if company is not None:
        if entity.family.writers_take_turns and not dry_run:
            serialize_writers(company_id=company.pk, tables=[level.model._meta.db_table for level, _ in order])
        now = timezone.now()
        for level_entity, works in order:
            _classify(level_entity, company, works, now, dry_run=dry_run)
        enforce_live_uniqueness(order, company)
    else:  # a SystemAdmin's items naming no active company
        for work in roots:
            if not work.outcome.errors:
                work.fail_at("company_guid", "required", "This field is required.")

    result = SyncOutcome(
        entity=entity, company=company, items=[work.outcome for work in roots], dry_run=dry_run, atomic=atomic
    )
    for _, works in order:
        for work in works:
            if work.tree_failed:
                work.row = None
            elif work.row is not None:
                work.top.tree_writes = True
    for work in roots:
        if work.outcome.errors:
            work.outcome.action = ERROR
        elif work.outcome.action == UNCHANGED and work.tree_writes:
            work.outcome.action = UPDATED  # the item itself is as stored, but a nested row changes
    if atomic and result.count(ERROR):
        raise ItemsRefused(result)
    if not dry_run and company is not None:
        _write(order, company, actor or Actor())
    return result


def _take(entity, item, path, outcome, parent, levels, entities) -> Work:
    """Validate one item and, depth first, its nested items; file each under its entity's level."""
    root = parent.top if parent is not None else None
    levels.setdefault(entity.plural, [])
    entities.setdefault(entity.plural, entity)
    if not isinstance(item, dict):
        work = Work(entity, outcome, {}, path, root=root, parent=parent, is_object=False)
        work.fail(json_pointer(*path), "not_an_object", "Each item must be an object.")
        levels[entity.plural].append(work)
        return work
    children = {name: item[name] for name in entity.nested if name in item}
    if children:
        item = {name: value for name, value in item.items() if name not in children}
    cleaned, errors = entity.validator.validate(item, path)
    work = Work(entity, outcome, cleaned, path, root=root, parent=parent)
    for error in errors:
        work.fail(error.pointer, error.code, error.detail)
    for name in entity.ignored_fields:  # MES-owned: validated above, never stored nor hashed
        cleaned.pop(name, None)
    outcome.guid = cleaned.get("guid")
    outcome.external_id = cleaned.get("external_id")
    if parent is None:
        for name in entity.top_level_required:
            if name not in item:
                work.fail_at(name, "required", "This field is required.")
    elif "external_source" not in cleaned:
        if "external_source" in parent.cleaned:
            cleaned["external_source"] = parent.cleaned["external_source"]  # a nested item inherits its parent's
        elif "external_source" not in item:  # sent but invalid: refused for its value already
            work.fail_at(
                "external_source", "required", "This field is required: the enclosing item has none to inherit."
            )
    levels[entity.plural].append(work)
    for name, raw in children.items():
        child_entity = MES_ENTITIES[entity.nested[name]]
        if not isinstance(raw, list):
            work.fail_at(name, "not_a_list", "Must be an array of items.")
            continue
        if raw and cleaned.get("is_active") is False:
            work.fail_at(
                name, "children_of_deleted", "An item that is deleted (is_active false) carries no nested items."
            )
            continue
        for index, child in enumerate(raw):
            _take(child_entity, child, (*path, name, index), ItemOutcome(index=index), work, levels, entities)
    return work


def _check_batch_rules(entity: SyncEntity, works: list[Work]) -> None:
    """Rules across the items of one entity (nested ones included), and within an item."""
    upsert_key = entity.family.key
    first: dict[tuple, Work] = {}
    for work in works:
        cleaned = work.cleaned
        key = upsert_key.of(work)
        if None not in key:
            if key in first:
                earlier = first[key]
                where = (
                    f"Item {earlier.outcome.index}"
                    if earlier.parent is None
                    else f"The item at {_dotted(earlier.path)}"
                )
                work.fail_at(
                    upsert_key.reported_at,
                    "duplicate_in_batch",
                    f"{where} has the same {' and '.join(upsert_key.fields)}.",
                )
            else:
                first[key] = work
        if cleaned.get("deleted_at") is not None and cleaned.get("is_active", True):
            work.fail_at("deleted_at", "inconsistent_soft_delete", "deleted_at goes only with is_active: false.")


def _dotted(path: tuple) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    return text


def _stored(entity: SyncEntity, company: Company, works: list[Work]):
    """The stored rows of the batch's keys in the company, as a queryset (``None``: no key sent)."""
    condition = entity.family.key.stored_filter(works)
    return entity.model.objects.for_company(company).filter(condition) if condition is not None else None


def _stored_rows(stored, entity: SyncEntity, columns: list[str], *, lock: bool) -> dict[tuple, dict]:
    """The stored rows by key (one query), locked ``FOR NO KEY UPDATE`` in key order when the
    request writes: a concurrent request changing them waits, and this one merges the items
    into what it committed, never into a stale copy (no lost update)."""
    if stored is None:
        return {}
    if lock:
        stored = stored.select_for_update(no_key=True).order_by(*entity.key)
    return {tuple(row[name] for name in entity.key): row for row in stored.values(*columns)}


def _classify(entity: SyncEntity, company: Company, works: list[Work], now, *, dry_run: bool) -> None:
    objects = [work for work in works if work.is_object]
    live = [work for work in objects if not work.own_errors]
    sends_picture = any("picture" in work.cleaned for work in live)
    columns = ["id", "guid", "is_active", "deleted_at", *entity.key]
    columns += [parent.column for parent in entity.parents]
    change_detection = entity.family.change_detection
    columns += change_detection.columns
    # Pictures are read (and rewritten) only when some item sends one; otherwise the column is
    # left out of both the read and the write, so stored pictures stay untouched.
    written_fields = [name for name in entity.data_fields if name != "picture" or sends_picture]
    columns += written_fields
    columns = list(dict.fromkeys(columns))

    # Items with errors are looked up too, so a missing required field is reported with the
    # item's other errors (all errors of all items come back together). Parents are locked
    # before the items' own rows (top-down, assemblies.locking).
    stored = _stored(entity, company, objects)
    parents = _resolve_parents(entity, company, live, stored)
    existing = _stored_rows(stored, entity, columns, lock=not dry_run)
    key_fields = entity.key
    for work in objects:
        work.existing = existing.get(tuple(work.cleaned.get(name) for name in key_fields))
        if work.existing is not None:
            work.row_id = work.existing["id"]
        else:
            _check_required_on_insert(entity, work)
        if work.own_errors:
            continue
        for parent in entity.parents:
            parent.check(work, parents[parent.name])
        if work.own_errors:
            continue
        for rule in entity.consistency:
            rule.check(work)
        if work.own_errors:
            continue
        change_detection.plan(entity, company, work, parents, written_fields, now)


def _check_required_on_insert(entity: SyncEntity, work: Work) -> None:
    cleaned = work.cleaned
    reported = {error.pointer for error in work.top.outcome.errors}
    for name in entity.validator.required_on_insert:
        pointer = json_pointer(*work.path, name)
        if pointer in reported:
            continue  # already refused for its value
        if name not in cleaned:
            work.fail(pointer, "required", "This field is required.")
        elif cleaned[name] is None:
            work.fail(pointer, "null", "This field may not be null.")


def _resolve_parents(entity, company, live, stored) -> dict[str, dict]:
    """Per reference: the rows it may name, with one query per reference, top-down."""
    return {parent.name: parent.resolve(company, live, stored) for parent in entity.parents}


def _write(order: list[tuple[SyncEntity, list[Work]]], company: Company, actor: Actor) -> None:
    """Level by level (jobs, then their parts, then operations): one upsert per level, so a
    nested row learns its new parent's id before it is written."""
    now = timezone.now()
    # No savepoint: the callers run the whole request in one transaction and never recover
    # from an error inside it.
    with transaction.atomic(savepoint=False):
        for entity, works in order:
            writes = [work for work in works if work.row is not None]
            if not writes:
                continue
            for work in writes:
                for name, parent in work.parent_ids.items():
                    if isinstance(parent, Work):
                        work.row[f"{name}_id"] = parent.row_id
            parked = parked_ids(entity, writes)
            if parked:
                entity.model.objects.for_company(company).filter(id__in=parked).update(is_active=False, deleted_at=now)
            writes.sort(key=lambda work: tuple(work.row[name] for name in entity.key))
            written = upsert_rows(
                model=entity.model,
                company_id=company.pk,
                rows=[work.row for work in writes],
                key=entity.key,
                insert_only=tuple(entity.insert_only_defaults),
                now=now,
                need_ids=entity is not order[-1][0],
            )
            for work in writes:
                answer = written.get(tuple(work.row[name] for name in entity.key))
                if answer is None:
                    continue  # SQLite, an update: what the service read is still true
                work.row_id, guid, inserted = answer
                work.outcome.guid = guid
                # A row another request inserted after we looked is an update, not an insert.
                if work.outcome.action == INSERTED and inserted is False:
                    work.outcome.action = UPDATED
        for entity, works in order:
            roots = [(work.row_id, work.outcome.guid) for work in works if work.row is not None and work.soft_deleted]
            if roots:
                touched = cascade_soft_delete_from(
                    model=entity.model, company_id=company.pk, root_ids=[root_id for root_id, _ in roots], now=now
                )
                record_soft_deletes(
                    model=entity.model, company_id=company.pk, roots=roots, touched=touched, actor=actor
                )
