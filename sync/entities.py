"""The per-entity descriptions that drive the one generic sync service (architecture.md §2).

An entity is its model, its item serializer, its upsert key, its references to parents, its
consistency and live-uniqueness rules and, for the MES, its nested children. Nothing else in
the sync path knows which entity it is working on.

Two families share the engine: Ractory entities are keyed by (company, guid) and name parents by
guid (``ParentLink``); MES entities are keyed by (company, external_source, external_id), name
parents by external id (``ExternalParent``) or a cell by name (``CellReference``), and detect
unchanged items by ``sync_hash``.
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
from .mes_items import (
    CellSyncItemSerializer,
    JobSyncItemSerializer,
    MesSyncItemSerializer,
    OperationSyncItemSerializer,
    PartSyncItemSerializer,
    ResourceSyncItemSerializer,
)
from .validation import ItemValidator


@dataclass(frozen=True)
class ParentLink:
    """A foreign key the client names by the parent's guid (``<name>_guid``)."""

    name: str  # the model's FK field, e.g. "project"
    model: type[models.Model]
    nullable: bool = False  # piece → assembly may be null
    immutable: bool = True  # fixed once the row exists (children copy it), data-model §3.0

    @property
    def input_field(self) -> str:
        return f"{self.name}_guid"

    @property
    def input_fields(self) -> tuple[str, ...]:
        return (self.input_field,)

    @property
    def column(self) -> str:
        return f"{self.name}_id"


class MesReference:
    """What every MES reference shares: the FK column it fills (``<name>_id``), never null, and
    free to change on update (no MES row copies its grandparents, data-model §4.6)."""

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
    that job (data-model §4.6)."""

    name: str  # the model's FK field, e.g. "job"
    model: type[models.Model]
    input_field: str  # "job_external_id"
    nested_in: str  # the plural of the parent entity whose nested items have it implicitly

    @property
    def input_fields(self) -> tuple[str, ...]:
        return (self.input_field,)


@dataclass(frozen=True)
class CellReference(MesReference):
    """An operation's cell: by name among the company's live cells, case-insensitively, or by
    ``external_id`` within the operation's source. Exactly one of the two (§4.5, §4.6)."""

    name: str = "cell"
    model: type[models.Model] = Cell
    by_name: str = "cell_name"
    by_external_id: str = "cell_external_id"

    @property
    def input_fields(self) -> tuple[str, ...]:
        return (self.by_name, self.by_external_id)


@dataclass(frozen=True)
class LiveUnique:
    """A business key unique among live rows, judged on the state after the whole request:
    ``field`` within the parent ``scope`` (a link name) or within the company (``None``)."""

    field: str
    scope: str | None = None
    fold: Callable[[str], str] | None = None  # cell names: compared by cell_name_key


@dataclass(frozen=True)
class SameParent:
    """Consistency rule: the item's ``parent``'s own ``via`` link equals the item's ``via``.

    ``SameParent("component", "project")``: the component named must belong to the project named.
    """

    parent: str
    via: str


GUID_KEY = ("guid",)
NATURAL_KEY = ("external_source", "external_id")


@dataclass(frozen=True)
class SyncEntity:
    plural: str  # the path segment and the body's wrapper key
    singular: str  # for messages and sync runs
    model: type[models.Model]
    item_serializer: type[SyncItemSerializer] | type[MesSyncItemSerializer]
    parents: tuple[ParentLink | ExternalParent | CellReference, ...] = ()
    consistency: tuple[SameParent, ...] = field(default=())
    unique_live: tuple[LiveUnique, ...] = ()

    @property
    def is_mes(self) -> bool:
        return issubclass(self.item_serializer, MesSyncItemSerializer)

    @property
    def key(self) -> tuple[str, ...]:
        """The upsert key within the company (and the ``ON CONFLICT`` target)."""
        return NATURAL_KEY if self.is_mes else GUID_KEY

    @property
    def hashed(self) -> bool:
        """Unchanged items are found by ``sync_hash`` (MES, data-model §4.7), not by comparison."""
        return self.is_mes

    @property
    def names_company(self) -> bool:
        """Ractory items name their company (``company_guid``); MES items are the caller's."""
        return not self.is_mes

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
        base = MesSyncItemSerializer if self.is_mes else SyncItemSerializer
        skipped = set(base().fields) | set(self.ignored_fields) | set(self.nested)
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
        SyncEntity("projects", "project", Project, ProjectSyncItemSerializer),
        SyncEntity("components", "component", Component, ComponentSyncItemSerializer, parents=(PROJECT,)),
        SyncEntity(
            "assemblies",
            "assembly",
            Assembly,
            AssemblySyncItemSerializer,
            parents=(PROJECT, COMPONENT),
            consistency=(SameParent("component", "project"),),
        ),
        SyncEntity(
            "pieces",
            "piece",
            Piece,
            PieceSyncItemSerializer,
            parents=(PROJECT, COMPONENT, ParentLink("assembly", Assembly, nullable=True, immutable=False)),
            consistency=(SameParent("component", "project"), SameParent("assembly", "component")),
        ),
        SyncEntity(
            "articles",
            "article",
            Article,
            ArticleSyncItemSerializer,
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
            unique_live=(LiveUnique("name", fold=cell_name_key),),
        ),
        SyncEntity("resources", "resource", Resource, ResourceSyncItemSerializer),
        SyncEntity("jobs", "job", Job, JobSyncItemSerializer, unique_live=(LiveUnique("job_number"),)),
        SyncEntity(
            "parts",
            "part",
            Part,
            PartSyncItemSerializer,
            parents=(JOB,),
            unique_live=(LiveUnique("part_number", scope="job"),),
        ),
        SyncEntity(
            "operations",
            "operation",
            Operation,
            OperationSyncItemSerializer,
            parents=(PART, CellReference()),
            unique_live=(LiveUnique("sequence", scope="part"),),
        ),
    )
}
