"""What sync items name besides themselves: their company and their parents.

Each kind of reference is a class that resolves what a batch names (one query per reference,
whatever the number of items) and checks each item against it: Ractory items name parents by
guid (``ParentLink``, with the consistency rules ``SameParent``); MES items name them by external
id within the item's source or by nesting (``ExternalParent``), and a cell by name or external id
(``CellReference``). Ractory items name their company (``ItemsNameCompany``); MES items are the
caller's (``CallersCompany``). The entity descriptions (``sync.entities``) say which an entity has.

Parents are read ``FOR SHARE`` (``assemblies.locking``), in the order the entity lists its
references (top-down): a concurrent DELETE or tombstone of a parent either waits for this
request to commit and then cascades over the children it wrote, or commits first and this
request sees the parent inactive. Cells are not locked: a deleted cell keeps its operations.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.db import models
from django.db.models import Q

from assemblies.locking import rows_for_share
from assemblies.models import Cell, cell_name_key
from tenants.caller import Caller
from tenants.models import Company

from .keys import natural_key_filter
from .refusals import CompanyMismatch

if TYPE_CHECKING:
    from .work import Work

PARENT_COLUMNS = ("id", "guid", "external_source", "external_id", "is_active")


# --- The company ----------------------------------------------------------------------------


class ItemsNameCompany:
    """Ractory items name their company (``company_guid``): the caller's own, or for a
    SystemAdmin any active company, the same for every item of the request."""

    field = "company_guid"

    def resolve(self, caller: Caller, works: list[Work]) -> Company | None:
        """The one company of the batch. A non-SystemAdmin naming another company: the whole
        request is refused (``CompanyMismatch``). ``None``: a SystemAdmin's items name no active
        company."""
        named = [(work, work.cleaned[self.field]) for work in works if self.field in work.cleaned]
        if not caller.is_system_admin:
            for work, guid in named:
                if guid != caller.company.guid:
                    raise CompanyMismatch(
                        f"Item {work.outcome.index} names company {guid}; you may only sync your own company."
                    )
            return caller.company
        company = None
        if named:
            first_guid = named[0][1]
            for work, guid in named:
                if guid != first_guid:
                    work.fail_at(
                        self.field,
                        "mixed_companies",
                        f"All items of one request must name the same company ({first_guid}).",
                    )
            company = Company.objects.filter(guid=first_guid, is_active=True).first()
            if company is None:
                for work, guid in named:
                    if guid == first_guid:
                        work.fail_at(self.field, "company_not_found", f"No active company {guid}.")
        return company

    def name_default(self, item: dict, company: Company) -> None:
        """For a command writing into one company: an item naming none is for ``company``."""
        item.setdefault(self.field, str(company.guid))


class CallersCompany:
    """MES items carry no company: they are the caller's."""

    def resolve(self, caller: Caller, works: list[Work]) -> Company:
        return caller.company

    def name_default(self, item: dict, company: Company) -> None:
        pass


# --- Parents --------------------------------------------------------------------------------


