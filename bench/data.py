"""The rows the benchmark writes: sync items for the HTTP endpoints, the same rows for the floor.

A ``Shape`` knows one table: its columns (in the order the floor writes them, with their
PostgreSQL types), how to build a realistic sync item for row ``n`` at revision ``rev`` (every
field filled, as an ERP sends it), and how to turn that item into the floor's row tuple with
the parent ids already resolved. Import it after ``django.setup()`` (it reads the piece
field lists from the model module).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from assemblies.models.piece import PIECE_INTEGER_FIELDS, PIECE_STRING_FIELDS


@dataclass(frozen=True)
class Parents:
    """The parent rows every benchmark item points to (created once per run)."""

    company_id: int
    company_guid: uuid.UUID
    project_id: int
    project_guid: uuid.UUID
    component_id: int
    component_guid: uuid.UUID
    assemblies: tuple[tuple[int, uuid.UUID], ...]  # (id, guid), pieces cycle over them
    # MES: the parts operations cycle over, (id, external_id), and the cell they all name.
    parts: tuple[tuple[int, str], ...] = ()
    cell_id: int = 0
    cell_name: str = ""


def _text(name: str, n: int, rev: int, length: int) -> str:
    base = f"{name}-{n}-r{rev}"
    if length >= 1000:  # the long free-text fields: about 80 characters, as ERPs send them
        base = f"{base} " + "cut 45/45, drill 2x8mm, mill slot 12x40, deburr; "[: 80 - len(base)]
    return base[:length]


class Shape:
    plural: str
    table: str
    columns: tuple[tuple[str, str], ...]  # (column, PostgreSQL type) in the floor's order
    conflict: tuple[str, ...] = ("guid",)  # the upsert key within the company

    def item(self, guid: uuid.UUID, n: int, rev: int, parents: Parents) -> dict:
        raise NotImplementedError

    def row(self, item: dict, parents: Parents, now: datetime) -> tuple:
        raise NotImplementedError


_COMMON = (
    ("company_id", "bigint"),
    ("guid", "uuid"),
    ("created_at", "timestamptz"),
    ("updated_at", "timestamptz"),
    ("is_active", "boolean"),
    ("deleted_at", "timestamptz"),
)


class PieceShape(Shape):
    plural = "pieces"
    table = "assemblies_piece"
    strings = tuple((name, length) for length, names in PIECE_STRING_FIELDS for name in names)
    columns = (
        *_COMMON,
        ("piece_id", "varchar"),
        ("barcode", "varchar"),
        ("project_id", "bigint"),
        ("component_id", "bigint"),
        ("assembly_id", "bigint"),
        *((name, "integer") for name in PIECE_INTEGER_FIELDS),
        *((name, "varchar") for name, _length in strings),
    )

    def item(self, guid, n, rev, parents):
        _assembly_id, assembly_guid = parents.assemblies[n % len(parents.assemblies)]
        item = {
            "guid": str(guid),
            "company_guid": str(parents.company_guid),
            "project_guid": str(parents.project_guid),
            "component_guid": str(parents.component_guid),
            "assembly_guid": str(assembly_guid),
            "piece_id": f"PC-{n:06d}",
            "barcode": f"BC{n:08d}R{rev}",
        }
        for position, name in enumerate(PIECE_INTEGER_FIELDS):
            item[name] = 100 + (n * 7 + position * 13 + rev) % 5000
        for name, length in self.strings:
            item[name] = _text(name, n, rev, length)
        return item

    def row(self, item, parents, now):
        assembly_ids = dict((guid, pk) for pk, guid in parents.assemblies)
        return (
            parents.company_id,
            uuid.UUID(item["guid"]),
            now,
            now,
            True,
            None,
            item["piece_id"],
            item["barcode"],
            parents.project_id,
            parents.component_id,
            assembly_ids[uuid.UUID(item["assembly_guid"])],
            *(item[name] for name in PIECE_INTEGER_FIELDS),
            *(item[name] for name, _length in self.strings),
        )


class AssemblyShape(Shape):
    plural = "assemblies"
    table = "assemblies_assembly"
    columns = (
        *_COMMON,
        ("project_id", "bigint"),
        ("component_id", "bigint"),
        ("trolley_cell", "varchar"),
        ("trolley", "varchar"),
        ("cell_number", "integer"),
    )

    def item(self, guid, n, rev, parents):
        return {
            "guid": str(guid),
            "company_guid": str(parents.company_guid),
            "project_guid": str(parents.project_guid),
            "component_guid": str(parents.component_guid),
            "trolley_cell": f"T{n // 50:03d}-{n % 50:02d}-r{rev}",
            "trolley": f"T{n // 50:03d}",
            "cell_number": n % 50 + rev,
        }

    def row(self, item, parents, now):
        return (
            parents.company_id,
            uuid.UUID(item["guid"]),
            now,
            now,
            True,
            None,
            parents.project_id,
            parents.component_id,
            item["trolley_cell"],
            item["trolley"],
            item["cell_number"],
        )


MES_SOURCE = "BENCH-ERP"


class OperationShape(Shape):
    """Eryxon MES operations (routing steps), keyed by external id; the item's ``guid`` is only
    the benchmark's handle on the row (its external id is derived from it)."""

    plural = "operations"
    table = "assemblies_operation"
    conflict = ("external_source", "external_id")
    columns = (
        *_COMMON,
        ("external_id", "varchar"),
        ("external_source", "varchar"),
        ("synced_at", "timestamptz"),
        ("sync_hash", "char(64)"),
        ("part_id", "bigint"),
        ("cell_id", "bigint"),
        ("operation_name", "varchar"),
        ("sequence", "integer"),
        ("estimated_time_minutes", "integer"),
        ("notes", "text"),
        ("status", "varchar"),
    )

    def item(self, guid, n, rev, parents):
        _part_id, part_external_id = parents.parts[n % len(parents.parts)]
        return {
            "external_id": f"OP-{guid.hex}",
            "external_source": MES_SOURCE,
            "part_external_id": part_external_id,
            "cell_name": parents.cell_name,
            "operation_name": _text("operation", n, rev, 255),
            "sequence": n + 1,  # n is unique in the run, so the sequence is unique per part
            "estimated_time_minutes": (n * 7 + rev) % 600,
            "notes": _text("notes", n, rev, 1000),
            "status": "pending",  # MES-owned: validated, then ignored
        }

    def row(self, item, parents, now):
        part_ids = {external_id: pk for pk, external_id in parents.parts}
        return (
            parents.company_id,
            uuid.UUID(item["external_id"].removeprefix("OP-")),
            now,
            now,
            True,
            None,
            item["external_id"],
            item["external_source"],
            now,
            "0" * 64,
            part_ids[item["part_external_id"]],
            parents.cell_id,
            item["operation_name"],
            item["sequence"],
            item["estimated_time_minutes"],
            item["notes"],
            "pending",
        )


PIECES = PieceShape()
ASSEMBLIES = AssemblyShape()
OPERATIONS = OperationShape()


def new_guids(count: int) -> list[uuid.UUID]:
    """Fresh guids, sorted (so two clients sending overlapping slices lock in the same order)."""
    return sorted(uuid.uuid4() for _ in range(count))
