"""The SQL floor: the same rows written by one hand-written statement through psycopg.

No Django, no HTTP: one ``INSERT … SELECT FROM unnest(<one array per column>) ON CONFLICT
(company_id, <key>) DO UPDATE`` per batch (key: guid, or external_source + external_id for MES),
in its own transaction, on a connection of its own.
What is timed is the statement and its commit; the row tuples are built before the clock starts.
The update rewrites every column but ``created_at`` (a plain upsert has no "unchanged" branch).
"""

from __future__ import annotations

import time

import psycopg

from .data import Shape


def upsert_sql(shape: Shape) -> str:
    names = [name for name, _type in shape.columns]
    casts = ", ".join(f"%s::{pg_type}[]" for _name, pg_type in shape.columns)
    updates = ", ".join(
        f"{name} = EXCLUDED.{name}" for name in names if name not in ("company_id", "guid", "created_at")
    )
    return (
        f"INSERT INTO {shape.table} ({', '.join(names)}) SELECT * FROM unnest({casts}) "
        f"ON CONFLICT (company_id, {', '.join(shape.conflict)}) DO UPDATE SET {updates}"
    )


class Floor:
    def __init__(self, conninfo: str) -> None:
        self.conninfo = conninfo
        self.conn = psycopg.connect(conninfo, autocommit=False)

    def close(self) -> None:
        self.conn.close()

    def upsert(self, shape: Shape, rows: list[tuple]) -> float:
        """Write ``rows``; returns the elapsed milliseconds of statement + commit."""
        arrays = [list(column) for column in zip(*rows, strict=True)]
        sql = upsert_sql(shape)
        started = time.perf_counter()
        with self.conn.cursor() as cursor:
            cursor.execute(sql, arrays)
        self.conn.commit()
        return (time.perf_counter() - started) * 1000

    def analyze(self) -> None:
        """Refresh the planner statistics (what autovacuum does on a live server), untimed."""
        with self.conn.cursor() as cursor:
            cursor.execute("ANALYZE")
        self.conn.commit()

    def select_pieces(self, company_id: int, limit: int) -> float:
        """Read ``limit`` live pieces of the company, every column, in list order."""
        started = time.perf_counter()
        with self.conn.cursor() as cursor:
            cursor.execute(
                "SELECT * FROM assemblies_piece WHERE company_id = %s AND is_active ORDER BY created_at, id LIMIT %s",
                [company_id, limit],
            )
            cursor.fetchall()
        self.conn.commit()
        return (time.perf_counter() - started) * 1000