@dataclass(frozen=True)
class ParentLink:
    """A foreign key the client names by the parent's guid (``<name>_guid``)."""

    name: str  # the model's FK field, e.g. "project"
    model: type[models.Model]
    nullable: bool = False  # piece → assembly may be null
    immutable: bool = True  # fixed once the row exists: its descendants copy it

    @property
    def input_field(self) -> str:
        return f"{self.name}_guid"

    @property
    def input_fields(self) -> tuple[str, ...]:
        return (self.input_field,)

    @property
    def column(self) -> str:
        return f"{self.name}_id"

    def resolve(self, company, live: list[Work], stored) -> dict:
        """The rows the link may name: by the guids items send, and the parents of the items'
        stored rows (``stored``: a queryset of them, or ``None``), read before those rows are."""
        guids = {work.cleaned[self.input_field] for work in live if work.cleaned.get(self.input_field)}
        by_guid: dict[uuid.UUID, dict] = {}
        by_id: dict[int, dict] = {}
        if guids or stored is not None:
            condition = Q(guid__in=guids)
            if stored is not None:
                condition |= Q(id__in=stored.values(self.column))
            fk_columns = [f.column for f in self.model._meta.concrete_fields if f.is_relation and f.name != "company"]
            rows = rows_for_share(
                self.model.objects.for_company(company).filter(condition).values("id", "guid", "is_active", *fk_columns)
            )
            for row in rows:
                by_guid[row["guid"]] = row
                by_id[row["id"]] = row
        return {"by_guid": by_guid, "by_id": by_id}

    def check(self, work: Work, resolved: dict) -> None:
        """The parent the item names (or its stored row has): found, active, not moved if
        immutable. A parent the item names is kept in ``work.named_parents`` for the
        consistency rules."""
        cleaned, stored = work.cleaned, work.existing
        if self.input_field not in cleaned:
            if stored is None:
                return  # required on insert: reported already
            parent_id = stored[self.column]
            work.parent_ids[self.name] = parent_id
            row = resolved["by_id"].get(parent_id) if parent_id is not None else None
            if row is not None and not row["is_active"] and cleaned.get("is_active", True):
                work.fail_at(
                    self.input_field, "parent_inactive", f"The {self.name} of this row is deleted; restore it first."
                )
            return
        guid = cleaned[self.input_field]
        if guid is None:
            work.named_parents[self.name] = None
            work.parent_ids[self.name] = None
            return
        row = resolved["by_guid"].get(guid)
        if row is None:
            work.fail_at(self.input_field, "parent_not_found", f"No {self.name} {guid} in this company.")
            return
        if stored is not None and self.immutable and stored[self.column] != row["id"]:
            work.fail_at(self.input_field, "parent_immutable", f"The {self.name} of an existing row cannot change.")
            return
        # A tombstone (is_active: false) may name a parent that is deleted already.
        if not row["is_active"] and cleaned.get("is_active", True):
            work.fail_at(
                self.input_field, "parent_inactive", f"The {self.name} {guid} is deleted; restore or re-sync it first."
            )
            return
        work.named_parents[self.name] = row
        work.parent_ids[self.name] = row["id"]


@dataclass(frozen=True)
class SameParent:
    """Consistency rule: the item's ``parent``'s own ``via`` link equals the item's ``via``.

    ``SameParent("component", "project")``: the component named must belong to the project named.
    """

    parent: str
    via: str

    def check(self, work: Work) -> None:
        row = work.named_parents.get(self.parent)
        if row is None:  # not named by the item: the stored links are consistent already
            return
        if self.via not in work.parent_ids:  # the other parent is missing: reported as required
            return
        if row[f"{self.via}_id"] != work.parent_ids.get(self.via):
            work.fail_at(
                f"{self.parent}_guid", "parent_mismatch", f"The {self.parent} does not belong to the item's {self.via}."
            )


class MesReference:
    """What every MES reference shares: the FK column it fills (``<name>_id``), never null, and
    free to change on update (no MES row copies its grandparents)."""

    name: str
    immutable = False
    nullable = False

    @property
    def column(self) -> str:
        return f"{self.name}_id"


