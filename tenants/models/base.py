"""The common columns and the tenant-scoped queryset of every tenant-owned table."""

from django.db import models
from django.utils import timezone


class TenantQuerySet(models.QuerySet):
    def for_company(self, company) -> "TenantQuerySet":
        """Rows of one company: the first step of every queryset that serves a request."""
        return self.filter(company=company)

    def active(self) -> "TenantQuerySet":
        return self.filter(is_active=True)


class TenantOwnedModel(models.Model):
    """A row that belongs to one company. ``company`` is indexed by ``(company, is_active)``."""

    company = models.ForeignKey("tenants.Company", on_delete=models.PROTECT, db_index=False, related_name="+")
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()
    is_active = models.BooleanField(default=True)
    deleted_at = models.DateTimeField(null=True, blank=True)

    objects = TenantQuerySet.as_manager()

    class Meta:
        abstract = True

    def save(self, *args, **kwargs):
        # Single-row saves (admin, commands) stamp the times; set-based writes set them explicitly.
        now = timezone.now()
        if self.created_at is None:
            self.created_at = now
        self.updated_at = now
        super().save(*args, **kwargs)
