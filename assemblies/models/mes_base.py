"""What every MES table shares: a global guid, the ERP's natural key, the sync stamps and the
soft-delete invariant."""

import uuid

from django.db import models

from tenants.models import TenantOwnedModel

# Free-text MES notes: a `text` column, at most this many characters.
NOTES_MAX_LENGTH = 10_000


class FixedCharField(models.CharField):
    """A ``char(n)`` column: for values that always have exactly ``max_length`` characters."""

    def db_type(self, connection):
        return f"char({self.max_length})"


class MesEntity(TenantOwnedModel):
    """An Eryxon MES row: upserted by (company, external_source, external_id).

    The natural key is unconditional: a soft-deleted row keeps it, so a later sync of that key
    finds the row and reactivates it. ``guid`` is generated here and unique across companies.
    """

    guid = models.UUIDField(default=uuid.uuid4, editable=False)
    external_id = models.CharField(max_length=255)
    external_source = models.CharField(max_length=100)
    synced_at = models.DateTimeField(null=True, blank=True, help_text="server time of the last sync write")
    sync_hash = FixedCharField(
        max_length=64, null=True, blank=True, help_text="SHA-256 (hex) of the last synced item; NULL after other edits"
    )

    # The order in which every writer locks and upserts rows of this table (assemblies.locking).
    lock_order = ("external_source", "external_id")

    class Meta:
        abstract = True
        constraints = [
            models.UniqueConstraint(fields=["guid"], name="%(app_label)s_%(class)s_guid_uniq"),
            models.UniqueConstraint(
                fields=["company", "external_source", "external_id"],
                name="%(app_label)s_%(class)s_company_source_extid_uniq",
            ),
            models.CheckConstraint(
                condition=models.Q(is_active=True, deleted_at__isnull=True)
                | models.Q(is_active=False, deleted_at__isnull=False),
                name="%(app_label)s_%(class)s_soft_delete_check",
            ),
            models.CheckConstraint(
                condition=~models.Q(external_id=""), name="%(app_label)s_%(class)s_external_id_nonblank_check"
            ),
            models.CheckConstraint(
                condition=~models.Q(external_source=""),
                name="%(app_label)s_%(class)s_external_source_nonblank_check",
            ),
        ]
        indexes = [models.Index(fields=["company", "is_active"], name="%(class)s_co_active_idx")]
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.external_source}:{self.external_id}"
