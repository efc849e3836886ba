"""A restore never brings a row back under a parent that stays deleted, whatever the requests
before it did to the deleted rows.

Found by the concurrency torture (``test_concurrency_torture``) with every request serialised, so
it is no race: a tombstone may name deleted parents (docs/decisions.md) and a piece's assembly may
change on update, so a tombstone can move a deleted piece to another deleted assembly; a
restore then reactivates it by its stamp, under an assembly deleted at another time.
"""

from __future__ import annotations

import pytest

from .factories import row
from .invariants import live_children_of_dead_parents

pytestmark = pytest.mark.django_db


def test_restoring_a_component_leaves_no_piece_active_under_a_deleted_assembly(writer, company):
    project = writer.project()
    component = writer.component(project)
    gone, kept = writer.assembly(project, component), writer.assembly(project, component)
    [piece] = writer.pieces(project, component, kept)
    assert writer.client.delete(f"/api/v1/assemblies/{gone}").status_code == 204
    assert writer.client.delete(f"/api/v1/components/{component}").status_code == 204  # kept, piece: its stamp

    # A tombstone for the deleted piece naming the assembly deleted earlier: accepted (it moves the
    # piece) or refused; either way the piece stays deleted.
    tombstone = writer.item(
        "pieces", guid=piece, project_guid=project, component_guid=component, assembly_guid=gone, is_active=False
    )
    moved = writer.post("pieces", [tombstone])
    assert moved.status_code in (200, 422), moved.content
    assert not row("pieces", piece).is_active

    restored = writer.client.post(f"/api/v1/components/{component}/restore")

    assert restored.status_code == 204, restored.content
    assert row("components", component).is_active and row("assemblies", kept).is_active
    assert not row("assemblies", gone).is_active  # deleted at another time: stays deleted
    assert live_children_of_dead_parents(company) == []
