"""The Eryxon MES sync API: ``PUT /api-{entity}/sync`` and ``POST /api-{entity}/bulk-sync``.

Same engine, authentication, rate limits, sync runs and ``Idempotency-Key`` as the Ractory sync
endpoints; only the body shapes differ: Eryxon's envelope ``{"success": …, "data" | "error": …}``.
Errors are rendered in that envelope by the exception handler (``ractory.api.problems``), for
every path under ``/api-``.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers

from ractory.api.filters import boolean_query_parameter
from ractory.api.parsers import parse_json_body
from ractory.api.problems import Problem, ValidationFailed, dotted_path
from ractory.refusals import FieldError

from ..entities import MES_ENTITIES, SyncEntity
from ..refusals import ItemsRefused
from ..work import ERROR, INSERTED, ItemOutcome, SyncOutcome
from .endpoint import SyncEndpoint, batch_items, refuse_too_many_rows
from .mes_serializers import MesBulkResultSerializer, MesSingleResultSerializer

ALTERNATIVE_WRAPPER = "items"  # Eryxon clients also send {"items": [...]}
ACTIONS = {INSERTED: "created"}  # the engine's words → Eryxon's (updated, unchanged, error alike)


def _action(outcome: ItemOutcome) -> str:
    return ACTIONS.get(outcome.action, outcome.action)


def error_sentence(errors: list[FieldError], strip: int) -> str:
    """The item's first error as a sentence, ``field: what is wrong``, and how many more."""
    first = errors[0]
    field = dotted_path(_relative(first.pointer, strip))
    text = f"{field}: {first.detail}" if field else first.detail
    if len(errors) > 1:
        text += f" (and {len(errors) - 1} more)"
    return text


def _relative(pointer: str, strip: int) -> str:
    """The pointer without its first ``strip`` segments (``/jobs/3/due_date`` → ``/due_date``)."""
    if strip == 0:
        return pointer
    parts = pointer.split("/")[1:]
    return "/" + "/".join(parts[strip:]) if len(parts) > strip else ""


def item_details(errors: list[FieldError], strip: int) -> list[dict[str, str]]:
    return [
        {"field": dotted_path(_relative(error.pointer, strip)), "code": error.code, "message": error.detail}
        for error in errors
    ]


def single_answer(outcome: SyncOutcome) -> tuple[int, dict[str, Any]]:
    item = outcome.items[0]
    data = {"action": _action(item), "id": str(item.guid), "external_id": item.external_id}
    return (201 if item.action == INSERTED else 200), {"success": True, "data": data}


def bulk_answer(outcome: SyncOutcome) -> tuple[int, dict[str, Any]]:
    results = []
    for item in outcome.items:
        result: dict[str, Any] = {
            "index": item.index,
            "external_id": item.external_id,
            "id": str(item.guid) if item.guid and item.action != ERROR else None,
            "action": _action(item),
        }
        if item.errors:
            result["error"] = error_sentence(item.errors, strip=2)
            result["details"] = item_details(item.errors, strip=2)
        results.append(result)
    data = {
        "total": len(outcome.items),
        "created": outcome.count(INSERTED),
        "updated": outcome.count("updated"),
        "unchanged": outcome.count("unchanged"),
        "errors": outcome.count(ERROR),
        "results": results,
    }
    return 200, {"success": True, "data": data}


class MesSingleSyncView(SyncEndpoint):
    """Base of the five ``PUT /api-{entity}/sync`` endpoints: one item, the body itself."""

    def put(self, request):
        raw_body = request._request.body  # before DRF reads the stream
        if not raw_body.strip():  # DRF does not parse an empty body at all: it would be {}
            parse_json_body(raw_body)
        refuse_too_many_rows(self.entity, [request.data], "")
        return self.run_sync(request, raw_body=raw_body, items=[request.data], wrapper=None, render=single_answer)

    def items_refused(self, refusal: ItemsRefused) -> Problem:
        # Eryxon's clients show the message: it names the first wrong field, not a count.
        return ValidationFailed(error_sentence(refusal.errors, strip=0), errors=refusal.errors)


