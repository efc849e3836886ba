"""The one upsert engine of every Ractory sync endpoint (api.md §5).

``sync_items`` validates a whole batch, resolves its company and parents with one query per
parent type, classifies every item as insert / update / unchanged with one query, and writes
the inserts and updates with one set-based statement sorted by guid, all in the caller's
transaction. It is driven entirely by a ``SyncEntity`` description.
"""

from __future__ import annotations

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

from .entities import SyncEntity
from .writers import upsert_rows

INSERTED, UPDATED, UNCHANGED, ERROR = "inserted", "updated", "unchanged", "error"


@dataclass
class ItemOutcome:
    index: int
    guid: uuid.UUID | None = None
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
    """What the service knows of one item while it works on it."""

    outcome: ItemOutcome
    cleaned: dict[str, Any]
    is_object: bool = True
    existing: dict[str, Any] | None = None
    parent_ids: dict[str, int | None] = field(default_factory=dict)
    row: dict[str, Any] | None = None  # the full row to write
    soft_deleted: bool = False  # this write soft-deletes an active row: cascade it

    def fail(self, pointer: str, code: str, detail: str) -> None:
        self.outcome.errors.append(FieldError(pointer, code, detail))


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
            work.fail(
                json_pointer(plural, work.outcome.index, "company_guid"),
                "mixed_companies",
                f"All items of one request must name the same company ({first_guid}).",
            )
    company = Company.objects.filter(guid=first_guid, is_active=True).first()
    if company is None:
        for work, guid in named:
            if guid == first_guid:
                work.fail(
                    json_pointer(plural, work.outcome.index, "company_guid"),
                    "company_not_found",
                    f"No active company {guid}.",
                )
    return company


def sync_items(
    *,
    entity: SyncEntity,
    caller: Caller,
    items: list,
    dry_run: bool = False,
    atomic: bool = True,
    actor: Actor | None = None,
) -> SyncOutcome:
    """Validate and upsert one batch of items of ``entity``.

    Atomic (the default): any invalid item raises ``ValidationFailed`` with every error of every
    item and nothing is written. ``atomic=False``: valid items are written, invalid ones are
    reported in the outcome. ``dry_run``: everything but the writes.
    """
    plural = entity.plural
    works: list[_Work] = []
    for index, item in enumerate(items):
        outcome = ItemOutcome(index=index)
        if not isinstance(item, dict):
            outcome.errors.append(
                FieldError(json_pointer(plural, index), "not_an_object", "Each item must be an object.")
            )
            works.append(_Work(outcome, {}, is_object=False))
            continue
        cleaned, errors = entity.validator.validate(item, (plural, index))
        outcome.errors.extend(errors)
        outcome.guid = cleaned.get("guid")
        works.append(_Work(outcome, cleaned))

    company = resolve_company(caller=caller, works=works, plural=plural)
    _check_batch_rules(works, plural)
    if company is not None:
        _classify(entity, company, works)
    else:
        for work in works:
            if not work.outcome.errors:
                work.fail(
                    json_pointer(plural, work.outcome.index, "company_guid"), "required", "This field is required."
                )

    result = SyncOutcome(
        entity=entity, company=company, items=[work.outcome for work in works], dry_run=dry_run, atomic=atomic
    )
    for work in works:
        if work.outcome.errors:
            work.outcome.action = ERROR
            work.row = None
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
        _write(entity, company, [work for work in works if work.row is not None], actor or Actor())
    return result


def _check_batch_rules(works: list[_Work], plural: str) -> None:
    """Rules across items, and within an item across fields."""
    first_index: dict[uuid.UUID, int] = {}
    for work in works:
        index = work.outcome.index
        guid = work.cleaned.get("guid")
        if guid is not None:
            if guid in first_index:
                work.fail(
                    json_pointer(plural, index, "guid"),
                    "duplicate_in_batch",
                    f"Item {first_index[guid]} has the same guid.",
                )
            else:
                first_index[guid] = index
        if work.cleaned.get("deleted_at") is not None and work.cleaned.get("is_active", True):
            work.fail(
                json_pointer(plural, index, "deleted_at"),
                "inconsistent_soft_delete",
                "deleted_at goes only with is_active: false.",
            )


def _classify(entity: SyncEntity, company: Company, works: list[_Work]) -> None:
    plural = entity.plural
    objects = [work for work in works if work.is_object]
    live = [work for work in objects if not work.outcome.errors]
    sends_picture = any("picture" in work.cleaned for work in live)
    columns = ["id", "guid", "is_active", "deleted_at"]
    columns += [parent.column for parent in entity.parents]
    # Pictures are read (and rewritten) only when some item sends one; otherwise the column is
    # left out of both the read and the write, so stored pictures stay untouched.
    written_fields = [name for name in entity.data_fields if name != "picture" or sends_picture]
    columns += written_fields

    # Items with errors are looked up too, so a missing required field is reported with the
    # item's other errors (all errors of all items come back together).
    guids = [work.cleaned["guid"] for work in objects if "guid" in work.cleaned]
    existing: dict[uuid.UUID, dict] = {}
    if guids:
        existing = {
            row["guid"]: row
            for row in entity.model.objects.for_company(company).filter(guid__in=guids).values(*columns)
        }

    parents = _resolve_parents(entity, company, live, existing)
    now = timezone.now()
    for work in objects:
        work.existing = existing.get(work.cleaned.get("guid"))
        if work.existing is None:
            _check_required_on_insert(entity, work, plural)
        if work.outcome.errors:
            continue
        _check_parents(entity, work, parents, plural)
        if work.outcome.errors:
            continue
        if work.existing is None:
            _plan_insert(entity, company, work, written_fields, now)
        else:
            _plan_update(entity, work, parents, written_fields, now)


