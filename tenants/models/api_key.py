import hashlib
import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone

from .base import TenantOwnedModel

KEY_PREFIX = "rfk"


def secret_hash(secret: str) -> str:
    """SHA-256 hex of a key's secret part: the only form in which a secret is stored."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


class ApiKey(TenantOwnedModel):
    """A credential for an integration, acting with role Integration inside its company.

    The raw key ``rfk_<key_id>_<secret>`` is shown once at creation; only the secret's
    SHA-256 is kept, found through the unique ``key_id`` with one indexed query.
    """

    guid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    key_id = models.CharField(max_length=16)
    secret_hash = models.CharField(max_length=64)
    description = models.CharField(max_length=255, null=True, blank=True)
    scopes = models.JSONField(default=list)
    expires_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "API key"
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["key_id"], name="tenants_apikey_key_id_uniq"),
        ]
        indexes = [models.Index(fields=["company", "is_active"], name="tenants_apikey_co_active_idx")]

    def __str__(self) -> str:
        return self.prefix

    @property
    def prefix(self) -> str:
        return f"{KEY_PREFIX}_{self.key_id}"

    @property
    def is_revoked(self) -> bool:
        return self.revoked_at is not None

    def is_usable(self, now=None) -> bool:
        now = now or timezone.now()
        return (
            self.is_active
            and self.revoked_at is None
            and (self.expires_at is None or self.expires_at > now)
            and self.company.is_active
        )
