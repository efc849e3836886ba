"""Which rows a soft delete (and a restore) carries along (data-model §3.8)."""

from __future__ import annotations

from .models import Article, Assembly, Component, Piece, Project

# model → ((descendant model, the descendant's link to the root), …)
CASCADES: dict[type, tuple[tuple[type, str], ...]] = {
    Project: ((Component, "project"), (Assembly, "project"), (Piece, "project"), (Article, "project")),
    Component: ((Assembly, "component"), (Piece, "component"), (Article, "component")),
    Assembly: ((Piece, "assembly"),),
    Piece: (),
    Article: (),
}

ENTITY_NAMES: dict[type, str] = {
    Project: "project",
    Component: "component",
    Assembly: "assembly",
    Piece: "piece",
    Article: "article",
}