def _check_required_on_insert(entity: SyncEntity, work: _Work, plural: str) -> None:
    cleaned, index = work.cleaned, work.outcome.index
    for name in entity.validator.required_on_insert:
        pointer = json_pointer(plural, index, name)
        if any(error.pointer == pointer for error in work.outcome.errors):
            continue  # already refused for its value
        if name not in cleaned:
            work.fail(pointer, "required", "This field is required.")
        elif cleaned[name] is None:
            work.fail(pointer, "null", "This field may not be null.")


def _resolve_parents(entity, company, live, existing) -> dict[str, dict]:
    """Per parent link: the rows it may name, by guid and by id, with one query per link."""
    resolved: dict[str, dict] = {}
    for parent in entity.parents:
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
        resolved[parent.name] = {"by_guid": by_guid, "by_id": by_id}
    return resolved


def _check_parents(entity: SyncEntity, work: _Work, parents: dict, plural: str) -> None:
    index, cleaned, stored = work.outcome.index, work.cleaned, work.existing
    rows: dict[str, dict | None] = {}
    for parent in entity.parents:
        if parent.input_field in cleaned:
            guid = cleaned[parent.input_field]
            if guid is None:
                rows[parent.name] = None
                work.parent_ids[parent.name] = None
                continue
            row = parents[parent.name]["by_guid"].get(guid)
            pointer = json_pointer(plural, index, parent.input_field)  # used on failure only
            if row is None:
                work.fail(pointer, "parent_not_found", f"No {parent.name} {guid} in this company.")
                continue
            if stored is not None and parent.immutable and stored[parent.column] != row["id"]:
                work.fail(pointer, "parent_immutable", f"The {parent.name} of an existing row cannot change.")
                continue
            # A tombstone (is_active: false) may name a parent that is deleted already.
            if not row["is_active"] and cleaned.get("is_active", True):
                work.fail(
                    pointer, "parent_inactive", f"The {parent.name} {guid} is deleted; restore or re-sync it first."
                )
                continue
            rows[parent.name] = row
            work.parent_ids[parent.name] = row["id"]
        elif stored is not None:
            parent_id = stored[parent.column]
            work.parent_ids[parent.name] = parent_id
            row = parents[parent.name]["by_id"].get(parent_id) if parent_id is not None else None
            if row is not None and not row["is_active"] and cleaned.get("is_active", True):
                work.fail(
                    json_pointer(plural, index, parent.input_field),
                    "parent_inactive",
                    f"The {parent.name} of this row is deleted; restore it first.",
                )
    if work.outcome.errors:
        return
    for rule in entity.consistency:
        row = rows.get(rule.parent)
        if row is None:  # not named by the item: the stored links are consistent already
            continue
        if rule.via not in work.parent_ids:  # the other parent is missing: reported as required
            continue
        expected = work.parent_ids.get(rule.via)
        if row[f"{rule.via}_id"] != expected:
            work.fail(
                json_pointer(plural, index, f"{rule.parent}_guid"),
                "parent_mismatch",
                f"The {rule.parent} does not belong to the item's {rule.via}.",
            )


def _plan_insert(entity: SyncEntity, company: Company, work: _Work, written_fields, now) -> None:
    cleaned = work.cleaned
    is_active = cleaned.get("is_active", True)
    defaults = entity.model_defaults
    row = {name: cleaned.get(name, defaults[name]) for name in written_fields}
    row.update(
        guid=cleaned.get("guid") or uuid.uuid4(),
        company_id=company.pk,
        created_at=now,
        updated_at=now,
        is_active=is_active,
        deleted_at=None if is_active else (cleaned.get("deleted_at") or now),
    )
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
    is_active = cleaned.get("is_active", True)
    deleted_at = stored["deleted_at"]
    if is_active:
        deleted_at = None
    elif stored["is_active"]:
        deleted_at = cleaned.get("deleted_at") or now
        work.soft_deleted = True
    # A row deleted already keeps its stamp, whatever deleted_at the item sends: its descendants
    # carry the same stamp, and a restore finds them by it.
    if is_active != stored["is_active"]:
        changes["is_active"] = [stored["is_active"], is_active]
    if deleted_at != stored["deleted_at"]:
        changes["deleted_at"] = [stored["deleted_at"], deleted_at]
    work.outcome.guid = stored["guid"]
    if not changes:
        work.outcome.action = UNCHANGED
        return
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
    for parent in entity.parents:
        row[parent.column] = work.parent_ids.get(parent.name)
    row["id"] = stored["id"]
    work.row = row
    work.outcome.changes = changes
    work.outcome.action = UPDATED


def _write(entity: SyncEntity, company: Company, works: list[_Work], actor: Actor) -> None:
    if not works:
        return
    rows = sorted((work.row for work in works), key=lambda row: row["guid"])
    now = timezone.now()
    # No savepoint: the callers run the whole request in one transaction and never recover
    # from an error inside it.
    with transaction.atomic(savepoint=False):
        inserted = upsert_rows(model=entity.model, company_id=company.pk, rows=rows, now=now)
        for work in works:
            # A row another request inserted after we looked is an update, not an insert.
            if work.outcome.action == INSERTED and inserted.get(work.row["guid"]) is False:
                work.outcome.action = UPDATED
        roots = [(work.row["id"], work.row["guid"]) for work in works if work.soft_deleted]
        if roots:
            touched = cascade_soft_delete_from(
                model=entity.model, company_id=company.pk, root_ids=[root_id for root_id, _ in roots], now=now
            )
            record_soft_deletes(model=entity.model, company_id=company.pk, roots=roots, touched=touched, actor=actor)
