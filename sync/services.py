"""The one upsert engine of every sync endpoint: Ractory (api.md §5), Eryxon MES (§9), ``sync_file``.

``sync_items`` validates a whole batch (and, for the MES, each item's nested tree), resolves its
company and parents with one query per reference, classifies every row as insert / update /
unchanged with one query per entity, checks the live-uniqueness rules on the state after the
request, and writes with one set-based statement per entity, sorted by key, all in the caller's
transaction. It is driven entirely by ``SyncEntity`` descriptions (``sync.entities``).
"""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from assemblies.services import Actor, cascade_soft_delete_from, record_soft_deletes
from ractory.api.problems import FieldError, Forbidden, ValidationFailed, json_pointer
from tenants.caller import Caller
from tenants.models import Company

from .entities import MES_ENTITIES, CellReference, ExternalParent, ParentLink, SyncEntity
from .references import check_cell, check_external_parent, natural_key_filter, resolve_cells, resolve_external_parent
from .uniqueness import enforce_live_uniqueness, parked_ids
from .writers import upsert_rows

INSERTED, UPDATED, UNCHANGED, ERROR = "inserted", "updated", "unchanged", "error"


@dataclass
class ItemOutcome:
    index: int
    guid: uuid.UUID | None = None
    external_id: str | None = None  # MES items
    action: str = ERROR
    changes: dict[str, list] | None = None
    errors: list[FieldError] = field(default_factory=list)

    def as_dict(self, *, dry_run: bool) -> dict[str, Any]:
        result: dict[str, Any] = {"index": self.index, "guid": str(self.guid) if self.guid else None}
        result["action"] = self.action
        if dry_run and self.action == UPDATED:
            result["changes"] = {
                name: [_jsonable(old), _jsonable(new)] for name, (old, new) in (self.changes or {}).items()
            }
        if self.errors:
            result["errors"] = [error.as_dict() for error in self.errors]
        return result


@dataclass
class SyncOutcome:
    entity: SyncEntity
    company: Company | None
    items: list[ItemOutcome]
    dry_run: bool
    atomic: bool

    def count(self, action: str) -> int:
        return sum(1 for item in self.items if item.action == action)

    @property
    def errors(self) -> list[FieldError]:
        return [error for item in self.items for error in item.errors]

    @property
    def status(self) -> str:
        failed = self.count(ERROR)
        if failed == 0:
            return "succeeded"
        return "failed" if failed == len(self.items) else "partial"

    def as_response(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "inserted": self.count(INSERTED),
            "updated": self.count(UPDATED),
            "unchanged": self.count(UNCHANGED),
        }
        if not self.atomic:
            body["errors"] = self.count(ERROR)
        if self.dry_run:
            body["dry_run"] = True
        body["items"] = [item.as_dict(dry_run=self.dry_run) for item in self.items]
        return body


@dataclass
class _Work:
    """What the service knows of one item (or one nested item of a tree) while it works on it."""

    entity: SyncEntity
    outcome: ItemOutcome
    cleaned: dict[str, Any]
    path: tuple  # JSON Pointer segments of the item in the body
    root: _Work | None = None  # the top-level item of its tree (None: this is one)
    parent: _Work | None = None  # the enclosing item of a nested one
    is_object: bool = True
    own_errors: bool = False
    existing: dict[str, Any] | None = None
    parent_ids: dict[str, Any] = field(default_factory=dict)  # link → row id, or the parent's _Work
    row: dict[str, Any] | None = None  # the full row to write
    row_id: int | None = None  # the row's id once known (stored, or written)
    soft_deleted: bool = False  # this write soft-deletes an active row: cascade it
    tree_writes: bool = False  # (top-level items) some row of the tree is written

    @property
    def top(self) -> _Work:
        return self.root or self

    @property
    def tree_failed(self) -> bool:
        return bool(self.top.outcome.errors)

    def fail(self, pointer: str, code: str, detail: str) -> None:
        """An error of this item; it fails the whole tree (reported on the top-level item)."""
        self.own_errors = True
        self.top.outcome.errors.append(FieldError(pointer, code, detail))

    def fail_at(self, name: str, code: str, detail: str) -> None:
        self.fail(json_pointer(*self.path, name), code, detail)


def _jsonable(value):
    if isinstance(value, (bytes, memoryview)):
        return f"<{len(value)} bytes>"
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    return value


