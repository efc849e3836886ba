"""What the sync engine knows of a request while it works on it, and what it answers.

``Work`` is one item (or one nested item of a tree); ``ItemOutcome`` is what a top-level item
reports; ``SyncOutcome`` is the whole batch.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from ractory.refusals import FieldError, json_pointer
from tenants.models import Company

if TYPE_CHECKING:
    from .entities import SyncEntity

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
                name: [jsonable(old), jsonable(new)] for name, (old, new) in (self.changes or {}).items()
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
class Work:
    """What the engine knows of one item (or one nested item of a tree) while it works on it.

    Each stage fills its own fields, in the order of ``services.sync_items``; errors go to the
    top-level item's outcome (``fail``) from any stage.
    """

    # validation (services._take)
    entity: SyncEntity
    outcome: ItemOutcome
    cleaned: dict[str, Any]
    path: tuple  # JSON Pointer segments of the item in the body
    root: Work | None = None  # the top-level item of its tree (None: this is one)
    parent: Work | None = None  # the enclosing item of a nested one
    is_object: bool = True
    own_errors: bool = False
    # classification (services._classify): the stored row, then the references' checks
    existing: dict[str, Any] | None = None
    parent_ids: dict[str, Any] = field(default_factory=dict)  # link → row id, or the parent's Work
    named_parents: dict[str, Any] = field(default_factory=dict)  # link → the parent row the item names
    # planning (sync.planning)
    row: dict[str, Any] | None = None  # the full row to write
    soft_deleted: bool = False  # this write soft-deletes an active row: cascade it
    tree_writes: bool = False  # (top-level items) some row of the tree is written
    # the write (services._write); a stored row's id is known from classification already
    row_id: int | None = None

    @property
    def top(self) -> Work:
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


def jsonable(value):
    if isinstance(value, (bytes, memoryview)):
        return f"<{len(value)} bytes>"
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    return value
