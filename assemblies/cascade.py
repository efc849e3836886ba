"""Which rows a soft delete (and a restore) carries along: the active descendants of the row."""

from __future__ import annotations

from .models import Article, Assembly, Cell, Component, Job, Operation, Part, Piece, Project, Resource

# model → ((descendant model, the descendant's link to the root), …)
#
# A link is an ORM lookup path from the descendant to the root: a plain FK name ("project") for
# every Ractory descendant and a job's parts, and a path through the intermediate parent
# ("part__job") for a job's operations, which hang off parts (no MES row copies its grandparents).
# ORM callers filter on ``f"{link}_id"`` and need nothing more; raw-SQL callers must follow a path
# link hop by hop (see ``link_hops``).
CASCADES: dict[type, tuple[tuple[type, str], ...]] = {
    Project: ((Component, "project"), (Assembly, "project"), (Piece, "project"), (Article, "project")),
    Component: ((Assembly, "component"), (Piece, "component"), (Article, "component")),
    Assembly: ((Piece, "assembly"),),
    Piece: (),
    Article: (),
    Job: ((Part, "job"), (Operation, "part__job")),
    Part: ((Operation, "part"),),
    Operation: (),
    Cell: (),  # a deleted cell keeps the operations that point at it
    Resource: (),
}


def _parent_fields() -> dict[type, tuple[str, ...]]:
    """model → the FK fields that make it a descendant (the first hop of every link to it), top-down."""
    fields: dict[type, list[str]] = {}
    for descendants in CASCADES.values():
        for child, link in descendants:
            names = fields.setdefault(child, [])
            first = link.split("__")[0]
            if first not in names:
                names.append(first)
    return {model: tuple(names) for model, names in fields.items()}


# Piece: ("project", "component", "assembly"); Operation: ("part",) — a cell is no parent.
PARENT_FIELDS: dict[type, tuple[str, ...]] = _parent_fields()

ENTITY_NAMES: dict[type, str] = {
    Project: "project",
    Component: "component",
    Assembly: "assembly",
    Piece: "piece",
    Article: "article",
    Job: "job",
    Part: "part",
    Operation: "operation",
    Cell: "cell",
    Resource: "resource",
}


def link_hops(child: type, link: str) -> list[tuple[str, str]]:
    """The (table, FK column) pairs a link crosses, from the descendant up to the root.

    ``link_hops(Piece, "project")`` is ``[("assemblies_piece", "project_id")]``;
    ``link_hops(Operation, "part__job")`` is
    ``[("assemblies_operation", "part_id"), ("assemblies_part", "job_id")]``.
    """
    hops = []
    model = child
    for name in link.split("__"):
        field = model._meta.get_field(name)
        hops.append((model._meta.db_table, field.column))
        model = field.related_model
    return hops
