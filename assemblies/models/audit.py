import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone


class AuditEvent(models.Model):
    """One row per cascade root of every soft delete and restore. Append-only."""

    class Action(models.TextChoices):
        SOFT_DELETE = "soft_delete"
        RESTORE = "restore"

    guid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    company = models.ForeignKey("tenants.Company", on_delete=models.PROTECT, db_index=False, related_name="+")
    actor_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    actor_api_key = models.ForeignKey(
        "tenants.ApiKey", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    action = models.CharField(max_length=20, choices=Action.choices)
    entity = models.CharField(max_length=20)
    target_guid = models.UUIDField()
    rows_touched = models.IntegerField()
    request_id = models.CharField(max_length=100, null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["company", "created_at"], name="auditevent_co_created_idx")]
        constraints = [
            models.CheckConstraint(
                condition=Q(actor_user__isnull=True) | Q(actor_api_key__isnull=True),
                name="assemblies_auditevent_one_actor_check",
            )
        ]

    def __str__(self) -> str:
        return f"{self.action} {self.entity} {self.target_guid}"