def _stored(value):
    return bytes(value) if isinstance(value, memoryview) else value


def sync_hash(cleaned: dict[str, Any]) -> str:
    """SHA-256 (hex) of the item's canonical JSON: keys sorted, ``,``/``:``, UTF-8 (§4.7)."""
    canonical = json.dumps(
        {name: _jsonable(value) for name, value in cleaned.items()},
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    )
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def resolve_company(*, caller: Caller, works: list[_Work], plural: str) -> Company | None:
    """The one company of the batch. A non-SystemAdmin naming another company: 403 for all."""
    named = [(work, work.cleaned["company_guid"]) for work in works if "company_guid" in work.cleaned]
    if not caller.is_system_admin:
        for work, guid in named:
            if guid != caller.company.guid:
                raise Forbidden(
                    f"Item {work.outcome.index} names company {guid}; you may only sync your own company.",
                    code="company_mismatch",
                )
        return caller.company
    if not named:
        return None
    first_guid = named[0][1]
    for work, guid in named:
        if guid != first_guid:
            work.fail_at(
                "company_guid",
                "mixed_companies",
                f"All items of one request must name the same company ({first_guid}).",
            )
    company = Company.objects.filter(guid=first_guid, is_active=True).first()
    if company is None:
        for work, guid in named:
            if guid == first_guid:
                work.fail_at("company_guid", "company_not_found", f"No active company {guid}.")
    return company


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

    Atomic (the default): any invalid item raises ``ValidationFailed`` with every error of every
    item and nothing is written. ``atomic=False``: valid items (whole trees) are written, invalid
    ones are reported in the outcome. ``dry_run``: everything but the writes. ``wrapper``: the
    body key the items came in (default: the entity's plural; ``None`` for a single item that
    is the body itself), for the errors' pointers.
    """
    if wrapper == "":
        wrapper = entity.plural
    levels: dict[str, list[_Work]] = {}
    entities: dict[str, SyncEntity] = {}
    roots: list[_Work] = []
    for index, item in enumerate(items):
        path = (wrapper, index) if wrapper is not None else ()
        roots.append(_take(entity, item, path, ItemOutcome(index=index), None, levels, entities))

    if entity.names_company:
        company = resolve_company(caller=caller, works=roots, plural=entity.plural)
    else:
        company = caller.company
    order = [(entities[plural], works) for plural, works in levels.items()]
    for level_entity, works in order:
        _check_batch_rules(level_entity, works)
    if company is not None:
        now = timezone.now()
        for level_entity, works in order:
            _classify(level_entity, company, works, now)
        enforce_live_uniqueness(order, company)
    else:
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
        failed = result.count(ERROR)
        problem = ValidationFailed(
            f"{failed} item{'s are' if failed != 1 else ' is'} invalid; nothing was written.",
            errors=result.errors,
        )
        problem.company = company  # the run recording the refusal belongs to the target company
        problem.failed_items = failed
        raise problem
    if not dry_run and company is not None:
        _write(order, company, actor or Actor())
    return result


def _take(entity, item, path, outcome, parent, levels, entities) -> _Work:
    """Validate one item and, depth first, its nested items; file each under its entity's level."""
    root = parent.top if parent is not None else None
    levels.setdefault(entity.plural, [])
    entities.setdefault(entity.plural, entity)
    if not isinstance(item, dict):
        work = _Work(entity, outcome, {}, path, root=root, parent=parent, is_object=False)
        work.fail(json_pointer(*path), "not_an_object", "Each item must be an object.")
        levels[entity.plural].append(work)
        return work
    children = {name: item[name] for name in entity.nested if name in item}
    if children:
        item = {name: value for name, value in item.items() if name not in children}
    cleaned, errors = entity.validator.validate(item, path)
    work = _Work(entity, outcome, cleaned, path, root=root, parent=parent)
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
    elif "external_source" not in cleaned and "external_source" in parent.cleaned:
        cleaned["external_source"] = parent.cleaned["external_source"]  # inherited (§4.6)
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


