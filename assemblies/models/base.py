"""What every Ractory production table shares: a per-company guid and the soft-delete invariant."""

import uuid

from django.db import models

from tenants.models import TenantOwnedModel


class RactoryEntity(TenantOwnedModel):
    """A Ractory row: keyed by (company, guid), soft-deleted with ``is_active``/``deleted_at``.

    The guid is unique per company only: the same guid in two companies is two unrelated rows.
    """

    guid = models.UUIDField(default=uuid.uuid4)

    # The order in which every writer locks and upserts rows of this table (assemblies.locking).
    lock_order = ("guid",)

    class Meta:
        abstract = True
        constraints = [
            models.UniqueConstraint(fields=["company", "guid"], name="%(app_label)s_%(class)s_company_guid_uniq"),
            models.CheckConstraint(
                condition=models.Q(is_active=True, deleted_at__isnull=True)
                | models.Q(is_active=False, deleted_at__isnull=False),
                name="%(app_label)s_%(class)s_soft_delete_check",
            ),
        ]
        indexes = [models.Index(fields=["company", "is_active"], name="%(class)s_co_active_idx")]
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return str(self.guid)
