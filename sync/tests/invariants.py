"""Invariants of the stored production data, read straight from the database: parent links,
natural keys and live business keys (listed below). Each check answers a list of violations
(empty when the data holds), described so that a failing test can print them as they are.

The checks are derived from the models and the engine's own descriptions, not from a hand list:

- parent links: every foreign key between production models; each must be in the cascade map
  (``assemblies.cascade.CASCADES``) or be one of the documented links without liveness;
- natural keys: the Ractory ``guid`` and the MES (``external_source``, ``external_id``);
- live business keys: the ``unique_live`` rules of ``sync.entities.MES_ENTITIES``.

Every check is one statement per link or rule, so each sees one consistent snapshot and may run
while writers are busy.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from django.db.models import Count, F

from assemblies.cascade import CASCADES
from assemblies.models import MesEntity, Operation
from sync.entities import MES_ENTITIES

# Foreign keys whose parent may be deleted under live children: a deleted cell keeps the
# operations that point at it. Every other link carries liveness.
LINKS_WITHOUT_LIVENESS = {(Operation, "cell")}


def parent_links() -> list[tuple[type, object]]:
    """(child model, foreign key) of every parent link whose parent's soft delete reaches the
    child. A foreign key between production models that is neither cascaded nor listed in
    ``LINKS_WITHOUT_LIVENESS`` is an error: the checks must not go stale silently."""
    links = []
    for child in CASCADES:
        for field in child._meta.concrete_fields:
            if not field.is_relation or field.related_model not in CASCADES:
                continue
            if (child, field.name) in LINKS_WITHOUT_LIVENESS:
                continue
            cascaded = {(model, link) for model, link in CASCADES[field.related_model]}
            if (child, field.name) not in cascaded:
                raise AssertionError(
                    f"{child.__name__}.{field.name} links to {field.related_model.__name__} but is not in its "
                    "cascade map (assemblies/cascade.py) nor in LINKS_WITHOUT_LIVENESS"
                )
            links.append((child, field))
    return links


def _label(model) -> str:
    return model.__name__.lower()


def _key_columns(model) -> list[str]:
    return ["external_source", "external_id"] if issubclass(model, MesEntity) else ["guid"]


@dataclass
class Orphans:
    """The active rows of ``child`` whose parent through ``link`` is inactive."""

    child: type
    link: str
    rows: list[dict]  # the child's key, created_at, updated_at; the parent's key and deleted_at

    def key(self, row: dict) -> str:
        """How requests name the row: its guid, or (MES) its external_id."""
        return str(row["external_id"] if issubclass(self.child, MesEntity) else row["guid"])

    def parent_key(self, row: dict) -> str:
        return str(row["parent_external_id"] if issubclass(self.child, MesEntity) else row["parent_guid"])

    def describe(self, limit: int = 5) -> str:
        sample = "\n    ".join(
            f"{_label(self.child)} {', '.join(str(row[name]) for name in _key_columns(self.child))} active "
            f"(created {row['created_at'].isoformat()}, updated {row['updated_at'].isoformat()}) under "
            f"{self.link} {row['parent_guid']} deleted at {row['parent_deleted_at'].isoformat()}"
            for row in self.rows[:limit]
        )
        return f"{len(self.rows)} active {_label(self.child)} rows under an inactive {self.link}, e.g.\n    {sample}"


def orphans(company) -> list[Orphans]:
    """Active rows whose parent (through any link with liveness) is inactive, per link."""
    found = []
    for child, field in parent_links():
        parent_key = {"parent_external_id": F(f"{field.name}__external_id")} if issubclass(child, MesEntity) else {}
        rows = list(  # one statement per link: the count and the sample of one snapshot
            child.objects.filter(company=company, is_active=True, **{f"{field.name}__is_active": False})
            .order_by("id")
            .values(
                *_key_columns(child),
                "created_at",
                "updated_at",
                parent_guid=F(f"{field.name}__guid"),
                parent_deleted_at=F(f"{field.name}__deleted_at"),
                **parent_key,
            )
        )
        if rows:
            found.append(Orphans(child, field.name, rows))
    return found


def live_children_of_dead_parents(company, limit: int = 5) -> list[str]:
    """Active rows whose parent (through any link with liveness) is inactive, described."""
    return [found.describe(limit) for found in orphans(company)]


def duplicate_natural_keys(company) -> list[str]:
    """Two rows of one company with the same upsert key (Ractory guid, MES natural key)."""
    found = []
    for model in CASCADES:
        key = _key_columns(model)
        duplicates = list(
            model.objects.filter(company=company).values(*key).annotate(rows=Count("id")).filter(rows__gt=1)[:5]
        )
        for row in duplicates:
            found.append(f"{row['rows']} {_label(model)} rows with the key {[row[name] for name in key]}")
    return found


def duplicate_live_business_keys(company) -> list[str]:
    """Two live rows sharing a business key that must be unique among live rows (cell name, job
    number, part number per job, operation sequence per part), compared the way the engine
    compares them (``LiveUnique.fold``: cell names by ``cell_name_key``)."""
    found = []
    for entity in MES_ENTITIES.values():
        for rule in entity.unique_live:
            scope = f"{rule.scope}_id" if rule.scope else None
            fold = rule.fold or (lambda value: value)
            seen: Counter = Counter()
            live = entity.model.objects.filter(company=company, is_active=True)
            for row in live.values_list(scope or "company_id", rule.field):
                seen[(row[0], fold(row[1]) if isinstance(row[1], str) else row[1])] += 1
            for (where_id, value), rows in seen.items():
                if rows > 1:
                    where = f" in {rule.scope} id {where_id}" if scope else ""
                    found.append(f"{rows} live {entity.singular} rows with {rule.field} {value!r}{where}")
    return found[:20]
