"""``purge_deleted``: hard-delete rows soft-deleted before a cut-off, children first.

Parent links are ``PROTECT``, so the tables are purged leaves first (Ractory: pieces, articles,
assemblies, components, projects; MES: operations, parts, jobs, cells, resources) with one
set-based DELETE each. A row is purged only when no
row of any table still points at it: once the purgeable children are gone, a parent with a child
left (active, or deleted after the cut-off) is kept for a later purge.
"""

from __future__ import annotations

import re
from datetime import timedelta

from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from assemblies.models import Article, Assembly, Cell, Component, Job, Operation, Part, Piece, Project, Resource

# Children before their parents: every table comes after all the tables that point at it.
PURGE_ORDER = (Piece, Article, Assembly, Component, Project, Operation, Part, Job, Cell, Resource)
_AGE = re.compile(r"([0-9]+)([hdw])")
_UNITS = {"h": "hours", "d": "days", "w": "weeks"}


def parse_age(raw: str) -> timedelta:
    """``90d``, ``36h``, ``12w``: a positive whole number of hours, days or weeks."""
    match = _AGE.fullmatch(raw.strip())
    if match is None or int(match[1]) == 0:
        raise CommandError(
            f"--older-than {raw!r} must be a positive whole number of hours, days or weeks, e.g. 36h, 90d, 12w."
        )
    try:
        return timedelta(**{_UNITS[match[2]]: int(match[1])})
    except OverflowError:
        raise CommandError(f"--older-than {raw!r} is too large.") from None


def references(model) -> list[tuple[str, str, str]]:
    """Every foreign key pointing at ``model``'s rows, from any app: (table, column, target column)."""
    found = []
    for relation in model._meta.get_fields(include_hidden=True):
        if relation.auto_created and not relation.concrete and (relation.one_to_many or relation.one_to_one):
            field = relation.field
            found.append((field.model._meta.db_table, field.column, field.target_field.column))
    return found


def purge_table(model, cutoff) -> int:
    """One DELETE of the rows of ``model`` soft-deleted before ``cutoff`` that nothing points at."""
    quote = connection.ops.quote_name
    table = quote(model._meta.db_table)
    unreferenced = "".join(
        f" AND NOT EXISTS (SELECT 1 FROM {quote(child)} c WHERE c.{quote(column)} = {table}.{quote(target)})"  # noqa: S608
        for child, column, target in references(model)
    )
    with connection.cursor() as cursor:
        cursor.execute(
            f"DELETE FROM {table} WHERE is_active = %s AND deleted_at < %s{unreferenced}",  # noqa: S608 - model names
            [False, connection.ops.adapt_datetimefield_value(cutoff)],
        )
        return cursor.rowcount


class Command(BaseCommand):
    help = (
        "Hard-delete the rows of every company soft-deleted before now minus --older-than (e.g. 36h, "
        "90d, 12w): pieces, articles, assemblies, components, projects, then operations, parts, jobs, "
        "cells and resources, one DELETE per table. "
        "A deleted row that an active row, or one deleted after the cut-off, still points at is kept "
        "for a later purge. Prints per table the rows deleted and kept (with --dry-run: that would be "
        "deleted; the same DELETEs run and are rolled back). The total is the last line on stdout."
    )

    def add_arguments(self, parser):
        parser.add_argument("--older-than", required=True, help="age of the soft delete: <n>h, <n>d or <n>w")
        parser.add_argument("--dry-run", action="store_true", help="count, delete nothing")

    def handle(self, *args, older_than, dry_run, **options):
        age = parse_age(older_than)
        now = timezone.now()
        try:
            cutoff = now - age
        except OverflowError:
            raise CommandError(f"--older-than {older_than!r} is too large.") from None
        self.stderr.write(
            f"{'Dry run: counting' if dry_run else 'Purging'} rows soft-deleted before "
            f"{cutoff.isoformat(timespec='seconds')} (older than {older_than.strip()})."
        )
        results = []
        try:
            # One transaction: a purge that fails part-way deletes nothing. A foreign key that
            # still points at a deleted row (a row written meanwhile) fails here, at the latest
            # when the deferred constraints are checked at commit.
            with transaction.atomic():
                for model in PURGE_ORDER:
                    deleted = purge_table(model, cutoff)
                    kept = model.objects.filter(is_active=False, deleted_at__lt=cutoff).count()
                    results.append((model._meta.verbose_name_plural, deleted, kept))
                if dry_run:
                    transaction.set_rollback(True)
        except DatabaseError as error:
            first_line = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
            raise CommandError(
                f"The purge was rolled back, nothing was deleted: {first_line}. Run it again later."
            ) from None
        verb, keep = ("would delete", "would keep") if dry_run else ("deleted", "kept")
        for name, deleted, kept in results:
            self.stdout.write(f"{name}: {verb} {deleted}, {keep} {kept}")
        total_kept = sum(kept for _, _, kept in results)
        if total_kept:
            were = "would be" if dry_run else ("were" if total_kept != 1 else "was")
            self.stderr.write(
                f"{total_kept} row{'s' if total_kept != 1 else ''} deleted before the cut-off {were} kept: "
                "rows that are active or deleted more recently still point at them; a later purge takes them."
            )
        if dry_run:
            self.stderr.write("Dry run: nothing was deleted.")
        self.stdout.write(f"total: {verb} {sum(deleted for _, deleted, _ in results)}, {keep} {total_kept}")