class MesBulkSyncView(SyncEndpoint):
    """Base of the five ``POST /api-{entity}/bulk-sync`` endpoints: partial by default."""

    extra_query_parameters = ("atomic",)

    def post(self, request):
        atomic = boolean_query_parameter(request, "atomic", False)
        raw_body = request._request.body  # before DRF reads the stream
        items, wrapper = batch_items(request.data, self.entity, alternative=ALTERNATIVE_WRAPPER)
        return self.run_sync(
            request, raw_body=raw_body, items=items, wrapper=wrapper, render=bulk_answer, atomic=atomic
        )


# --- One endpoint class per entity and shape, each with its own schema --------------------------


EXAMPLES: dict[str, dict[str, Any]] = {
    "cells": {
        "external_id": "WC-CUTTING",
        "external_source": "SAP",
        "name": "Cutting",
        "color": "#3b82f6",
        "sequence": 1,
        "active": True,
    },
    "resources": {
        "external_id": "TOOL-001",
        "external_source": "SAP",
        "name": "CNC Mill #1",
        "type": "equipment",
        "identifier": "MILL-001",
        "status": "available",
    },
    "jobs": {
        "external_id": "SO-12345",
        "external_source": "SAP",
        "job_number": "JOB-2024-001",
        "customer": "Acme Corp",
        "due_date": "2024-12-31",
        "parts": [
            {
                "external_id": "SO-12345-10",
                "part_number": "BRACKET-A",
                "quantity": 25,
                "operations": [
                    {
                        "external_id": "SO-12345-10-010",
                        "operation_name": "Laser Cut",
                        "cell_name": "Cutting",
                        "sequence": 1,
                    }
                ],
            }
        ],
    },
    "parts": {
        "external_id": "SO-12345-10",
        "external_source": "SAP",
        "job_external_id": "SO-12345",
        "part_number": "BRACKET-A",
        "material": "Steel 304",
        "quantity": 25,
    },
    "operations": {
        "external_id": "SO-12345-10-010",
        "external_source": "SAP",
        "part_external_id": "SO-12345-10",
        "operation_name": "Laser Cut",
        "cell_name": "Cutting",
        "sequence": 1,
        "estimated_time_minutes": 30,
    },
}

EXAMPLE_ID = "550e8400-e29b-41d4-a716-446655440000"

ATOMIC = OpenApiParameter(
    "atomic", bool, description="true: any invalid item rejects the whole request (422), nothing written."
)
IDEMPOTENCY_KEY = OpenApiParameter(
    "Idempotency-Key", str, location=OpenApiParameter.HEADER, description="Replay protection for 24 h."
)


def _envelope(name: str, data: serializers.Serializer) -> serializers.Serializer:
    """Eryxon's success envelope around ``data``, as the OpenAPI component ``name``."""
    return inline_serializer(name, {"success": serializers.BooleanField(), "data": data})


def described_single_sync_endpoint(view: type[MesSingleSyncView]) -> type[MesSingleSyncView]:
    """Gives a ``PUT /api-{entity}/sync`` class its own OpenAPI body, examples and description."""
    entity = view.entity
    name = entity.singular.capitalize()
    external_id = EXAMPLES[entity.plural]["external_id"]
    response = _envelope(f"Mes{name}SyncResponse", MesSingleResultSerializer())

    @extend_schema(
        tags=["mes"],
        operation_id=f"mes_sync_{entity.singular}",
        summary=f"Upsert one {entity.singular} by (external_source, external_id)",
        request=entity.item_serializer,
        responses={201: response, 200: response},
        parameters=[IDEMPOTENCY_KEY],
        examples=[
            OpenApiExample("request", value=EXAMPLES[entity.plural], request_only=True),
            OpenApiExample(
                "created",
                value={"success": True, "data": {"action": "created", "id": EXAMPLE_ID, "external_id": external_id}},
                response_only=True,
                status_codes=["201"],
            ),
            OpenApiExample(
                "unchanged",
                value={"success": True, "data": {"action": "unchanged", "id": EXAMPLE_ID, "external_id": external_id}},
                response_only=True,
                status_codes=["200"],
            ),
        ],
    )
    def put(self, request):
        return MesSingleSyncView.put(self, request)

    put.__doc__ = (
        f"Insert or update one {entity.singular} (201 created; 200 updated or unchanged), with merge "
        "semantics: fields left out keep their stored values. An item equal to what was last synced "
        "(same canonical hash) is unchanged and not written. Any invalid field: 422, nothing written."
        + (" Nested items are written with the item or not at all." if entity.nested else "")
    )
    view.put = put
    view.__doc__ = put.__doc__
    return view


