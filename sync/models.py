"""Records about sync requests: sync runs and idempotency records."""

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q

from tenants.models import TenantQuerySet


class SyncRun(models.Model):
    """One row per sync request that passed authentication and body parsing."""

    class Status(models.TextChoices):
        SUCCEEDED = "succeeded"
        PARTIAL = "partial"
        FAILED = "failed"

    guid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    company = models.ForeignKey("tenants.Company", on_delete=models.PROTECT, db_index=False, related_name="+")
    actor_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    actor_api_key = models.ForeignKey(
        "tenants.ApiKey", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    entity = models.CharField(max_length=20)
    endpoint = models.CharField(max_length=100)
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField()
    status = models.CharField(max_length=10, choices=Status.choices)
    dry_run = models.BooleanField(default=False)
    atomic = models.BooleanField(default=True)
    item_count = models.IntegerField(default=0)
    inserted = models.IntegerField(default=0)
    updated = models.IntegerField(default=0)
    unchanged = models.IntegerField(default=0)
    errors = models.IntegerField(default=0)
    request_id = models.CharField(max_length=100, null=True, blank=True)
    idempotency_key = models.CharField(max_length=255, null=True, blank=True)
    request_hash = models.CharField(max_length=64)
    error_summary = models.JSONField(null=True, blank=True)

    objects = TenantQuerySet.as_manager()

    class Meta:
        ordering = ["-started_at", "-id"]
        indexes = [
            models.Index(fields=["company", "started_at"], name="syncrun_co_started_idx"),
            models.Index(fields=["company", "entity", "status"], name="syncrun_co_entity_status_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(actor_user__isnull=True) | Q(actor_api_key__isnull=True),
                name="sync_syncrun_one_actor_check",
            )
        ]

    def __str__(self) -> str:
        return f"{self.endpoint} {self.status}"

    @property
    def duration_ms(self) -> int:
        return round((self.finished_at - self.started_at).total_seconds() * 1000)


class IdempotencyRecord(models.Model):
    """The stored answer to a sync request sent with an ``Idempotency-Key`` (kept 24 hours)."""

    company = models.ForeignKey("tenants.Company", on_delete=models.PROTECT, db_index=False, related_name="+")
    key = models.CharField(max_length=255)
    request_hash = models.CharField(max_length=64)
    status_code = models.SmallIntegerField()
    content_type = models.CharField(max_length=100)
    response_body = models.JSONField()
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["company", "key"], name="sync_idempotencyrecord_company_key_uniq")
        ]

    def __str__(self) -> str:
        return self.key
