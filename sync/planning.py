"""How a classified item becomes the row to write: insert, merged update, or unchanged.

Ractory items are compared field by field with the stored row; MES items by their canonical
``sync_hash``. Either way an update is the stored row with the item's fields on top (merge
semantics).
"""

from __future__ import annotations

import hashlib
import json
import uuid
from datetime import datetime
from typing import TYPE_CHECKING, Any

from tenants.models import Company

from .work import INSERTED, UNCHANGED, UPDATED, Work, jsonable

if TYPE_CHECKING:
    from .entities import SyncEntity


def as_bytes(value):
    return bytes(value) if isinstance(value, memoryview) else value


def sync_hash(cleaned: dict[str, Any]) -> str:
    """SHA-256 (hex) of the item's canonical JSON: keys sorted, ``,``/``:``, UTF-8."""
    canonical = json.dumps(
        {name: jsonable(value) for name, value in cleaned.items()},
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    )
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def soft_delete_state(work: Work, now) -> tuple[bool, datetime | None]:
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


def plan_insert(entity: SyncEntity, company: Company, work: Work, written_fields, now) -> None:
    cleaned = work.cleaned
    is_active, deleted_at = soft_delete_state(work, now)
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


def plan_update(entity: SyncEntity, work: Work, parents: dict, written_fields, now) -> None:
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
    is_active, deleted_at = soft_delete_state(work, now)
    if is_active != stored["is_active"]:
        changes["is_active"] = [stored["is_active"], is_active]
    if deleted_at != stored["deleted_at"]:
        changes["deleted_at"] = [stored["deleted_at"], deleted_at]
    work.outcome.guid = stored["guid"]
    if not changes:
        work.outcome.action = UNCHANGED
        return
    work.row = merged_row(entity, work, written_fields, now, is_active, deleted_at)
    work.outcome.changes = changes
    work.outcome.action = UPDATED


def merged_row(entity: SyncEntity, work: Work, written_fields, now, is_active, deleted_at) -> dict[str, Any]:
    """The stored row with the item's fields on top: fields left out keep their stored values."""
    cleaned, stored = work.cleaned, work.existing
    row = {name: stored[name] for name in written_fields}
    if "picture" in row:
        row["picture"] = as_bytes(row["picture"])
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


def plan_hashed(entity: SyncEntity, company: Company, work: Work, written_fields, now) -> None:
    """MES: ``unchanged`` by the canonical hash, or by merge semantics.

    An item is not written when its row keeps its parents and its live or deleted state, and
    either its hash is the one last synced, or every field it sends equals the stored value
    (a partial send of what is stored, a cell named in another case, a tombstone
    sent again for a row deleted already). Neither moves ``updated_at`` nor ``synced_at``.
    """
    canonical = dict(work.cleaned)
    for parent in entity.parents:
        # A nested item names its parent by nesting: hashed as if it had named it, so the same
        # row sent nested or at the top level has one hash, and a move to another parent is a change.
        if isinstance(work.parent_ids.get(parent.name), Work):
            canonical[parent.input_field] = work.parent.cleaned.get("external_id")
    digest = sync_hash(canonical)
    stored = work.existing
    if stored is None:
        plan_insert(entity, company, work, written_fields, now)
    else:
        # A nested parent is known by its work; an existing one has its row id by now (levels
        # are classified parents first), a new one has none and differs from any stored link.
        same_parents = all(
            known_id(work.parent_ids.get(parent.name)) == stored[parent.column] for parent in entity.parents
        )
        same_state = stored["is_active"] == work.cleaned.get("is_active", True)
        data_fields = entity.data_field_set
        same_fields = all(stored[name] == value for name, value in work.cleaned.items() if name in data_fields)
        if same_parents and same_state and (stored["sync_hash"] == digest or same_fields):
            work.outcome.guid = stored["guid"]
            work.outcome.action = UNCHANGED
            return
        is_active, deleted_at = soft_delete_state(work, now)
        work.row = merged_row(entity, work, written_fields, now, is_active, deleted_at)
        work.outcome.guid = stored["guid"]
        work.outcome.action = UPDATED
    work.row["sync_hash"] = digest
    work.row["synced_at"] = now


def known_id(parent) -> int | None:
    return parent.row_id if isinstance(parent, Work) else parent


class ComparedFields:
    """Ractory: an item is unchanged when every field it sends equals the stored value."""

    columns: tuple[str, ...] = ()

    def plan(self, entity: SyncEntity, company: Company, work: Work, parents: dict, written_fields, now) -> None:
        if work.existing is None:
            plan_insert(entity, company, work, written_fields, now)
        else:
            plan_update(entity, work, parents, written_fields, now)


class HashedItems:
    """MES: an item is unchanged when its canonical hash is the one last synced (or, as for
    Ractory items, every field it sends equals the stored value); the row keeps the hash."""

    columns: tuple[str, ...] = ("sync_hash",)

    def plan(self, entity: SyncEntity, company: Company, work: Work, parents: dict, written_fields, now) -> None:
        plan_hashed(entity, company, work, written_fields, now)


COMPARED_FIELDS = ComparedFields()
HASHED_ITEMS = HashedItems()
