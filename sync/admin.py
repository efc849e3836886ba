"""Sync runs in the admin: read-only, tenant-aware, newest first."""

from django.contrib import admin

from tenants.admin import TenantAdminMixin

from .models import SyncRun


@admin.register(SyncRun)
class SyncRunAdmin(TenantAdminMixin, admin.ModelAdmin):
    list_display = [
        "started_at",
        "endpoint",
        "company",
        "status",
        "item_count",
        "inserted",
        "updated",
        "unchanged",
        "errors",
        "dry_run",
        "actor",
    ]
    list_filter = ["status", "entity", "dry_run", "company"]
    list_select_related = ["company", "actor_user", "actor_api_key"]
    search_fields = ["guid", "request_id", "idempotency_key"]
    date_hierarchy = "started_at"
    ordering = ["-started_at", "-id"]
    show_full_result_count = False  # no COUNT(*) over every run on each page

    def get_readonly_fields(self, request, obj=None):
        return [field.name for field in SyncRun._meta.concrete_fields]

    @admin.display(description="actor")
    def actor(self, run: SyncRun) -> str:
        if run.actor_api_key_id:
            return run.actor_api_key.prefix
        if run.actor_user_id:
            return run.actor_user.email
        return "command"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
