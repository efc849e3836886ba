"""The one way a sync request is run, for both API families and ``sync_file``.

``run_sync`` takes what the caller asked (``SyncRequest``) and, in one transaction: holds the
``Idempotency-Key`` and replays a stored answer, runs the engine (``services.sync_items``),
renders the answer with the caller's ``render`` (each API family has its own body), stores it for
replays, and records the sync run. A refused request is recorded as a failed run after the
rollback, and the refusal is raised on for the caller to present. Nothing here knows HTTP: the
answer's status and body are whatever ``render`` returns, stored and replayed verbatim.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db import transaction

from assemblies.services import Actor
from tenants.caller import Caller

from . import idempotency
from .entities import SyncEntity
from .models import SyncRun
from .refusals import ItemsRefused
from .runs import RunContext, record_failed_run, record_run
from .services import sync_items
from .work import ERROR, INSERTED, UNCHANGED, UPDATED, SyncOutcome

# An answer as the caller's family renders it: (status, body).
Answer = tuple[int, Any]
Render = Callable[[SyncOutcome], Answer]


@dataclass(frozen=True)
class SyncRequest:
    """One sync request as its caller received it, parsed but not yet validated."""

    caller: Caller
    entity: SyncEntity
    items: list
    endpoint: str  # "POST /api/v1/sync/pieces", "SYNC_FILE": where the run came from
    request_hash: str  # of the request as sent: an idempotent replay must match it
    dry_run: bool = False
    atomic: bool = True
    wrapper: str | None = ""  # the body key of the items ("" the entity's plural, None: a single item)
    request_id: str | None = None
    idempotency_key: str | None = None


@dataclass(frozen=True)
class SyncResult:
    """What a run answered: the engine's outcome (``None`` for a replay) and the rendered answer
    (``None`` when the caller gave no ``render``)."""

    outcome: SyncOutcome | None
    answer: Answer | None
    replayed: bool = False


def run_sync(request: SyncRequest, *, render: Render | None = None) -> SyncResult:
    """Run one sync request in one transaction; see the module's description.

    Raises the engine's refusals (``ItemsRefused``, ``CompanyMismatch``), the idempotency ones
    (``IdempotencyKeyReused``, ``RequestInProgress``) and whatever failed underneath (the
    database), each after recording the failed run.
    """
    if request.idempotency_key is not None and render is None:
        raise ValueError("an idempotent request needs a render: its answer is what a replay returns")
    context = RunContext(
        caller=request.caller,
        entity=request.entity.singular,
        endpoint=request.endpoint,
        request_id=request.request_id,
        request_hash=request.request_hash,
        item_count=len(request.items),
        dry_run=request.dry_run,
        atomic=request.atomic,
        idempotency_key=request.idempotency_key,
    )
    try:
        with transaction.atomic():
            return _run_in_transaction(request, context, render)
    except ItemsRefused as refusal:
        outcome = refusal.outcome
        record_failed_run(
            context, item_errors=outcome.errors, failed_items=outcome.count(ERROR), company=outcome.company
        )
        raise
    except Exception:  # the rest refuses the request as a whole, or failed underneath: on record too
        record_failed_run(context)
        raise


def _run_in_transaction(request: SyncRequest, context: RunContext, render: Render | None) -> SyncResult:
    company_id = request.caller.company.pk
    key = request.idempotency_key
    if key is not None:
        idempotency.hold_key(company_id=company_id, key=key)
        stored = idempotency.stored_answer(company_id=company_id, key=key, request_hash=request.request_hash)
        if stored is not None:
            return SyncResult(outcome=None, answer=(stored.status_code, stored.response_body), replayed=True)
    outcome = sync_items(
        entity=request.entity,
        caller=request.caller,
        items=request.items,
        dry_run=request.dry_run,
        atomic=request.atomic,
        actor=Actor.of(request.caller, request.request_id),
        wrapper=request.wrapper,
    )
    answer = render(outcome) if render is not None else None
    record_run(
        context,
        status=outcome.status if request.items else SyncRun.Status.SUCCEEDED,
        inserted=outcome.count(INSERTED),
        updated=outcome.count(UPDATED),
        unchanged=outcome.count(UNCHANGED),
        errors=outcome.count(ERROR),
        item_errors=outcome.errors,
        company=outcome.company,
    )
    if key is not None:
        status, body = answer
        idempotency.store_answer(
            company_id=company_id, key=key, request_hash=request.request_hash, status_code=status, body=body
        )
    return SyncResult(outcome=outcome, answer=answer)