def _bulk_example(entity: SyncEntity) -> dict[str, Any]:
    external_id = EXAMPLES[entity.plural]["external_id"]
    return {
        "success": True,
        "data": {
            "total": 2,
            "created": 1,
            "updated": 0,
            "unchanged": 0,
            "errors": 1,
            "results": [
                {"index": 0, "external_id": external_id, "id": EXAMPLE_ID, "action": "created"},
                {
                    "index": 1,
                    "external_id": f"{external_id}-2",
                    "id": None,
                    "action": "error",
                    "error": "external_source: This field is required.",
                    "details": [{"field": "external_source", "code": "required", "message": "This field is required."}],
                },
            ],
        },
    }


def described_bulk_sync_endpoint(view: type[MesBulkSyncView]) -> type[MesBulkSyncView]:
    """Gives a ``POST /api-{entity}/bulk-sync`` class its own OpenAPI body, examples and description."""
    entity = view.entity
    name = entity.singular.capitalize()
    wrapper = inline_serializer(
        f"Mes{name}BulkSyncRequest",
        {entity.plural: entity.item_serializer(many=True, help_text='At most 1000; also accepted as "items".')},
    )
    response = _envelope(f"Mes{name}BulkSyncResponse", MesBulkResultSerializer())

    @extend_schema(
        tags=["mes"],
        operation_id=f"mes_bulk_sync_{entity.plural}",
        summary=f"Upsert up to 1000 {entity.plural}",
        request=wrapper,
        responses={200: response},
        parameters=[ATOMIC, IDEMPOTENCY_KEY],
        examples=[
            OpenApiExample("request", value={entity.plural: [EXAMPLES[entity.plural]]}, request_only=True),
            OpenApiExample("response", value=_bulk_example(entity), response_only=True, status_codes=["200"]),
        ],
    )
    def post(self, request):
        return MesBulkSyncView.post(self, request)

    post.__doc__ = (
        f"Insert or update up to 1000 {entity.plural}; results in input order. Partial by default: "
        "valid items (whole trees) are written and invalid ones reported with their index and "
        "field paths; atomic=true: any invalid item makes the request 422 with nothing written."
    )
    view.post = post
    view.__doc__ = post.__doc__
    return view


@described_single_sync_endpoint
class MesCellSyncView(MesSingleSyncView):
    entity = MES_ENTITIES["cells"]


@described_bulk_sync_endpoint
class MesCellBulkSyncView(MesBulkSyncView):
    entity = MES_ENTITIES["cells"]


@described_single_sync_endpoint
class MesResourceSyncView(MesSingleSyncView):
    entity = MES_ENTITIES["resources"]


@described_bulk_sync_endpoint
class MesResourceBulkSyncView(MesBulkSyncView):
    entity = MES_ENTITIES["resources"]


@described_single_sync_endpoint
class MesJobSyncView(MesSingleSyncView):
    entity = MES_ENTITIES["jobs"]


@described_bulk_sync_endpoint
class MesJobBulkSyncView(MesBulkSyncView):
    entity = MES_ENTITIES["jobs"]


@described_single_sync_endpoint
class MesPartSyncView(MesSingleSyncView):
    entity = MES_ENTITIES["parts"]


@described_bulk_sync_endpoint
class MesPartBulkSyncView(MesBulkSyncView):
    entity = MES_ENTITIES["parts"]


@described_single_sync_endpoint
class MesOperationSyncView(MesSingleSyncView):
    entity = MES_ENTITIES["operations"]


@described_bulk_sync_endpoint
class MesOperationBulkSyncView(MesBulkSyncView):
    entity = MES_ENTITIES["operations"]


MES_SINGLE_VIEWS = {
    view.entity.plural: view
    for view in (MesCellSyncView, MesResourceSyncView, MesJobSyncView, MesPartSyncView, MesOperationSyncView)
}
MES_BULK_VIEWS = {
    view.entity.plural: view
    for view in (
        MesCellBulkSyncView,
        MesResourceBulkSyncView,
        MesJobBulkSyncView,
        MesPartBulkSyncView,
        MesOperationBulkSyncView,
    )
}
