"""Writes on production rows shared by every write path: soft delete and restore, set-based.

The DELETE and restore endpoints, sync items with ``is_active: false`` and the admin all go
through these functions: one timestamp per cascade, one UPDATE per table, one audit row per root.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime

from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from ractory.refusals import NoSuchRow, StateConflict

from .cascade import CASCADES, ENTITY_NAMES, PARENT_FIELDS, link_hops
from .locking import for_update_in_lock_order, rows_for_share
from .models import AuditEvent


@dataclass(frozen=True)
class Actor:
    """Who made a change, for audit rows: a user, an API key, or neither (a command)."""

    user_id: int | None = None
    api_key_id: int | None = None
    request_id: str | None = None

    @classmethod
    def of(cls, caller, request_id: str | None) -> Actor:
        """The actor of a request's caller (a ``tenants.caller.Caller``)."""
        return cls(
            user_id=caller.user.pk if caller.user else None,
            api_key_id=caller.api_key.pk if caller.api_key else None,
            request_id=request_id,
        )


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
            (table, column), *through = link_hops(child, link)
            # The root id of a descendant row: its own FK column, or for a link through
            # intermediate parents (a job's operations: part__job) one primary-key lookup per hop.
            root_of = f"{table}.{column}"
            for number, (hop_table, hop_column) in enumerate(through):
                root_of = f"(SELECT h{number}.{hop_column} FROM {hop_table} h{number} WHERE h{number}.id = {root_of})"  # noqa: S608
            # The descendants of the roots, walked down from the roots along the FK indexes.
            selected = f"IN ({placeholders})"
            for hop_table, hop_column in reversed(through):
                selected = f"IN (SELECT id FROM {hop_table} WHERE {hop_column} {selected})"  # noqa: S608
            # Locked in the table's lock order first (assemblies.locking): a sync holding some
            # of these rows FOR SHARE as parents must not deadlock against this UPDATE.
            rows = for_update_in_lock_order(child, f"company_id = %s AND is_active AND {column} {selected}")
            cursor.execute(
                f"UPDATE {table} SET is_active = FALSE, updated_at = %s, "  # noqa: S608 - names from models
                f"deleted_at = (SELECT r.deleted_at FROM {root_table} r WHERE r.id = {root_of}) "
                f"WHERE {rows} RETURNING {root_of}",
                [connection.ops.adapt_datetimefield_value(now), company_id, *root_ids],
            )
            touched.update(row[0] for row in cursor.fetchall())
    return touched


def record_soft_deletes(
    *,
    model,
    company_id: int,
    roots: list[tuple[int, object]],
    touched: Counter,
    actor: Actor,
    action: str = AuditEvent.Action.SOFT_DELETE,
):
    """One audit row per cascade root: ``roots`` are (id, guid) pairs."""
    if not roots:
        return
    _insert_all(
        [
            AuditEvent(
                company_id=company_id,
                actor_user_id=actor.user_id,
                actor_api_key_id=actor.api_key_id,
                action=action,
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


def soft_delete(*, model, row, actor: Actor) -> int:
    """Soft-delete ``row`` and its active descendants with one timestamp (DELETE, admin).

    A row deleted already is a 404 and nothing is re-stamped. Returns the rows touched.
    """
    now = timezone.now()
    with transaction.atomic():
        if not model.objects.filter(pk=row.pk, is_active=True).update(is_active=False, deleted_at=now, updated_at=now):
            raise NoSuchRow()  # deleted meanwhile by another request
        touched = cascade_soft_delete_from(model=model, company_id=row.company_id, root_ids=[row.pk], now=now)
        record_soft_deletes(
            model=model, company_id=row.company_id, roots=[(row.pk, row.guid)], touched=touched, actor=actor
        )
    return 1 + touched.get(row.pk, 0)


def restore(*, model, row, actor: Actor) -> int:
    """Reactivate ``row`` and exactly the descendants deleted with it (the same ``deleted_at``).

    Descendants deleted at another time stay deleted, and so do descendants of theirs (a piece
    moved under a deleted assembly by a tombstone keeps its stamp but not a live parent). An
    active row is a 404; a row whose parent is deleted is a 409 ``parent_inactive``. Returns the
    rows touched.
    """
    stamp = row.deleted_at
    now = timezone.now()
    touched = 1
    with transaction.atomic():
        # Lock the parents while checking them, so a concurrent DELETE of a parent cannot leave
        # this row active under a deleted parent.
        links = [field for field in model._meta.concrete_fields if field.is_relation and field.name != "company"]
        parent_ids = model.objects.filter(pk=row.pk).values(*(field.attname for field in links)).get() if links else {}
        for field in links:
            parent_id = parent_ids[field.attname]
            if parent_id is not None:
                parent = (
                    field.related_model.objects.for_company(row.company_id)
                    .select_for_update()
                    .filter(pk=parent_id)
                    .values("is_active")
                )
                if not parent.get()["is_active"]:
                    raise StateConflict(
                        f"The {field.name} of this {ENTITY_NAMES[model]} is deleted; restore it first.",
                        code="parent_inactive",
                    )
        restored = model.objects.filter(pk=row.pk, is_active=False, deleted_at=stamp).update(
            is_active=True, deleted_at=None, updated_at=now
        )
        if not restored:
            raise NoSuchRow()  # restored or re-stamped meanwhile
        for child, link in CASCADES[model]:
            deleted_with_row = child.objects.for_company(row.company_id).filter(
                **{f"{link}_id": row.pk}, is_active=False, deleted_at=stamp
            )
            # A descendant comes back only when all its parents are live (once the tables above it
            # are restored): a tombstone may have moved a deleted piece under an assembly deleted
            # at another time, which stays deleted, and so does the piece. The parents are locked
            # while checked (assemblies.locking: top-down, FOR SHARE).
            live_parents = Q()
            for name in PARENT_FIELDS[child]:
                parents = child._meta.get_field(name).related_model.objects.for_company(row.company_id)
                rows_for_share(parents.filter(id__in=deleted_with_row.values(f"{name}_id")).values("id"))
                live_parents &= Q(**{f"{name}__is_active": True}) | Q(**{f"{name}__isnull": True})
            touched += deleted_with_row.filter(live_parents).update(is_active=True, deleted_at=None, updated_at=now)
        record_soft_deletes(
            model=model,
            company_id=row.company_id,
            roots=[(row.pk, row.guid)],
            touched=Counter({row.pk: touched - 1}),
            actor=actor,
            action=AuditEvent.Action.RESTORE,
        )
    return touched
