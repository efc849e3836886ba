"""The per-entity descriptions that drive the one generic sync service (architecture.md §2).

An entity is its model, its item serializer, its parent links and its consistency rules.
Nothing else in the sync path knows which entity it is working on.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

from django.db import models

from assemblies.models import Article, Assembly, Component, Piece, Project

from .api.serializers import (
    ArticleSyncItemSerializer,
    AssemblySyncItemSerializer,
    ComponentSyncItemSerializer,
    PieceSyncItemSerializer,
    ProjectSyncItemSerializer,
    SyncItemSerializer,
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
    def column(self) -> str:
        return f"{self.name}_id"


@dataclass(frozen=True)
class SameParent:
    """Consistency rule: the item's ``parent``'s own ``via`` link equals the item's ``via``.

    ``SameParent("component", "project")``: the component named must belong to the project named.
    """

    parent: str
    via: str


@dataclass(frozen=True)
class SyncEntity:
    plural: str  # the path segment and the body's wrapper key
    singular: str  # for messages and sync runs
    model: type[models.Model]
    item_serializer: type[SyncItemSerializer]
    parents: tuple[ParentLink, ...] = ()
    consistency: tuple[SameParent, ...] = field(default=())

    @cached_property
    def validator(self) -> ItemValidator:
        return ItemValidator(self.item_serializer)

    @cached_property
    def data_fields(self) -> tuple[str, ...]:
        """The item's own stored fields (not the shared four, not parent links)."""
        shared = set(SyncItemSerializer().fields)
        parents = {parent.input_field for parent in self.parents}
        return tuple(name for name in self.validator.field_names if name not in shared and name not in parents)

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
