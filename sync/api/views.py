"""The Ractory sync endpoints ``POST /api/v1/sync/{entity}``, and ``GET /api/v1/sync/runs``."""

from __future__ import annotations

import django_filters
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.response import Response

from assemblies.cascade import ENTITY_NAMES
from ractory.api.filters import StrictDateTimeFilter, boolean_query_parameter
from tenants.permissions import CanReadEntities
from tenants.scoping import COMPANY_GUID_PARAMETER, TenantScopedAPIView

from ..entities import SYNC_ENTITIES, SyncEntity
from ..models import SyncRun
from .endpoint import SyncEndpoint, batch_items
from .serializers import SyncResultSerializer


class RactorySyncView(SyncEndpoint):
    """Base of the five sync endpoints (``ProjectSyncView`` …); ``entity`` says which."""

    extra_query_parameters = ("dry_run", "atomic")

    def post(self, request):
        dry_run = boolean_query_parameter(request, "dry_run", False)
        atomic = boolean_query_parameter(request, "atomic", True)
        raw_body = request._request.body  # before DRF reads the stream
        items, _ = batch_items(request.data, self.entity)
        return self.run_sync(
            request,
            raw_body=raw_body,
            items=items,
            dry_run=dry_run,
            atomic=atomic,
            render=lambda outcome: (200, outcome.as_response()),
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
