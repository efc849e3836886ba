"""Recording sync runs: in the data transaction on success, in one of its own after a failure."""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, field
from datetime import datetime

from django.db import DatabaseError, transaction
from django.utils import timezone

from ractory.refusals import FieldError
from tenants.caller import Caller

from .models import SyncRun

ERROR_SUMMARY_LIMIT = 20

logger = logging.getLogger("ractory.sync")


def request_hash(method: str, path: str, query: str, body: bytes) -> str:
    digest = hashlib.sha256()
    for part in (method.encode(), path.encode(), query.encode()):
        digest.update(part)
        digest.update(b"\n")
    digest.update(body)
    return digest.hexdigest()


@dataclass
class RunContext:
    """What a sync endpoint knows of its request before the service runs."""

    caller: Caller
    entity: str
    endpoint: str
    request_id: str | None
    request_hash: str
    item_count: int
    dry_run: bool = False
    atomic: bool = True
    idempotency_key: str | None = None
    started_at: datetime = field(default_factory=timezone.now)


def record_run(
    context: RunContext,
    *,
    status: str,
    inserted: int = 0,
    updated: int = 0,
    unchanged: int = 0,
    errors: int = 0,
    item_errors: list[FieldError] = (),
    company=None,
) -> SyncRun:
    caller = context.caller
    summary = None
    if item_errors:
        summary = {
            "total": len(item_errors),
            "errors": [error.as_dict() for error in item_errors[:ERROR_SUMMARY_LIMIT]],
        }
    return SyncRun.objects.create(
        company=company or caller.company,
        actor_user=caller.user,
        actor_api_key=caller.api_key,
        entity=context.entity,
        endpoint=context.endpoint,
        started_at=context.started_at,
        finished_at=timezone.now(),
        status=status,
        dry_run=context.dry_run,
        atomic=context.atomic,
        item_count=context.item_count,
        inserted=inserted,
        updated=updated,
        unchanged=unchanged,
        errors=errors,
        request_id=context.request_id,
        idempotency_key=context.idempotency_key,
        request_hash=context.request_hash,
        error_summary=summary,
    )


def record_failed_run(
    context: RunContext, *, item_errors: list[FieldError] = (), failed_items: int = 0, company=None
) -> None:
    """After a rollback: a transaction of its own, so refused requests are on record too.

    Best effort: when the database itself failed the request (it is down), the record cannot be
    written either; that is logged, and the request's own error is what the caller gets.
    """
    try:
        with transaction.atomic():
            record_run(
                context, status=SyncRun.Status.FAILED, errors=failed_items, item_errors=item_errors, company=company
            )
    except DatabaseError as error:
        logger.warning("could not record the failed sync run: %s", error.__class__.__name__)