def _check_batch_rules(entity: SyncEntity, works: list[_Work]) -> None:
    """Rules across the items of one entity (nested ones included), and within an item."""
    key_fields = entity.key
    first_path: dict[tuple, tuple] = {}
    for work in works:
        cleaned = work.cleaned
        key = tuple(cleaned.get(name) for name in key_fields)
        if None not in key:
            if key in first_path:
                earlier = first_path[key]
                where = f"Item {earlier[1]}" if len(earlier) == 2 else f"The item at {_dotted(earlier)}"
                name = "guid" if key_fields == ("guid",) else "external_id"
                work.fail_at(name, "duplicate_in_batch", f"{where} has the same {' and '.join(key_fields)}.")
            else:
                first_path[key] = work.path if work.path else ("", work.outcome.index)
        if cleaned.get("deleted_at") is not None and cleaned.get("is_active", True):
            work.fail_at("deleted_at", "inconsistent_soft_delete", "deleted_at goes only with is_active: false.")


def _dotted(path: tuple) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    return text


def _stored_rows(entity: SyncEntity, company: Company, works: list[_Work], columns: list[str]) -> dict[tuple, dict]:
    """The stored rows of the batch's keys in the company, by key (one query)."""
    if entity.key == ("guid",):
        guids = [work.cleaned["guid"] for work in works if "guid" in work.cleaned]
        if not guids:
            return {}
        rows = entity.model.objects.for_company(company).filter(guid__in=guids).values(*columns)
        return {(row["guid"],): row for row in rows}
    pairs = {
        (work.cleaned["external_source"], work.cleaned["external_id"])
        for work in works
        if "external_source" in work.cleaned and "external_id" in work.cleaned
    }
    if not pairs:
        return {}
    rows = entity.model.objects.for_company(company).filter(natural_key_filter(pairs)).values(*columns)
    return {(row["external_source"], row["external_id"]): row for row in rows}


def _classify(entity: SyncEntity, company: Company, works: list[_Work], now) -> None:
    objects = [work for work in works if work.is_object]
    live = [work for work in objects if not work.own_errors]
    sends_picture = any("picture" in work.cleaned for work in live)
    columns = ["id", "guid", "is_active", "deleted_at", *entity.key]
    columns += [parent.column for parent in entity.parents]
    if entity.hashed:
        columns.append("sync_hash")
    # Pictures are read (and rewritten) only when some item sends one; otherwise the column is
    # left out of both the read and the write, so stored pictures stay untouched.
    written_fields = [name for name in entity.data_fields if name != "picture" or sends_picture]
    columns += written_fields
    columns = list(dict.fromkeys(columns))

    # Items with errors are looked up too, so a missing required field is reported with the
    # item's other errors (all errors of all items come back together).
    existing = _stored_rows(entity, company, objects, columns)
    parents = _resolve_parents(entity, company, live, existing)
    key_fields = entity.key
    for work in objects:
        work.existing = existing.get(tuple(work.cleaned.get(name) for name in key_fields))
        if work.existing is not None:
            work.row_id = work.existing["id"]
        else:
            _check_required_on_insert(entity, work)
        if work.own_errors:
            continue
        _check_parents(entity, work, parents)
        if work.own_errors:
            continue
        if entity.hashed:
            _plan_hashed(entity, company, work, written_fields, now)
        elif work.existing is None:
            _plan_insert(entity, company, work, written_fields, now)
        else:
            _plan_update(entity, work, parents, written_fields, now)


def _check_required_on_insert(entity: SyncEntity, work: _Work) -> None:
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


def _resolve_parents(entity, company, live, existing) -> dict[str, dict]:
    """Per reference: the rows it may name, with one query per reference."""
    resolved: dict[str, dict] = {}
    for parent in entity.parents:
        if isinstance(parent, ExternalParent):
            resolved[parent.name] = resolve_external_parent(parent, company, live)
        elif isinstance(parent, CellReference):
            resolved[parent.name] = resolve_cells(parent, company, live)
        else:
            resolved[parent.name] = _resolve_guid_parent(parent, company, live, existing)
    return resolved


def _resolve_guid_parent(parent: ParentLink, company, live, existing) -> dict:
    guids = {work.cleaned[parent.input_field] for work in live if work.cleaned.get(parent.input_field)}
    stored_ids = {row[parent.column] for row in existing.values() if row[parent.column] is not None}
    by_guid: dict[uuid.UUID, dict] = {}
    by_id: dict[int, dict] = {}
    if guids or stored_ids:
        fk_columns = [f.column for f in parent.model._meta.concrete_fields if f.is_relation and f.name != "company"]
        rows = (
            parent.model.objects.for_company(company)
            .filter(Q(guid__in=guids) | Q(id__in=stored_ids))
            .values("id", "guid", "is_active", *fk_columns)
        )
        for row in rows:
            by_guid[row["guid"]] = row
            by_id[row["id"]] = row
    return {"by_guid": by_guid, "by_id": by_id}


