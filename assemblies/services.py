"""Writes on production rows shared by every write path: the set-based soft-delete cascade."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime

from django.db import connection

from .cascade import CASCADES, ENTITY_NAMES
from .models import AuditEvent


@dataclass(frozen=True)
class Actor:
    """Who made a change, for audit rows: a user, an API key, or neither (a command)."""

    user_id: int | None = None
    api_key_id: int | None = None
    request_id: str | None = None


def cascade_soft_delete_from(*, model, company_id: int, root_ids: list[int], now: datetime) -> Counter:
    """Soft-delete the active descendants of rows already soft-deleted, with each root's stamp.

    One UPDATE per descendant table, whatever the number of roots: every descendant takes the
    ``deleted_at`` of its root, so a later restore of that root finds exactly these rows.
    Returns the number of rows touched per root id (the roots themselves not counted).
    """
    touched: Counter = Counter()
    if not root_ids:
        return touched
    root_table = model._meta.db_table
    placeholders = ", ".join(["%s"] * len(root_ids))
    with connection.cursor() as cursor:
        for child, link in CASCADES[model]:
            table = child._meta.db_table
            column = f"{link}_id"
            cursor.execute(
                f"UPDATE {table} SET is_active = FALSE, updated_at = %s, "  # noqa: S608 - names from models
                f"deleted_at = (SELECT r.deleted_at FROM {root_table} r WHERE r.id = {table}.{column}) "
                f"WHERE company_id = %s AND is_active AND {column} IN ({placeholders}) "
                f"RETURNING {column}",
                [connection.ops.adapt_datetimefield_value(now), company_id, *root_ids],
            )
            touched.update(row[0] for row in cursor.fetchall())
    return touched


def record_soft_deletes(*, model, company_id: int, roots: list[tuple[int, object]], touched: Counter, actor: Actor):
    """One audit row per cascade root: ``roots`` are (id, guid) pairs."""
    if not roots:
        return
    _insert_all(
        [
            AuditEvent(
                company_id=company_id,
                actor_user_id=actor.user_id,
                actor_api_key_id=actor.api_key_id,
                action=AuditEvent.Action.SOFT_DELETE,
                entity=ENTITY_NAMES[model],
                target_guid=guid,
                rows_touched=1 + touched.get(root_id, 0),
                request_id=actor.request_id,
            )
            for root_id, guid in roots
        ]
    )


def _insert_all(events: list[AuditEvent]) -> None:
    """Insert audit rows with one statement, however many there are.

    ``bulk_create`` splits SQLite inserts into batches of 999 parameters (99 audit rows), so a
    sync soft-deleting 1000 rows would issue 11 INSERTs; one ``executemany`` is one statement.
    """
    if connection.vendor != "sqlite":
        AuditEvent.objects.bulk_create(events)
        return
    fields = [field for field in AuditEvent._meta.concrete_fields if not field.primary_key]
    quote = connection.ops.quote_name
    sql = (
        f"INSERT INTO {quote(AuditEvent._meta.db_table)} ({', '.join(quote(field.column) for field in fields)}) "  # noqa: S608 - model names
        f"VALUES ({', '.join(['%s'] * len(fields))})"
    )
    params = [
        [field.get_db_prep_save(getattr(event, field.attname), connection) for field in fields] for event in events
    ]
    with connection.cursor() as cursor:
        cursor.executemany(sql, params)
