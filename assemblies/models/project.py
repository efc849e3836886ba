from django.db import models

from .base import RactoryEntity


class Project(RactoryEntity):
    """A customer order: the root of the Ractory tree."""

    code = models.CharField(max_length=100)
    due_date = models.DateTimeField(null=True, blank=True)
    in_production = models.BooleanField(default=False)
    company_name = models.CharField(max_length=255, null=True, blank=True, help_text="the project's customer")

    class Meta(RactoryEntity.Meta):
        indexes = [
            *RactoryEntity.Meta.indexes,
            models.Index(fields=["company", "code"], name="project_co_code_idx"),
        ]