def _check_parents(entity: SyncEntity, work: _Work, parents: dict) -> None:
    if entity.is_mes:
        for parent in entity.parents:
            if isinstance(parent, CellReference):
                check_cell(parent, work, parents[parent.name])
            else:
                check_external_parent(parent, work, parents[parent.name])
        return
    cleaned, stored = work.cleaned, work.existing
    rows: dict[str, dict | None] = {}
    for parent in entity.parents:
        if parent.input_field in cleaned:
            guid = cleaned[parent.input_field]
            if guid is None:
                rows[parent.name] = None
                work.parent_ids[parent.name] = None
                continue
            row = parents[parent.name]["by_guid"].get(guid)
            if row is None:
                work.fail_at(parent.input_field, "parent_not_found", f"No {parent.name} {guid} in this company.")
                continue
            if stored is not None and parent.immutable and stored[parent.column] != row["id"]:
                work.fail_at(
                    parent.input_field, "parent_immutable", f"The {parent.name} of an existing row cannot change."
                )
                continue
            # A tombstone (is_active: false) may name a parent that is deleted already.
            if not row["is_active"] and cleaned.get("is_active", True):
                work.fail_at(
                    parent.input_field,
                    "parent_inactive",
                    f"The {parent.name} {guid} is deleted; restore or re-sync it first.",
                )
                continue
            rows[parent.name] = row
            work.parent_ids[parent.name] = row["id"]
        elif stored is not None:
            parent_id = stored[parent.column]
            work.parent_ids[parent.name] = parent_id
            row = parents[parent.name]["by_id"].get(parent_id) if parent_id is not None else None
            if row is not None and not row["is_active"] and cleaned.get("is_active", True):
                work.fail_at(
                    parent.input_field,
                    "parent_inactive",
                    f"The {parent.name} of this row is deleted; restore it first.",
                )
    if work.own_errors:
        return
    for rule in entity.consistency:
        row = rows.get(rule.parent)
        if row is None:  # not named by the item: the stored links are consistent already
            continue
        if rule.via not in work.parent_ids:  # the other parent is missing: reported as required
            continue
        expected = work.parent_ids.get(rule.via)
        if row[f"{rule.via}_id"] != expected:
            work.fail_at(
                f"{rule.parent}_guid",
                "parent_mismatch",
                f"The {rule.parent} does not belong to the item's {rule.via}.",
            )


def _soft_delete_state(work: _Work, now) -> tuple[bool, datetime | None]:
    """(is_active, deleted_at) the row will have; marks a write that soft-deletes a live row."""
    cleaned, stored = work.cleaned, work.existing
    is_active = cleaned.get("is_active", True)
    if stored is None:
        return is_active, None if is_active else (cleaned.get("deleted_at") or now)
    if is_active:
        return True, None
    if stored["is_active"]:
        work.soft_deleted = True
        return False, cleaned.get("deleted_at") or now
    # A row deleted already keeps its stamp, whatever deleted_at the item sends: its descendants
    # carry the same stamp, and a restore finds them by it.
    return False, stored["deleted_at"]


def _plan_insert(entity: SyncEntity, company: Company, work: _Work, written_fields, now) -> None:
    cleaned = work.cleaned
    is_active, deleted_at = _soft_delete_state(work, now)
    defaults = entity.model_defaults
    row = {name: cleaned.get(name, defaults[name]) for name in written_fields}
    row.update(
        guid=cleaned.get("guid") or uuid.uuid4(),
        company_id=company.pk,
        created_at=now,
        updated_at=now,
        is_active=is_active,
        deleted_at=deleted_at,
    )
    for name in entity.key:
        if name != "guid":
            row[name] = cleaned[name]
    row.update(entity.insert_only_defaults)
    for parent in entity.parents:
        row[parent.column] = work.parent_ids.get(parent.name)
    work.row = row
    work.outcome.guid = row["guid"]
    work.outcome.action = INSERTED


