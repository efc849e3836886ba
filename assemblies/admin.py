"""The production entities (Ractory and MES) in the Django admin: read-only (the ERP is the source
of truth), tenant-aware, and fast on 100,000 pieces (joined parents, no full-table counts, no
pictures in lists)."""

from __future__ import annotations

import base64

from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html

from tenants.admin import TenantAdminMixin, is_system_admin

from .models import Article, Assembly, AuditEvent, Cell, Component, Job, Operation, Part, Piece, Project, Resource

IMAGE_SIGNATURES = (
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF8", "image/gif"),
    (b"RIFF", "image/webp"),
)


class RactoryEntityAdmin(TenantAdminMixin, admin.ModelAdmin):
    parents: tuple[str, ...] = ()
    list_per_page = 100
    show_full_result_count = False  # "N of M" would count the whole table on every page
    ordering = ["-created_at", "-id"]

    def get_list_display(self, request):
        return [*self.list_display, *(f"{name}_link" for name in self.parents), "is_active", "updated_at"]

    def get_list_select_related(self, request):
        return ["company", *self.parents]

    def get_list_filter(self, request):
        filters = ["is_active"]
        if "project" in self.parents:
            filters.append(("project", admin.RelatedOnlyFieldListFilter))
        if is_system_admin(request):
            filters.append("company")
        return filters

    def get_queryset(self, request):
        # Pictures are never read for pages: neither the row's nor its joined parents'.
        pictures = ["picture"] if self._has_picture() else []
        for name in self.parents:
            parent = self.model._meta.get_field(name).related_model
            if any(field.name == "picture" for field in parent._meta.concrete_fields):
                pictures.append(f"{name}__picture")
        return super().get_queryset(request).defer(*pictures)

    def get_readonly_fields(self, request, obj=None):
        fields = [field.name for field in self.model._meta.concrete_fields if field.name != "picture"]
        return [*fields, *(["picture_preview"] if self._has_picture() else [])]

    def get_fields(self, request, obj=None):
        return self.get_readonly_fields(request, obj)

    def has_change_permission(self, request, obj=None):
        return False

    def has_add_permission(self, request):
        return False

    def _has_picture(self) -> bool:
        return any(field.name == "picture" for field in self.model._meta.concrete_fields)

    @admin.display(description="picture")
    def picture_preview(self, obj):
        picture = type(obj).objects.filter(pk=obj.pk).values_list("picture", flat=True).first()
        if not picture:
            return "—"
        data = bytes(picture)
        mime = next((kind for signature, kind in IMAGE_SIGNATURES if data.startswith(signature)), None)
        if mime is None:
            return f"{len(data)} bytes (not a recognised image)"
        encoded = base64.b64encode(data).decode("ascii")
        return format_html('<img src="data:{};base64,{}" style="max-width: 480px; max-height: 480px">', mime, encoded)


def _parent_link(name: str):
    @admin.display(description=name, ordering=f"{name}__created_at")
    def link(self, obj):
        parent = getattr(obj, name)
        if parent is None:
            return "—"
        url = reverse(f"admin:assemblies_{parent._meta.model_name}_change", args=[parent.pk])
        # A Ractory parent by its code (or guid); an MES one by its job number, part number or name.
        return format_html('<a href="{}">{}</a>', url, getattr(parent, "code", None) or str(parent))

    return link


def _with_parent_links(cls):
    for name in cls.parents:
        setattr(cls, f"{name}_link", _parent_link(name))
    return cls


@admin.register(Project)
class ProjectAdmin(RactoryEntityAdmin):
    list_display = ["code", "company_name", "due_date", "in_production"]
    search_fields = ["=guid", "code"]


@admin.register(Component)
@_with_parent_links
class ComponentAdmin(RactoryEntityAdmin):
    parents = ("project",)
    list_display = ["code", "designation", "quantity"]
    search_fields = ["=guid", "code"]


@admin.register(Assembly)
@_with_parent_links
class AssemblyAdmin(RactoryEntityAdmin):
    parents = ("project", "component")
    list_display = ["guid", "trolley", "trolley_cell", "cell_number"]
    search_fields = ["=guid", "trolley", "trolley_cell"]


@admin.register(Piece)
@_with_parent_links
class PieceAdmin(RactoryEntityAdmin):
    parents = ("project", "component", "assembly")
    list_display = ["piece_id", "barcode", "profile_code", "outer_length"]
    search_fields = ["=guid", "=piece_id", "=barcode"]


@admin.register(Article)
@_with_parent_links
class ArticleAdmin(RactoryEntityAdmin):
    parents = ("project", "component")
    list_display = ["code", "designation", "quantity", "unit"]
    search_fields = ["=guid", "code"]


@admin.register(AuditEvent)
class AuditEventAdmin(TenantAdminMixin, admin.ModelAdmin):
    list_display = ["created_at", "action", "entity", "target_guid", "rows_touched", "company", "request_id"]
    list_filter = ["action", "entity"]
    list_select_related = ["company"]
    search_fields = ["=target_guid", "=request_id"]
    show_full_result_count = False

    def get_readonly_fields(self, request, obj=None):
        return [field.name for field in AuditEvent._meta.concrete_fields]

    def has_change_permission(self, request, obj=None):
        return False


class MesEntityAdmin(RactoryEntityAdmin):
    """An MES table: keyed by its ERP's external id, filtered by source and status, parents as links."""

    search_fields = ["=guid", "=external_id"]

    def get_list_display(self, request):
        return [
            "external_id",
            *self.list_display,
            *(f"{name}_link" for name in self.parents),
            "external_source",
            "is_active",
            "synced_at",
            "updated_at",
        ]

    def get_list_filter(self, request):
        names = {field.name for field in self.model._meta.concrete_fields}
        filters = ["is_active", "external_source", *(name for name in ("status", "active") if name in names)]
        if is_system_admin(request):
            filters.append("company")
        return filters


@admin.register(Cell)
class CellAdmin(MesEntityAdmin):
    list_display = ["name", "sequence", "color", "active"]
    search_fields = [*MesEntityAdmin.search_fields, "name"]


@admin.register(Resource)
class ResourceAdmin(MesEntityAdmin):
    list_display = ["name", "type", "identifier", "location", "status", "active"]
    search_fields = [*MesEntityAdmin.search_fields, "name", "=identifier"]


@admin.register(Job)
class JobAdmin(MesEntityAdmin):
    list_display = ["job_number", "customer", "due_date", "priority", "status"]
    search_fields = [*MesEntityAdmin.search_fields, "job_number"]


@admin.register(Part)
@_with_parent_links
class PartAdmin(MesEntityAdmin):
    parents = ("job",)
    list_display = ["part_number", "material", "quantity", "status"]
    search_fields = [*MesEntityAdmin.search_fields, "part_number", "job__job_number"]


@admin.register(Operation)
@_with_parent_links
class OperationAdmin(MesEntityAdmin):
    parents = ("part", "cell")
    list_display = ["sequence", "operation_name", "estimated_time_minutes", "status"]
    search_fields = [*MesEntityAdmin.search_fields, "operation_name", "part__part_number", "part__job__job_number"]
