"""The five entities read through ``/api/v1/<plural>``: how each is shown and filtered, and the
texts that describe its endpoints (in the OpenAPI document and in an ``OPTIONS`` answer)."""

from __future__ import annotations

from dataclasses import dataclass

from .. import filtersets
from ..models import Article, Assembly, Component, Piece, Project
from ..selectors import Representation


@dataclass(frozen=True)
class ReadEntity:
    plural: str
    singular: str
    representation: Representation
    filterset: type

    @property
    def list_description(self) -> str:
        return (
            f"Active {self.plural} of your company (a SystemAdmin: of every company), oldest first, "
            "as a bare array; X-Total-Count and Link headers page it."
        )

    @property
    def retrieve_description(self) -> str:
        return f"One {self.singular}, with its picture (base64) and real counts of its active children."

    @property
    def destroy_description(self) -> str:
        return (
            f"Soft-delete the {self.singular} and its active descendants with one timestamp "
            "(restorable together). A deleted one is a 404."
        )

    @property
    def restore_description(self) -> str:
        return (
            f"Restore a deleted {self.singular} and exactly the descendants deleted with it. "
            "An active one is a 404; one whose parent is deleted is a 409 parent_inactive."
        )


READ_ENTITIES = {
    entity.plural: entity
    for entity in (
        ReadEntity("projects", "project", Representation(Project, ()), filtersets.ProjectFilterSet),
        ReadEntity("components", "component", Representation(Component, ("project",)), filtersets.ComponentFilterSet),
        ReadEntity(
            "assemblies", "assembly", Representation(Assembly, ("project", "component")), filtersets.AssemblyFilterSet
        ),
        ReadEntity(
            "pieces", "piece", Representation(Piece, ("project", "component", "assembly")), filtersets.PieceFilterSet
        ),
        ReadEntity(
            "articles", "article", Representation(Article, ("project", "component")), filtersets.ArticleFilterSet
        ),
    )
}