def _plan_update(entity: SyncEntity, work: _Work, parents: dict, written_fields, now) -> None:
    cleaned, stored = work.cleaned, work.existing
    changes: dict[str, list] = {}
    data_fields = entity.data_field_set
    for name, new in cleaned.items():
        if name in data_fields and name in stored:
            old = stored[name]
            if type(old) is memoryview:  # a picture, as PostgreSQL returns bytea
                old = bytes(old)
            if old != new:
                changes[name] = [old, new]  # shown (formatted) by dry runs only
    for parent in entity.parents:
        if parent.input_field in cleaned and work.parent_ids.get(parent.name) != stored[parent.column]:
            old = parents[parent.name]["by_id"].get(stored[parent.column])
            changes[parent.input_field] = [
                str(old["guid"]) if old else None,
                str(cleaned[parent.input_field]) if cleaned[parent.input_field] else None,
            ]
    is_active, deleted_at = _soft_delete_state(work, now)
    if is_active != stored["is_active"]:
        changes["is_active"] = [stored["is_active"], is_active]
    if deleted_at != stored["deleted_at"]:
        changes["deleted_at"] = [stored["deleted_at"], deleted_at]
    work.outcome.guid = stored["guid"]
    if not changes:
        work.outcome.action = UNCHANGED
        return
    work.row = _merged_row(entity, work, written_fields, now, is_active, deleted_at)
    work.outcome.changes = changes
    work.outcome.action = UPDATED


def _merged_row(entity: SyncEntity, work: _Work, written_fields, now, is_active, deleted_at) -> dict[str, Any]:
    """The stored row with the item's fields on top (merge semantics, api.md §5.2)."""
    cleaned, stored = work.cleaned, work.existing
    row = {name: stored[name] for name in written_fields}
    if "picture" in row:
        row["picture"] = _stored(row["picture"])
    row.update({name: value for name, value in cleaned.items() if name in row})
    row.update(
        guid=stored["guid"],
        company_id=None,  # filled by the writer from the company
        updated_at=now,
        is_active=is_active,
        deleted_at=deleted_at,
    )
    for name in entity.key:
        row[name] = stored[name]
    row.update(entity.insert_only_defaults)  # placeholders: an update leaves these columns alone
    for parent in entity.parents:
        row[parent.column] = work.parent_ids.get(parent.name)
    row["id"] = stored["id"]
    return row


def _plan_hashed(entity: SyncEntity, company: Company, work: _Work, written_fields, now) -> None:
    """MES: the item's canonical hash decides ``unchanged`` (data-model §4.7)."""
    canonical = dict(work.cleaned)
    for parent in entity.parents:
        # A nested item names its parent by nesting: hashed as if it had named it, so the same
        # row sent nested or at the top level has one hash, and a move to another parent is a change.
        if isinstance(parent, ExternalParent) and isinstance(work.parent_ids.get(parent.name), _Work):
            canonical[parent.input_field] = work.parent.cleaned.get("external_id")
    digest = sync_hash(canonical)
    stored = work.existing
    if stored is None:
        _plan_insert(entity, company, work, written_fields, now)
    else:
        # A nested parent is known by its work; an existing one has its row id by now (levels
        # are classified parents first), a new one has none and differs from any stored link.
        same_parents = all(
            _known_id(work.parent_ids.get(parent.name)) == stored[parent.column] for parent in entity.parents
        )
        # Unchanged: what was last synced (same hash, same parents), in the same state (live, or
        # a tombstone sent again for a row deleted already).
        same_state = stored["is_active"] == work.cleaned.get("is_active", True)
        if stored["sync_hash"] == digest and same_parents and same_state:
            work.outcome.guid = stored["guid"]
            work.outcome.action = UNCHANGED
            return
        is_active, deleted_at = _soft_delete_state(work, now)
        work.row = _merged_row(entity, work, written_fields, now, is_active, deleted_at)
        work.outcome.guid = stored["guid"]
        work.outcome.action = UPDATED
    work.row["sync_hash"] = digest
    work.row["synced_at"] = now


def _known_id(parent) -> int | None:
    return parent.row_id if isinstance(parent, _Work) else parent


def _write(order: list[tuple[SyncEntity, list[_Work]]], company: Company, actor: Actor) -> None:
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
                    if isinstance(parent, _Work):
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
