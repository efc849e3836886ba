"""The per-entity descriptions that drive the one generic sync engine (``sync.services``).

An entity is its model, its item serializer, its family, its references to parents, its
consistency and live-uniqueness rules and, for the MES, its nested children. Nothing else in
the sync path knows which entity it is working on, nor which family.

Two families share the engine (``Family``): Ractory entities are keyed by (company, guid), name
their company and their parents by guid (``ParentLink``) and find unchanged items by comparing
fields; MES entities are keyed by (company, external_source, external_id), are the caller's,
name parents by external id or nesting (``ExternalParent``) or a cell by name
(``CellReference``), and find unchanged items by ``sync_hash``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property

from django.db import models

from assemblies.models import (
    Article,
    Assembly,
    Cell,
    Component,
    Job,
    Operation,
    Part,
    Piece,
    Project,
    Resource,
    cell_name_key,
)

from .items import (
    ArticleSyncItemSerializer,
    AssemblySyncItemSerializer,
    ComponentSyncItemSerializer,
    PieceSyncItemSerializer,
    ProjectSyncItemSerializer,
    SyncItemSerializer,
)
from .keys import GUID_KEY, NATURAL_KEY, UpsertKey
from .mes_items import (
    CellSyncItemSerializer,
    JobSyncItemSerializer,
    MesSyncItemSerializer,
    OperationSyncItemSerializer,
    PartSyncItemSerializer,
    ResourceSyncItemSerializer,
)
from .planning import COMPARED_FIELDS, HASHED_ITEMS, ComparedFields, HashedItems
from .references import (
    CallersCompany,
    CellReference,
    ExternalParent,
    ItemsNameCompany,
    ParentLink,
    Reference,
    SameParent,
)
from .validation import ItemValidator


@dataclass(frozen=True)
class LiveUnique:
    """A business key unique among live rows, judged on the state after the whole request:
    ``field`` within the parent ``scope`` (a link name) or within the company (``None``)."""

    field: str
    scope: str | None = None
    fold: Callable[[str], str] | None = None  # cell names: compared by cell_name_key


@dataclass(frozen=True)
class Family:
    """What the entities of one API family have in common; the engine reads these instead of
    asking which family an entity belongs to."""

    name: str
    item_base: type[SyncItemSerializer] | type[MesSyncItemSerializer]  # the fields every item has
    key: UpsertKey
    company: ItemsNameCompany | CallersCompany  # where an item's company comes from
    change_detection: ComparedFields | HashedItems  # how an unchanged item is found
    # Writers of one company's tables take turns (an advisory lock per table): a concurrent
    # insert of the same new row is then classified after the first commits (merged, never
    # overwritten with defaults), and the live business keys are judged on committed state.
    writers_take_turns: bool


RACTORY = Family("ractory", SyncItemSerializer, GUID_KEY, ItemsNameCompany(), COMPARED_FIELDS, writers_take_turns=False)
MES = Family("mes", MesSyncItemSerializer, NATURAL_KEY, CallersCompany(), HASHED_ITEMS, writers_take_turns=True)


@dataclass(frozen=True)
class SyncEntity:
    plural: str  # the path segment and the body's wrapper key
    singular: str  # for messages and sync runs
    model: type[models.Model]
    item_serializer: type[SyncItemSerializer] | type[MesSyncItemSerializer]
    family: Family
    parents: tuple[Reference, ...] = ()
    consistency: tuple[SameParent, ...] = field(default=())
    unique_live: tuple[LiveUnique, ...] = ()

    @property
    def key(self) -> tuple[str, ...]:
        """The upsert key's fields within the company (and the ``ON CONFLICT`` target)."""
        return self.family.key.fields

    @property
    def nested(self) -> dict[str, str]:
        return getattr(self.item_serializer, "nested", {})

    @property
    def ignored_fields(self) -> tuple[str, ...]:
        return getattr(self.item_serializer, "ignored", ())

    @property
    def top_level_required(self) -> tuple[str, ...]:
        return getattr(self.item_serializer, "top_level_required", ())

    @cached_property
    def validator(self) -> ItemValidator:
        return ItemValidator(self.item_serializer)

    @cached_property
    def data_fields(self) -> tuple[str, ...]:
        """The item's own stored fields (not the shared ones, not references, not ignored)."""
        skipped = set(self.family.item_base().fields) | set(self.ignored_fields) | set(self.nested)
        skipped |= {name for parent in self.parents for name in parent.input_fields}
        return tuple(name for name in self.validator.field_names if name not in skipped)

    @cached_property
    def insert_only_defaults(self) -> dict[str, object]:
        """Columns sync never writes but an insert must fill: the MES-owned ``status``.

        Every row of a batch carries them (the upsert writes one column list), and the upsert's
        ``DO UPDATE`` leaves them out, so an update never touches the stored value.
        """
        return {
            name: self.model._meta.get_field(name).get_default()
            for name in self.ignored_fields
            if self.model._meta.get_field(name).has_default()
        }

    @cached_property
    def data_field_set(self) -> frozenset[str]:
        return frozenset(self.data_fields)

    @cached_property
    def model_defaults(self) -> dict[str, object]:
        """Column defaults applied to inserts for fields an item leaves out."""
        defaults = {}
        for name in self.data_fields:
            model_field = self.model._meta.get_field(name)
            defaults[name] = model_field.get_default() if model_field.has_default() else None
        return defaults


