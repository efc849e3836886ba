from django.db import models

from .mes_base import NOTES_MAX_LENGTH, MesEntity


class JobStatus(models.TextChoices):
    """The MES-owned status of jobs and parts: validated in sync items, never written by them."""

    NOT_STARTED = "not_started"
    IN_PROGRESS = "in_progress"
    ON_HOLD = "on_hold"
    COMPLETED = "completed"


class Job(MesEntity):
    """A sales or production order: the root of the MES tree."""

    job_number = models.CharField(max_length=255)
    customer = models.CharField(max_length=255, null=True, blank=True)
    due_date = models.DateField(null=True, blank=True)
    priority = models.IntegerField(default=0)
    notes = models.TextField(max_length=NOTES_MAX_LENGTH, null=True, blank=True)
    status = models.CharField(max_length=20, choices=JobStatus.choices, default=JobStatus.NOT_STARTED)

    class Meta(MesEntity.Meta):
        constraints = [
            *MesEntity.Meta.constraints,
            # Among live jobs only: a deleted job's number may be taken again.
            models.UniqueConstraint(
                fields=["company", "job_number"],
                condition=models.Q(is_active=True),
                name="assemblies_job_company_job_number_uniq",
            ),
            models.CheckConstraint(condition=models.Q(priority__gte=0), name="assemblies_job_priority_min_check"),
            models.CheckConstraint(condition=models.Q(status__in=JobStatus.values), name="assemblies_job_status_check"),
        ]

    def __str__(self) -> str:
        return self.job_number
