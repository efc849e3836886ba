"""``/api/v1/{projects,components,assemblies,pieces,articles}``: lists, details, delete, restore.

One ViewSet per entity (``PieceViewSet`` …) over ``EntityViewSet``; ``urls.py`` registers them on
a router, which serves three URLs for each:

- ``<plural>`` (``<plural>-list``): ``list``;
- ``<plural>/<guid>`` (``<plural>-detail``): ``retrieve`` and ``destroy``;
- ``<plural>/<guid>/restore`` (``<plural>-restore``): the ``restore`` action.
"""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework.decorators import action
from rest_framework.response import Response

from ractory.api.filters import boolean_query_parameter
from tenants.permissions import CanDeleteEntities, CanReadEntities
from tenants.scoping import COMPANY_GUID_PARAMETER, TenantScopedViewSet

from ..services import Actor, restore, soft_delete
from . import serializers
from .entities import READ_ENTITIES, ReadEntity

INCLUDE_INACTIVE = OpenApiParameter("include_inactive", bool, description="true: a soft-deleted row is found too.")

# The columns get_object() reads: enough to check the row and to delete or restore it.
ROW_STATE_FIELDS = ("id", "company_id", "guid", "is_active", "deleted_at")


class EntityViewSet(TenantScopedViewSet):
    """Base of the five entity ViewSets; ``entity`` says which.

    What a request may carry is decided by the URL it came to, whatever its method: a wrong
    method is authenticated, permission-checked and query-checked like a right one on the same
    URL before its 405 (with ``Allow``), as each URL's own view did before these were ViewSets.
    """

    entity: ReadEntity
    lookup_value_converter = "guid"  # any case, hyphens optional; anything else is a 404
    permission_classes = [CanReadEntities]

    @property
    def model(self):
        return self.entity.representation.model

    @property
    def filterset_class(self):
        return self.entity.filterset

    @property
    def served_url(self) -> str:
        """``"list"``, ``"detail"`` or ``"restore"``: the URL this view instance serves."""
        if not self.detail:
            return "list"
        return "restore" if "restore" in self.action_map.values() else "detail"

    @property
    def lists(self) -> bool:
        return self.served_url == "list"

    @property
    def extra_query_parameters(self) -> tuple[str, ...]:
        if self.served_url == "detail":
            return ("company_guid", "include_inactive")
        return ("company_guid",)

    @property
    def extra_error_statuses(self) -> tuple[int, ...]:
        # A detail, delete or restore names one row by guid: ambiguous across companies for a
        # SystemAdmin (409 ambiguous_guid); a restore under a deleted parent is 409 too.
        return () if self.served_url == "list" else (409,)

    def get_permissions(self):
        if self.served_url == "restore" or (self.served_url == "detail" and self.request.method == "DELETE"):
            return [CanDeleteEntities()]
        return super().get_permissions()

    def get_view_name(self) -> str:
        return f"{self.entity.singular.capitalize()} {self.served_url.capitalize()}"

    def get_view_description(self, html=False) -> str:
        entity = self.entity
        descriptions = {
            "list": entity.list_description,
            "detail": entity.retrieve_description,
            "restore": entity.restore_description,
        }
        return descriptions[self.served_url]

    def refine_queryset(self, queryset):
        if self.served_url == "list":
            return queryset.order_by("created_at", "id")
        return queryset

    def filter_detail_queryset(self, queryset):
        queryset = queryset.only(*ROW_STATE_FIELDS)
        if self.served_url == "restore":
            return queryset.filter(is_active=False)
        if boolean_query_parameter(self.request, "include_inactive"):
            return queryset
        return queryset.filter(is_active=True)

    def list(self, request):
        # Page on the row ids alone (the count and the offset need no joins), then read the page's
        # rows with their parent guids joined in: three queries whatever the page size.
        representation = self.entity.representation
        page_ids = self.paginate_queryset(self.filter_queryset(self.get_queryset()).values_list("id", flat=True))
        page = self.get_queryset().filter(pk__in=page_ids)
        return self.get_paginated_response(representation.as_dicts(representation.tuples(page)))

    def retrieve(self, request, guid):
        row = self.get_object()
        return Response(self.entity.representation.detail(self.get_queryset(), row.pk, row.company_id))

    def destroy(self, request, guid):
        row = self.get_object()
        soft_delete(model=self.model, row=row, actor=Actor.of(self.caller, getattr(request, "request_id", None)))
        return Response(status=204)

    @action(detail=True, methods=["post"])
    def restore(self, request, guid):
        row = self.get_object()
        restore(model=self.model, row=row, actor=Actor.of(self.caller, getattr(request, "request_id", None)))
        return Response(status=204)


def described_entity_endpoints(list_serializer, detail_serializer):
    """Gives an entity ViewSet its OpenAPI operations (ids ``<plural>_list``, ``_retrieve``,
    ``_destroy``, ``_restore``), described from its ``entity``, with the answers' serializers."""

    def describe(viewset: type[EntityViewSet]) -> type[EntityViewSet]:
        entity = viewset.entity
        tags = [entity.plural]
        return extend_schema_view(
            list=extend_schema(
                tags=tags,
                operation_id=f"{entity.plural}_list",
                description=entity.list_description,
                parameters=[COMPANY_GUID_PARAMETER],
                responses={200: list_serializer(many=True)},
            ),
            retrieve=extend_schema(
                tags=tags,
                operation_id=f"{entity.plural}_retrieve",
                description=entity.retrieve_description,
                parameters=[COMPANY_GUID_PARAMETER, INCLUDE_INACTIVE],
                responses={200: detail_serializer},
            ),
            destroy=extend_schema(
                tags=tags,
                operation_id=f"{entity.plural}_destroy",
                description=entity.destroy_description,
                parameters=[COMPANY_GUID_PARAMETER],
                responses={204: None},
            ),
            restore=extend_schema(
                tags=tags,
                operation_id=f"{entity.plural}_restore",
                description=entity.restore_description,
                parameters=[COMPANY_GUID_PARAMETER],
                request=None,
                responses={204: None},
            ),
        )(viewset)

    return describe


@described_entity_endpoints(serializers.ProjectSerializer, serializers.ProjectDetailSerializer)
class ProjectViewSet(EntityViewSet):
    entity = READ_ENTITIES["projects"]


@described_entity_endpoints(serializers.ComponentSerializer, serializers.ComponentDetailSerializer)
class ComponentViewSet(EntityViewSet):
    entity = READ_ENTITIES["components"]


@described_entity_endpoints(serializers.AssemblySerializer, serializers.AssemblyDetailSerializer)
class AssemblyViewSet(EntityViewSet):
    entity = READ_ENTITIES["assemblies"]


@described_entity_endpoints(serializers.PieceSerializer, serializers.PieceDetailSerializer)
class PieceViewSet(EntityViewSet):
    entity = READ_ENTITIES["pieces"]


@described_entity_endpoints(serializers.ArticleSerializer, serializers.ArticleDetailSerializer)
class ArticleViewSet(EntityViewSet):
    entity = READ_ENTITIES["articles"]


ENTITY_VIEWSETS = {
    viewset.entity.plural: viewset
    for viewset in (ProjectViewSet, ComponentViewSet, AssemblyViewSet, PieceViewSet, ArticleViewSet)
}