@dataclass(frozen=True)
class ExternalParent(MesReference):
    """An MES parent named by its ``external_id`` within the item's ``external_source``
    (``job_external_id``), or implied by nesting: a part inside a job's ``parts`` belongs to
    that job."""

    name: str  # the model's FK field, e.g. "job"
    model: type[models.Model]
    input_field: str  # "job_external_id"
    nested_in: str  # the plural of the parent entity whose nested items have it implicitly

    @property
    def input_fields(self) -> tuple[str, ...]:
        return (self.input_field,)

    def resolve(self, company, live: list[Work], stored) -> dict:
        """{(source, external_id): row} of the parents top-level items name."""
        pairs = {
            (work.cleaned["external_source"], work.cleaned[self.input_field])
            for work in live
            if work.parent is None and self.input_field in work.cleaned and "external_source" in work.cleaned
        }
        if not pairs:
            return {}
        rows = rows_for_share(
            self.model.objects.for_company(company).filter(natural_key_filter(pairs)).values(*PARENT_COLUMNS)
        )
        return {(row["external_source"], row["external_id"]): row for row in rows}

    def check(self, work: Work, resolved: dict) -> None:
        parent = work.parent
        if parent is not None and parent.entity.plural == self.nested_in:
            # Nested: the enclosing item is the parent; a reference sent anyway must name it.
            sent = work.cleaned.get(self.input_field)
            if sent is not None and sent != parent.cleaned.get("external_id"):
                work.fail_at(
                    self.input_field,
                    "parent_mismatch",
                    f"Nested in {self.name} {parent.cleaned.get('external_id')!r}; "
                    f"{self.input_field} must name it or be left out.",
                )
                return
            work.parent_ids[self.name] = parent
            return
        if self.input_field not in work.cleaned:
            return  # required on top-level items: reported already
        key = (work.cleaned.get("external_source"), work.cleaned[self.input_field])
        row = resolved.get(key)
        if row is None:
            work.fail_at(
                self.input_field,
                "parent_not_found",
                f"No {self.name} with external_id {key[1]!r} from {key[0]!r} in this company.",
            )
            return
        if not row["is_active"] and work.cleaned.get("is_active", True):
            work.fail_at(
                self.input_field,
                "parent_inactive",
                f"The {self.name} {key[1]!r} is deleted; restore or re-sync it first.",
            )
            return
        work.parent_ids[self.name] = row["id"]


@dataclass(frozen=True)
class CellReference(MesReference):
    """An operation's cell: by name among the company's live cells, case-insensitively, or by
    ``external_id`` within the operation's source. Exactly one of the two."""

    name: str = "cell"
    model: type[models.Model] = Cell
    by_name: str = "cell_name"
    by_external_id: str = "cell_external_id"

    @property
    def input_fields(self) -> tuple[str, ...]:
        return (self.by_name, self.by_external_id)

    def resolve(self, company, live: list[Work], stored) -> dict:
        """The company's live cells, by folded name and by natural key. Cells are not locked: a
        deleted cell keeps its operations.

        A company has tens of work centres, not thousands: reading them all is one small query
        and folds case in Python the same way on every database (SQLite's LOWER() folds ASCII only).
        """
        if not any(self.by_name in work.cleaned or self.by_external_id in work.cleaned for work in live):
            return {"by_name": {}, "by_key": {}}
        by_name: dict[str, list[dict]] = defaultdict(list)
        by_key: dict[tuple[str, str], dict] = {}
        rows = self.model.objects.for_company(company).filter(is_active=True).values(*PARENT_COLUMNS, "name")
        for row in rows:
            by_name[cell_name_key(row["name"])].append(row)
            by_key[(row["external_source"], row["external_id"])] = row
        return {"by_name": by_name, "by_key": by_key}

    def check(self, work: Work, resolved: dict) -> None:
        cleaned = work.cleaned
        named = [name for name in (self.by_name, self.by_external_id) if name in cleaned]
        if len(named) == 2:
            work.fail_at(self.by_external_id, "exclusive_fields", "Send cell_name or cell_external_id, not both.")
            return
        if not named:
            if work.existing is None:
                work.fail_at(self.by_name, "required", "Send cell_name or cell_external_id.")
            else:  # an update that leaves the cell out keeps it (merge semantics)
                work.parent_ids[self.name] = work.existing[self.column]
            return
        if named[0] == self.by_name:
            name = cleaned[self.by_name]
            matches = resolved["by_name"].get(cell_name_key(name), [])
            if not matches:
                work.fail_at(self.by_name, "cell_not_found", f"No live cell named {name!r} in this company.")
                return
            if len(matches) > 1:
                work.fail_at(
                    self.by_name,
                    "cell_ambiguous",
                    f"{len(matches)} live cells are named {name!r}; name the cell by cell_external_id.",
                )
                return
            work.parent_ids[self.name] = matches[0]["id"]
            return
        external_id = cleaned[self.by_external_id]
        row = resolved["by_key"].get((cleaned.get("external_source"), external_id))
        if row is None:
            work.fail_at(
                self.by_external_id,
                "cell_not_found",
                f"No live cell with external_id {external_id!r} from {cleaned.get('external_source')!r}.",
            )
            return
        work.parent_ids[self.name] = row["id"]


Reference = ParentLink | ExternalParent | CellReference
