"""What every sync endpoint of both families shares: reading the body's items, the request's
``Idempotency-Key``, and handing the request to the one runner (``sync.runner``).

A sync view parses, calls ``SyncEndpoint.run_sync`` with its family's ``render``, and returns what
it answers; the runner does everything else.
"""

from __future__ import annotations

from django.conf import settings
from rest_framework.response import Response

from ractory.api.problems import BadRequest, Problem, problem_from_refusal
from ractory.api.views import StrictAPIView
from ractory.refusals import FieldError, json_pointer
from tenants.permissions import CanSyncWrite

from ..entities import MES_ENTITIES, SyncEntity
from ..refusals import ItemsRefused
from ..runner import Render, SyncRequest, run_sync
from ..runs import request_hash

REPLAYED_HEADER = "Idempotent-Replayed"
IDEMPOTENCY_KEY_HEADER = "HTTP_IDEMPOTENCY_KEY"


def batch_items(body: dict, entity: SyncEntity, *, alternative: str | None = None) -> tuple[list, str]:
    """The item list of ``{"<plural>": [...]}`` (or ``{"<alternative>": [...]}``, the MES's
    ``items``) and the key it came in; any other shape, or too many rows, is a 400."""
    plural = entity.plural
    keys = (plural, alternative) if alternative else (plural,)
    shape = f'{{"{plural}": [...]}}' + (f' (or {{"{alternative}": [...]}})' if alternative else "")
    unknown = [key for key in body if key not in keys]
    if unknown:
        raise BadRequest(
            f"Unknown top-level key '{unknown[0]}'; the body is {shape}.",
            code="unknown_top_level_key",
            errors=[FieldError(json_pointer(key), "unknown_field", "Unknown top-level key.") for key in unknown],
        )
    sent = [key for key in keys if key in body]
    if not sent:
        raise BadRequest(
            f"The body must be {shape}.",
            code="missing_wrapper",
            errors=[FieldError(f"/{plural}", "required", "This field is required.")],
        )
    if len(sent) > 1:
        raise BadRequest(
            f"The body must be {shape}. Send the items under one key, not both.",
            code="two_wrappers",
            errors=[FieldError(f"/{alternative}", "two_wrappers", f"Send either '{plural}' or '{alternative}'.")],
        )
    wrapper = sent[0]
    items = body[wrapper]
    if not isinstance(items, list):
        raise BadRequest(
            f"'{wrapper}' must be an array of items.",
            code="wrapper_not_array",
            errors=[FieldError(f"/{wrapper}", "not_a_list", "Must be an array.")],
        )
    refuse_too_many_rows(entity, items, f"/{wrapper}")
    return items, wrapper


def rows_to_write(entity: SyncEntity, items: list) -> int:
    """How many rows the items would write: each item and every item nested in it (a job's parts
    and their operations). Only counts list lengths: nothing is validated yet."""
    count = 0
    levels = [(entity, items)]
    while levels:
        current, batch = levels.pop()
        count += len(batch)
        for field, child_plural in current.nested.items():
            child = MES_ENTITIES[child_plural]
            levels += [(child, item[field]) for item in batch if type(item) is dict and type(item.get(field)) is list]
    return count


def refuse_too_many_rows(entity: SyncEntity, items: list, pointer: str) -> None:
    """At most ``SYNC_MAX_ITEMS`` rows per request, nested ones included: a 400 before any
    validation, so an oversized request costs no more than counting it."""
    limit = settings.SYNC_MAX_ITEMS
    if len(items) > limit:
        raise BadRequest(
            f"{len(items)} items; at most {limit} are accepted per request.",
            code="batch_too_large",
            errors=[FieldError(pointer, "max_items", f"At most {limit} items.")],
        )
    rows = rows_to_write(entity, items) if entity.nested else len(items)
    if rows > limit:
        raise BadRequest(
            f"{rows} rows ({len(items)} item{'s' if len(items) != 1 else ''} and {rows - len(items)} nested in "
            f"{'them' if len(items) != 1 else 'it'}); "
            f"at most {limit} are accepted per request.",
            code="batch_too_large",
            errors=[FieldError(pointer, "max_items", f"At most {limit} rows, nested items included.")],
        )


def idempotency_key(request) -> str | None:
    """The request's ``Idempotency-Key`` header, if sent: 1 to 255 printable ASCII characters."""
    raw = request.META.get(IDEMPOTENCY_KEY_HEADER)
    if raw is None:
        return None
    if not 1 <= len(raw) <= 255 or not all(" " <= character <= "~" for character in raw):
        raise BadRequest(
            "Idempotency-Key must be 1 to 255 printable ASCII characters.",
            code="invalid_idempotency_key",
            errors=[FieldError("/headers/Idempotency-Key", "invalid", "1 to 255 printable ASCII characters.")],
        )
    return raw


class SyncEndpoint(StrictAPIView):
    """Base of every sync endpoint (``PieceSyncView``, ``MesJobBulkSyncView``, …); ``entity``
    says which entity it syncs."""

    entity: SyncEntity
    permission_classes = [CanSyncWrite]
    extra_error_statuses = (409,)

    def run_sync(
        self,
        request,
        *,
        raw_body: bytes,
        items: list,
        render: Render,
        wrapper: str | None = "",
        dry_run: bool = False,
        atomic: bool = True,
    ) -> Response:
        """Run the request through the runner and answer what ``render`` made of its outcome (or
        the stored answer of an ``Idempotency-Key`` replay). ``raw_body``: the body as sent,
        read before DRF parses it (``request._request.body``), which the replay check hashes."""
        path = request.path.rstrip("/")
        sync_request = SyncRequest(
            caller=request.user,
            entity=self.entity,
            items=items,
            endpoint=f"{request.method} {path}",
            request_hash=request_hash(request.method, path, request.META.get("QUERY_STRING", ""), raw_body),
            dry_run=dry_run,
            atomic=atomic,
            wrapper=wrapper,
            request_id=getattr(request, "request_id", None),
            idempotency_key=idempotency_key(request),
        )
        try:
            result = run_sync(sync_request, render=render)
        except ItemsRefused as refusal:
            raise self.items_refused(refusal) from None
        status, body = result.answer
        return Response(body, status=status, headers={REPLAYED_HEADER: "true"} if result.replayed else None)

    def items_refused(self, refusal: ItemsRefused) -> Problem:
        """The answer to an atomic request with invalid items (every item's errors)."""
        return problem_from_refusal(refusal)
