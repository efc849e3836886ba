"""``POST /api/v1/sync/{entity}`` and ``GET /api/v1/sync/runs`` (api.md §5)."""

from __future__ import annotations

from collections.abc import Callable

import django_filters
from django.conf import settings
from django.db import transaction
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.response import Response

from assemblies.cascade import ENTITY_NAMES
from assemblies.services import Actor
from ractory.api.filters import StrictDateTimeFilter, boolean_query_parameter
from ractory.api.problems import BadRequest, FieldError, ValidationFailed, json_pointer
from ractory.api.views import StrictAPIView
from tenants.permissions import CanReadEntities, CanSyncWrite
from tenants.scoping import COMPANY_GUID_PARAMETER, TenantScopedAPIView

from .. import idempotency
from ..entities import MES_ENTITIES, SYNC_ENTITIES, SyncEntity
from ..models import SyncRun
from ..runs import RunContext, record_failed_run, record_run, request_hash
from ..services import ERROR, INSERTED, UNCHANGED, UPDATED, SyncOutcome, sync_items
from .serializers import SyncResultSerializer

REPLAYED_HEADER = "Idempotent-Replayed"


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
    """At most ``SYNC_MAX_ITEMS`` rows per request, nested ones included (api.md §5.1): a 400
    before any validation, so an oversized request costs no more than counting it."""
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


def run_sync_request(
    request,
    *,
    raw_body: bytes,
    entity: SyncEntity,
    items: list,
    answer: Callable[[SyncOutcome], tuple[int, dict]],
    dry_run: bool = False,
    atomic: bool = True,
    wrapper: str | None = "",
) -> Response:
    """One sync request of any family: idempotency, the engine, the run record, in one transaction.

    ``answer`` turns the engine's outcome into the status and body of the family's response
    (stored verbatim for an ``Idempotency-Key`` replay). Refusals are recorded as failed runs and
    re-raised for the exception handler to render. ``raw_body``: the body as sent (hashed for
    idempotency), read before DRF parses it (``request._request.body``).
    """
    caller = request.user
    path = request.path.rstrip("/")
    context = RunContext(
        caller=caller,
        entity=entity.singular,
        endpoint=f"{request.method} {path}",
        request_id=getattr(request, "request_id", None),
        request_hash=request_hash(request.method, path, request.META.get("QUERY_STRING", ""), raw_body),
        item_count=len(items),
        dry_run=dry_run,
        atomic=atomic,
        idempotency_key=idempotency.idempotency_key(request),
    )
    actor = Actor.of(caller, context.request_id)
    try:
        with transaction.atomic():
            key = context.idempotency_key
            if key is not None:
                idempotency.hold_key(company_id=caller.company.pk, key=key)
                stored = idempotency.stored_answer(
                    company_id=caller.company.pk, key=key, request_hash=context.request_hash
                )
                if stored is not None:
                    return Response(stored.response_body, status=stored.status_code, headers={REPLAYED_HEADER: "true"})
            outcome = sync_items(
                entity=entity,
                caller=caller,
                items=items,
                dry_run=dry_run,
                atomic=atomic,
                actor=actor,
                wrapper=wrapper,
            )
            status, body = answer(outcome)
            record_run(
                context,
                status=outcome.status if items else SyncRun.Status.SUCCEEDED,
                inserted=outcome.count(INSERTED),
                updated=outcome.count(UPDATED),
                unchanged=outcome.count(UNCHANGED),
                errors=outcome.count(ERROR),
                item_errors=outcome.errors,
                company=outcome.company,
            )
            if key is not None:
                idempotency.store_answer(
                    company_id=caller.company.pk,
                    key=key,
                    request_hash=context.request_hash,
                    status_code=status,
                    body=body,
                )
    except ValidationFailed as problem:
        if problem.code == "validation_error":
            record_failed_run(
                context,
                item_errors=problem.errors,
                failed_items=getattr(problem, "failed_items", 0),
                company=getattr(problem, "company", None),
            )
        else:  # idempotency_key_reused: refused as a whole, but on record like every other refusal
            record_failed_run(context)
        raise
    except Exception:  # 403, 409 (a concurrent write), 503 (the database), 500 (a bug): all on record
        record_failed_run(context)
        raise
    return Response(body, status=status)


class RactorySyncView(StrictAPIView):
    """Base of the five sync endpoints (``ProjectSyncView`` …); ``entity`` says which."""

    entity: SyncEntity
    permission_classes = [CanSyncWrite]
    extra_query_parameters = ("dry_run", "atomic")
    extra_error_statuses = (409,)

    def post(self, request):
        dry_run = boolean_query_parameter(request, "dry_run", False)
        atomic = boolean_query_parameter(request, "atomic", True)
        raw_body = request._request.body  # before DRF reads the stream
        items, _ = batch_items(request.data, self.entity)
        return run_sync_request(
            request,
            raw_body=raw_body,
            entity=self.entity,
            items=items,
            dry_run=dry_run,
            atomic=atomic,
            answer=lambda outcome: (200, outcome.as_response()),
        )


