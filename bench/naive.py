"""The naive baseline: the sync endpoint most Django code would have.

A plain DRF ``ModelSerializer`` per item (parents as ``SlugRelatedField`` by guid), then
``update_or_create`` on (company, guid), one item after the other, in one transaction. Same
authentication (the real API key), same permission, same JSON parser as the real endpoints;
served by the same gunicorn next to them (``bench.urls``). Nothing here is used by the service.
"""

from __future__ import annotations

import uuid

from django.db import transaction
from django.utils import timezone
from rest_framework import generics, serializers
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from assemblies.models import Assembly, Component, Piece, Project
from ractory.api.pagination import ArrayPagination
from tenants.permissions import CanReadEntities, CanSyncWrite


class CompanySlugField(serializers.SlugRelatedField):
    """A parent named by guid, looked up inside the caller's company."""

    def get_queryset(self):
        return super().get_queryset().filter(company=self.context["company"])


class NaiveItemSerializer(serializers.ModelSerializer):
    company_guid = serializers.UUIDField(write_only=True)
    project_guid = CompanySlugField(source="project", slug_field="guid", queryset=Project.objects.all())
    component_guid = CompanySlugField(source="component", slug_field="guid", queryset=Component.objects.all())

    class Meta:
        exclude = ["id", "company", "project", "component", "created_at", "updated_at", "deleted_at", "picture"]


class NaivePieceSerializer(NaiveItemSerializer):
    assembly_guid = CompanySlugField(
        source="assembly", slug_field="guid", queryset=Assembly.objects.all(), allow_null=True, required=False
    )

    class Meta(NaiveItemSerializer.Meta):
        model = Piece
        exclude = [*NaiveItemSerializer.Meta.exclude, "assembly"]


class NaiveAssemblySerializer(NaiveItemSerializer):
    class Meta(NaiveItemSerializer.Meta):
        model = Assembly


class NaiveSyncView(APIView):
    permission_classes = [CanSyncWrite]
    model = None
    serializer_class = None
    plural = ""

    def post(self, request):
        company = request.user.company
        items = request.data.get(self.plural)
        if not isinstance(items, list):
            raise ValidationError({self.plural: "Must be a list."})
        results = []
        with transaction.atomic():
            for item in items:
                serializer = self.serializer_class(data=item, context={"company": company})
                serializer.is_valid(raise_exception=True)
                data = dict(serializer.validated_data)
                if data.pop("company_guid") != company.guid:
                    raise PermissionDenied("Another company.")
                guid = data.pop("guid", None) or uuid.uuid4()
                now = timezone.now()
                row, created = self.model.objects.update_or_create(
                    company=company,
                    guid=guid,
                    defaults={**data, "updated_at": now},
                    create_defaults={**data, "created_at": now, "updated_at": now},
                )
                results.append({"guid": str(row.guid), "action": "inserted" if created else "updated"})
        inserted = sum(1 for result in results if result["action"] == "inserted")
        return Response({"inserted": inserted, "updated": len(results) - inserted, "unchanged": 0, "items": results})


class NaivePieceSyncView(NaiveSyncView):
    model = Piece
    serializer_class = NaivePieceSerializer
    plural = "pieces"


class NaiveAssemblySyncView(NaiveSyncView):
    model = Assembly
    serializer_class = NaiveAssemblySerializer
    plural = "assemblies"


class NaivePieceReadSerializer(serializers.ModelSerializer):
    class Meta:
        model = Piece
        exclude = ["picture"]


class NaivePieceListView(generics.ListAPIView):
    """GET: the pieces of the caller's company, a ModelSerializer per row, limit/offset paging."""

    permission_classes = [CanReadEntities]
    serializer_class = NaivePieceReadSerializer
    pagination_class = ArrayPagination

    def get_queryset(self):
        return Piece.objects.filter(company=self.request.user.company, is_active=True).order_by("created_at", "id")
