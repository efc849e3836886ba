"""Parents named by sync items: Ractory items by guid (``ParentLink``, with the consistency
rules), MES items by external id within the item's source, by nesting, or (cells) by name
(data-model §4.6). One query per reference, whatever the number of items.

Parents are read ``FOR SHARE`` (``assemblies.locking``), in the order the entity lists its
references (top-down): a concurrent DELETE or tombstone of a parent either waits for this
request to commit and then cascades over the children it wrote, or commits first and this
request sees the parent inactive. Cells are not locked: a deleted cell keeps its operations.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from typing import TYPE_CHECKING

from django.db.models import Q

from assemblies.locking import rows_for_share
from assemblies.models import cell_name_key

from .entities import CellReference, ExternalParent, ParentLink, SyncEntity

if TYPE_CHECKING:
    from .work import Work

PARENT_COLUMNS = ("id", "guid", "external_source", "external_id", "is_active")


def natural_key_filter(pairs) -> Q:
    """``(external_source, external_id) IN pairs`` as one condition: one ``IN`` per source."""
    by_source: dict[str, set[str]] = defaultdict(set)
    for source, external_id in pairs:
        by_source[source].add(external_id)
    condition = Q(pk__in=[])
    for source, external_ids in by_source.items():
        condition |= Q(external_source=source, external_id__in=external_ids)
    return condition


def resolve_external_parent(reference: ExternalParent, company, works: list[Work]) -> dict:
    """{(source, external_id): row} of the parents top-level items name."""
    pairs = {
        (work.cleaned["external_source"], work.cleaned[reference.input_field])
        for work in works
        if work.parent is None and reference.input_field in work.cleaned and "external_source" in work.cleaned
    }
    if not pairs:
        return {}
    rows = rows_for_share(
        reference.model.objects.for_company(company).filter(natural_key_filter(pairs)).values(*PARENT_COLUMNS)
    )
    return {(row["external_source"], row["external_id"]): row for row in rows}


def check_external_parent(reference: ExternalParent, work: Work, resolved: dict) -> None:
    parent = work.parent
    if parent is not None and parent.entity.plural == reference.nested_in:
        # Nested: the enclosing item is the parent; a reference sent anyway must name it.
        sent = work.cleaned.get(reference.input_field)
        if sent is not None and sent != parent.cleaned.get("external_id"):
            work.fail_at(
                reference.input_field,
                "parent_mismatch",
                f"Nested in {reference.name} {parent.cleaned.get('external_id')!r}; "
                f"{reference.input_field} must name it or be left out.",
            )
            return
        work.parent_ids[reference.name] = parent
        return
    if reference.input_field not in work.cleaned:
        return  # required on top-level items: reported already
    key = (work.cleaned.get("external_source"), work.cleaned[reference.input_field])
    row = resolved.get(key)
    if row is None:
        work.fail_at(
            reference.input_field,
            "parent_not_found",
            f"No {reference.name} with external_id {key[1]!r} from {key[0]!r} in this company.",
        )
        return
    if not row["is_active"] and work.cleaned.get("is_active", True):
        work.fail_at(
            reference.input_field,
            "parent_inactive",
            f"The {reference.name} {key[1]!r} is deleted; restore or re-sync it first.",
        )
        return
    work.parent_ids[reference.name] = row["id"]


def resolve_cells(reference: CellReference, company, works: list[Work]) -> dict:
    """The company's live cells, by folded name and by natural key.

    A company has tens of work centres, not thousands: reading them all is one small query and
    folds case in Python the same way on every database (SQLite's LOWER() folds ASCII only).
    """
    if not any(reference.by_name in work.cleaned or reference.by_external_id in work.cleaned for work in works):
        return {"by_name": {}, "by_key": {}}
    by_name: dict[str, list[dict]] = defaultdict(list)
    by_key: dict[tuple[str, str], dict] = {}
    rows = reference.model.objects.for_company(company).filter(is_active=True).values(*PARENT_COLUMNS, "name")
    for row in rows:
        by_name[cell_name_key(row["name"])].append(row)
        by_key[(row["external_source"], row["external_id"])] = row
    return {"by_name": by_name, "by_key": by_key}


def check_cell(reference: CellReference, work: Work, resolved: dict) -> None:
    cleaned = work.cleaned
    named = [name for name in (reference.by_name, reference.by_external_id) if name in cleaned]
    if len(named) == 2:
        work.fail_at(reference.by_external_id, "exclusive_fields", "Send cell_name or cell_external_id, not both.")
        return
    if not named:
        if work.existing is None:
            work.fail_at(reference.by_name, "required", "Send cell_name or cell_external_id.")
        else:  # an update that leaves the cell out keeps it (merge semantics)
            work.parent_ids[reference.name] = work.existing[reference.column]
        return
    if named[0] == reference.by_name:
        name = cleaned[reference.by_name]
        matches = resolved["by_name"].get(cell_name_key(name), [])
        if not matches:
            work.fail_at(reference.by_name, "cell_not_found", f"No live cell named {name!r} in this company.")
            return
        if len(matches) > 1:
            work.fail_at(
                reference.by_name,
                "cell_ambiguous",
                f"{len(matches)} live cells are named {name!r}; name the cell by cell_external_id.",
            )
            return
        work.parent_ids[reference.name] = matches[0]["id"]
        return
    external_id = cleaned[reference.by_external_id]
    row = resolved["by_key"].get((cleaned.get("external_source"), external_id))
    if row is None:
        work.fail_at(
            reference.by_external_id,
            "cell_not_found",
            f"No live cell with external_id {external_id!r} from {cleaned.get('external_source')!r}.",
        )
        return
    work.parent_ids[reference.name] = row["id"]


def resolve_guid_parent(parent: ParentLink, company, live, stored) -> dict:
    """The rows a guid link may name: by the guids items send, and the parents of the items'
    stored rows (``stored``: a queryset of them, or ``None``), read before those rows are."""
    guids = {work.cleaned[parent.input_field] for work in live if work.cleaned.get(parent.input_field)}
    by_guid: dict[uuid.UUID, dict] = {}
    by_id: dict[int, dict] = {}
    if guids or stored is not None:
        condition = Q(guid__in=guids)
        if stored is not None:
            condition |= Q(id__in=stored.values(parent.column))
        fk_columns = [f.column for f in parent.model._meta.concrete_fields if f.is_relation and f.name != "company"]
        rows = rows_for_share(
            parent.model.objects.for_company(company).filter(condition).values("id", "guid", "is_active", *fk_columns)
        )
        for row in rows:
            by_guid[row["guid"]] = row
            by_id[row["id"]] = row
    return {"by_guid": by_guid, "by_id": by_id}


def check_guid_parents(entity: SyncEntity, work: Work, parents: dict) -> None:
    """A Ractory item's parents: found, active, not moved if immutable, consistent."""
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