def described_sync_endpoint(view: type[RactorySyncView]) -> type[RactorySyncView]:
    """Gives a sync endpoint class (one per entity) its own OpenAPI request body, examples and
    description, from its ``entity``."""
    entity = view.entity
    wrapper = inline_serializer(
        f"{entity.singular.capitalize()}SyncRequest",
        {entity.plural: entity.item_serializer(many=True)},
    )
    example_request = {
        entity.plural: [
            {
                "guid": "323e4567-e89b-12d3-a456-426614174003",
                "company_guid": "abcdef12-3456-7890-abcd-ef1234567890",
                **_example_fields(entity),
            }
        ]
    }
    example_response = {
        "inserted": 1,
        "updated": 0,
        "unchanged": 0,
        "items": [{"index": 0, "guid": "323e4567-e89b-12d3-a456-426614174003", "action": "inserted"}],
    }

    @extend_schema(
        tags=["sync"],
        operation_id=f"sync_{entity.plural}",
        summary=f"Upsert up to 1000 {entity.plural}",
        request=wrapper,
        responses={200: SyncResultSerializer},
        parameters=[
            OpenApiParameter("dry_run", bool, description="Validate and classify only; report changes, write nothing."),
            OpenApiParameter("atomic", bool, description="false: write the valid items, report the invalid ones."),
            OpenApiParameter(
                "Idempotency-Key", str, location=OpenApiParameter.HEADER, description="Replay protection for 24 h."
            ),
        ],
        examples=[
            OpenApiExample("request", value=example_request, request_only=True),
            OpenApiExample("response", value=example_response, response_only=True, status_codes=["200"]),
        ],
    )
    def post(self, request):
        return RactorySyncView.post(self, request)

    post.__doc__ = (
        f"Insert or update {entity.plural} by (company, guid), with merge semantics: fields left out "
        "keep their stored values, null clears a nullable field, is_active false soft-deletes with "
        "the cascade. Rows missing from the request are never touched. All items are validated "
        "first; any invalid item rejects the whole request (422) unless atomic=false."
    )
    view.post = post
    view.__doc__ = post.__doc__
    return view


def _example_fields(entity: SyncEntity) -> dict:
    examples = {
        "projects": {"code": "P-2026-001", "company_name": "Müller Fenster GmbH"},
        "components": {"project_guid": "123e4567-e89b-12d3-a456-426614174000", "code": "W-01", "quantity": 4},
        "assemblies": {
            "project_guid": "123e4567-e89b-12d3-a456-426614174000",
            "component_guid": "223e4567-e89b-12d3-a456-426614174002",
            "trolley": "T01",
            "cell_number": 1,
        },
        "pieces": {
            "project_guid": "123e4567-e89b-12d3-a456-426614174000",
            "component_guid": "223e4567-e89b-12d3-a456-426614174002",
            "piece_id": "PC-0001",
            "outer_length": 1200,
        },
        "articles": {
            "project_guid": "123e4567-e89b-12d3-a456-426614174000",
            "component_guid": "223e4567-e89b-12d3-a456-426614174002",
            "code": "HW-17",
            "quantity": 2.5,
        },
    }
    return examples[entity.plural]


@described_sync_endpoint
class ProjectSyncView(RactorySyncView):
    entity = SYNC_ENTITIES["projects"]


@described_sync_endpoint
class ComponentSyncView(RactorySyncView):
    entity = SYNC_ENTITIES["components"]


@described_sync_endpoint
class AssemblySyncView(RactorySyncView):
    entity = SYNC_ENTITIES["assemblies"]


@described_sync_endpoint
class PieceSyncView(RactorySyncView):
    entity = SYNC_ENTITIES["pieces"]


@described_sync_endpoint
class ArticleSyncView(RactorySyncView):
    entity = SYNC_ENTITIES["articles"]


SYNC_VIEWS = {
    view.entity.plural: view
    for view in (ProjectSyncView, ComponentSyncView, AssemblySyncView, PieceSyncView, ArticleSyncView)
}


# --- Sync runs --------------------------------------------------------------------------------


class SyncRunFilterSet(django_filters.FilterSet):
    entity = django_filters.ChoiceFilter(choices=[(name, name) for name in ENTITY_NAMES.values()])
    status = django_filters.ChoiceFilter(choices=SyncRun.Status.choices)
    since = StrictDateTimeFilter(field_name="started_at", lookup_expr="gte")

    class Meta:
        model = SyncRun
        fields = ["entity", "status", "since"]


class SyncRunSerializer(serializers.ModelSerializer):
    company_guid = serializers.UUIDField(source="company.guid", read_only=True)
    actor_user = serializers.UUIDField(source="actor_user.guid", read_only=True, allow_null=True, default=None)
    actor_api_key = serializers.UUIDField(source="actor_api_key.guid", read_only=True, allow_null=True, default=None)
    duration_ms = serializers.IntegerField(read_only=True)

    class Meta:
        model = SyncRun
        fields = [
            "guid",
            "company_guid",
            "actor_user",
            "actor_api_key",
            "entity",
            "endpoint",
            "started_at",
            "finished_at",
            "duration_ms",
            "status",
            "dry_run",
            "atomic",
            "item_count",
            "inserted",
            "updated",
            "unchanged",
            "errors",
            "request_id",
            "idempotency_key",
            "request_hash",
            "error_summary",
        ]
        read_only_fields = fields


class SyncRunBaseView(TenantScopedAPIView):
    model = SyncRun
    permission_classes = [CanReadEntities]
    serializer_class = SyncRunSerializer
    extra_query_parameters = ("company_guid",)

    def refine_queryset(self, queryset):
        return queryset.select_related("company", "actor_user", "actor_api_key").order_by("-started_at", "-id")


class SyncRunListView(SyncRunBaseView):
    """Sync runs of your company, newest first (filters: entity, status, since)."""

    lists = True

    filterset_class = SyncRunFilterSet

    @extend_schema(tags=["sync"], parameters=[COMPANY_GUID_PARAMETER], responses={200: SyncRunSerializer(many=True)})
    def get(self, request):
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response(SyncRunSerializer(page, many=True).data)


class SyncRunDetailView(SyncRunBaseView):
    """One sync run."""

    @extend_schema(tags=["sync"], parameters=[COMPANY_GUID_PARAMETER], responses={200: SyncRunSerializer})
    def get(self, request, guid):
        return Response(SyncRunSerializer(self.get_object()).data)