PROJECT = ParentLink("project", Project)
COMPONENT = ParentLink("component", Component)

SYNC_ENTITIES: dict[str, SyncEntity] = {
    entity.plural: entity
    for entity in (
        SyncEntity("projects", "project", Project, ProjectSyncItemSerializer, RACTORY),
        SyncEntity("components", "component", Component, ComponentSyncItemSerializer, RACTORY, parents=(PROJECT,)),
        SyncEntity(
            "assemblies",
            "assembly",
            Assembly,
            AssemblySyncItemSerializer,
            RACTORY,
            parents=(PROJECT, COMPONENT),
            consistency=(SameParent("component", "project"),),
        ),
        SyncEntity(
            "pieces",
            "piece",
            Piece,
            PieceSyncItemSerializer,
            RACTORY,
            parents=(PROJECT, COMPONENT, ParentLink("assembly", Assembly, nullable=True, immutable=False)),
            consistency=(SameParent("component", "project"), SameParent("assembly", "component")),
        ),
        SyncEntity(
            "articles",
            "article",
            Article,
            ArticleSyncItemSerializer,
            RACTORY,
            parents=(PROJECT, COMPONENT),
            consistency=(SameParent("component", "project"),),
        ),
    )
}


JOB = ExternalParent("job", Job, "job_external_id", nested_in="jobs")
PART = ExternalParent("part", Part, "part_external_id", nested_in="parts")

MES_ENTITIES: dict[str, SyncEntity] = {
    entity.plural: entity
    for entity in (
        SyncEntity(
            "cells",
            "cell",
            Cell,
            CellSyncItemSerializer,
            MES,
            unique_live=(LiveUnique("name", fold=cell_name_key),),
        ),
        SyncEntity("resources", "resource", Resource, ResourceSyncItemSerializer, MES),
        SyncEntity("jobs", "job", Job, JobSyncItemSerializer, MES, unique_live=(LiveUnique("job_number"),)),
        SyncEntity(
            "parts",
            "part",
            Part,
            PartSyncItemSerializer,
            MES,
            parents=(JOB,),
            unique_live=(LiveUnique("part_number", scope="job"),),
        ),
        SyncEntity(
            "operations",
            "operation",
            Operation,
            OperationSyncItemSerializer,
            MES,
            parents=(PART, CellReference()),
            unique_live=(LiveUnique("sequence", scope="part"),),
        ),
    )
}
