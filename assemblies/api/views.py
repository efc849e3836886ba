"""``/api/v1/{projects,components,assemblies,pieces,articles}``: lists, details, delete, restore."""

from __future__ import annotations

from dataclasses import dataclass

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.response import Response

from ractory.api.filters import boolean_query_parameter
from tenants.permissions import CanDeleteEntities, CanReadEntities
from tenants.scoping import COMPANY_GUID_PARAMETER, TenantScopedAPIView

from .. import filtersets
from ..cascade import CASCADES
from ..models import Article, Assembly, Component, Piece, Project
from ..selectors import Representation
from ..services import Actor, restore, soft_delete

INCLUDE_INACTIVE = OpenApiParameter("include_inactive", bool, description="true: a soft-deleted row is found too.")


@dataclass(frozen=True)
class ReadEntity:
    plural: str
    singular: str
    representation: Representation
    filterset: type


READ_ENTITIES = {
    entity.plural: entity
    for entity in (
        ReadEntity("projects", "project", Representation(Project, ()), filtersets.ProjectFilterSet),
        ReadEntity("components", "component", Representation(Component, ("project",)), filtersets.ComponentFilterSet),
        ReadEntity(
            "assemblies", "assembly", Representation(Assembly, ("project", "component")), filtersets.AssemblyFilterSet
        ),
        ReadEntity(
            "pieces", "piece", Representation(Piece, ("project", "component", "assembly")), filtersets.PieceFilterSet
        ),
        ReadEntity(
            "articles", "article", Representation(Article, ("project", "component")), filtersets.ArticleFilterSet
        ),
    )
}


class EntityBaseView(TenantScopedAPIView):
    entity: ReadEntity
    permission_classes = [CanReadEntities]

    @property
    def model(self):
        return self.entity.representation.model


class EntityListView(EntityBaseView):
    lists = True
    extra_query_parameters = ("company_guid",)

    @property
    def filterset_class(self):
        return self.entity.filterset

    def refine_queryset(self, queryset):
        return queryset.order_by("created_at", "id")

    def get(self, request):
        # Page on the row ids alone (the count and the offset need no joins), then read the page's
        # rows with their parent guids joined in: three queries whatever the page size.
        representation = self.entity.representation
        page_ids = self.paginate_queryset(self.filter_queryset(self.get_queryset()).values_list("id", flat=True))
        page = self.get_queryset().filter(pk__in=page_ids)
        return self.get_paginated_response(representation.as_dicts(representation.tuples(page)))


class EntityDetailView(EntityBaseView):
    extra_query_parameters = ("company_guid", "include_inactive")

    def filter_detail_queryset(self, queryset):
        queryset = queryset.only("id", "company_id", "guid", "is_active", "deleted_at")
        if boolean_query_parameter(self.request, "include_inactive"):
            return queryset
        return queryset.filter(is_active=True)

    def get_permissions(self):
        if self.request.method == "DELETE":
            return [CanDeleteEntities()]
        return super().get_permissions()

    def get(self, request, guid):
        row = self.get_object()
        return Response(self.entity.representation.detail(self.get_queryset(), row.pk, row.company_id))

    def delete(self, request, guid):
        row = self.get_object()
        soft_delete(model=self.model, row=row, actor=Actor.of(self.caller, getattr(request, "request_id", None)))
        return Response(status=204)


class EntityRestoreView(EntityBaseView):
    permission_classes = [CanDeleteEntities]
    extra_query_parameters = ("company_guid",)
    extra_error_statuses = (409,)

    def filter_detail_queryset(self, queryset):
        return queryset.only("id", "company_id", "guid", "is_active", "deleted_at").filter(is_active=False)

    def post(self, request, guid):
        row = self.get_object()
        restore(model=self.model, row=row, actor=Actor.of(self.caller, getattr(request, "request_id", None)))
        return Response(status=204)


def _schema_serializer(entity: ReadEntity, *, detail: bool):
    """The representation as a serializer, for the OpenAPI document only (rows render from tuples)."""
    representation = entity.representation
    model = representation.model
    declared = {"company_guid": serializers.UUIDField()}
    declared.update({f"{name}_guid": serializers.UUIDField(allow_null=True) for name in representation.parents})
    fields = list(representation.keys)
    if detail:
        if representation.has_picture:
            declared["picture"] = serializers.CharField(allow_null=True, help_text="base64, padded")
            fields.append("picture")
        for child, _link in CASCADES[model]:
            name = f"{child._meta.model_name}_count"
            declared[name] = serializers.IntegerField(help_text=f"Active {child._meta.verbose_name_plural}.")
            fields.append(name)
    meta = type("Meta", (), {"model": model, "fields": fields, "read_only_fields": fields})
    suffix = "Detail" if detail else ""
    return type(f"{entity.singular.capitalize()}{suffix}", (serializers.ModelSerializer,), {**declared, "Meta": meta})


def _views_for(entity: ReadEntity):
    list_serializer = _schema_serializer(entity, detail=False)
    detail_serializer = _schema_serializer(entity, detail=True)

    @extend_schema(
        tags=[entity.plural],
        operation_id=f"{entity.plural}_list",
        parameters=[COMPANY_GUID_PARAMETER],
        responses={200: list_serializer(many=True)},
    )
    def get_list(self, request):
        return EntityListView.get(self, request)

    get_list.__doc__ = (
        f"Active {entity.plural} of your company (a SystemAdmin: of every company), oldest first, "
        "as a bare array; X-Total-Count and Link headers page it."
    )

    @extend_schema(
        tags=[entity.plural],
        operation_id=f"{entity.plural}_retrieve",
        parameters=[COMPANY_GUID_PARAMETER, INCLUDE_INACTIVE],
        responses={200: detail_serializer},
    )
    def get_detail(self, request, guid):
        return EntityDetailView.get(self, request, guid)

    get_detail.__doc__ = f"One {entity.singular}, with its picture (base64) and real counts of its active children."

    @extend_schema(
        tags=[entity.plural],
        operation_id=f"{entity.plural}_destroy",
        parameters=[COMPANY_GUID_PARAMETER],
        responses={204: None},
    )
    def delete(self, request, guid):
        return EntityDetailView.delete(self, request, guid)

    delete.__doc__ = (
        f"Soft-delete the {entity.singular} and its active descendants with one timestamp "
        "(restorable together). A deleted one is a 404."
    )

    @extend_schema(
        tags=[entity.plural],
        operation_id=f"{entity.plural}_restore",
        parameters=[COMPANY_GUID_PARAMETER],
        request=None,
        responses={204: None},
    )
    def post_restore(self, request, guid):
        return EntityRestoreView.post(self, request, guid)

    post_restore.__doc__ = (
        f"Restore a deleted {entity.singular} and exactly the descendants deleted with it. "
        "An active one is a 404; one whose parent is deleted is a 409 parent_inactive."
    )
    name = entity.singular.capitalize()
    list_view = type(
        f"{name}ListView", (EntityListView,), {"entity": entity, "get": get_list, "__doc__": get_list.__doc__}
    )
    detail_view = type(
        f"{name}DetailView",
        (EntityDetailView,),
        {
            "entity": entity,
            "get": get_detail,
            "delete": delete,
            "extra_error_statuses": (409,),
            "__doc__": get_detail.__doc__,
        },
    )
    restore_view = type(
        f"{name}RestoreView",
        (EntityRestoreView,),
        {"entity": entity, "post": post_restore, "__doc__": post_restore.__doc__},
    )
    return list_view, detail_view, restore_view


ENTITY_VIEWS = {plural: _views_for(entity) for plural, entity in READ_ENTITIES.items()}
