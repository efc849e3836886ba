import uuid

from django.db import models, transaction
from django.db.models.functions import Lower
from django.utils import timezone

from .refresh_token import IssuedRefreshToken


class CompanyQuerySet(models.QuerySet):
    def active(self):
        return self.filter(is_active=True)


class Company(models.Model):
    """A tenant. Deactivating it refuses every user and key of the company (401)."""

    guid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    name = models.CharField(max_length=100)
    short_name = models.CharField(max_length=50, null=True, blank=True)
    logo_path = models.CharField(max_length=255, null=True, blank=True)
    company_index = models.IntegerField(null=True, blank=True, unique=True)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(default=timezone.now, editable=False)

    objects = CompanyQuerySet.as_manager()

    class Meta:
        verbose_name_plural = "companies"
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(Lower("name"), name="tenants_company_name_ci_uniq"),
            models.CheckConstraint(
                condition=models.Q(company_index__gte=0, company_index__lte=99) | models.Q(company_index__isnull=True),
                name="tenants_company_company_index_range_check",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs):
        """Save; an inactive company keeps no refresh token of any of its users alive.

        Every way of deactivating a company (the API, the Django admin, a service) saves it here.
        """
        self.updated_at = timezone.now()
        with transaction.atomic():
            super().save(*args, **kwargs)
            if not self.is_active:
                IssuedRefreshToken.objects.filter(user__company=self).revoke()
