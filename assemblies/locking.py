"""How concurrent writers lock production rows, so that no active row is left under an inactive
parent and no two writers deadlock.

Every write path (sync, DELETE and restore, tombstones and their cascades) follows one protocol:

1. **Top-down.** A writer locks parents before children: project → component → assembly →
   piece/article, and job → part → operation.
2. **In key order within a table** (``model.lock_order``: the guid for Ractory tables, the natural
   key for MES tables), the order in which the sync's upserts write rows too.
3. **A sync locks the parents it reads ``FOR SHARE``** until it commits: what it checked (the
   parent is active) stays true while it writes children. A DELETE, a tombstone or a cascade
   *updates* the parent, which needs a lock that conflicts with ``FOR SHARE``. So whichever comes
   second waits for the first to commit: a sync that comes second sees the parent inactive
   (``parent_inactive``); a delete that comes second cascades over the children just written.

PostgreSQL only: SQLite runs one writing transaction at a time (``BEGIN IMMEDIATE``).
"""

from __future__ import annotations

from django.db import connection


def rows_for_share(queryset) -> list[dict]:
    """Evaluate a ``.values()`` queryset, locking its rows ``FOR SHARE`` in the model's lock order.

    Django's ORM knows ``FOR UPDATE`` and ``FOR NO KEY UPDATE`` but not ``FOR SHARE``, the lock a
    reader takes to keep rows from changing without blocking other readers that lock them too
    (two syncs of children under one project run side by side).
    """
    queryset = queryset.order_by(*queryset.model.lock_order)
    if connection.vendor != "postgresql":
        return list(queryset)
    sql, params = queryset.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(f"{sql} FOR SHARE", params)
        names = [column[0] for column in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def for_update_in_lock_order(model, condition: str) -> str:
    """``id IN (…)`` selecting the rows matching ``condition`` (SQL over the table's own columns,
    no alias), locked ``FOR UPDATE`` in the model's lock order on PostgreSQL, for an UPDATE that
    touches many rows: a plain ``UPDATE … WHERE`` locks them in scan order instead."""
    table = model._meta.db_table
    if connection.vendor != "postgresql":
        return f"id IN (SELECT id FROM {table} WHERE {condition})"  # noqa: S608 - names from models
    order = ", ".join(model._meta.get_field(name).column for name in model.lock_order)
    return f"id IN (SELECT id FROM {table} WHERE {condition} ORDER BY {order} FOR UPDATE)"  # noqa: S608
