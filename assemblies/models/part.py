from django.db import models

from .job import JobStatus
from .mes_base import NOTES_MAX_LENGTH, MesEntity


class Part(MesEntity):
    """A work order line of a job. It may move to another job on update."""

    job = models.ForeignKey("assemblies.Job", on_delete=models.PROTECT, related_name="parts")
    part_number = models.CharField(max_length=255)
    material = models.CharField(max_length=255, null=True, blank=True)
    quantity = models.IntegerField(default=1)
    notes = models.TextField(max_length=NOTES_MAX_LENGTH, null=True, blank=True)
    status = models.CharField(max_length=20, choices=JobStatus.choices, default=JobStatus.NOT_STARTED)

    class Meta(MesEntity.Meta):
        constraints = [
            *MesEntity.Meta.constraints,
            # Per job, among live parts only: two jobs may share a part number.
            models.UniqueConstraint(
                fields=["job", "part_number"],
                condition=models.Q(is_active=True),
                name="assemblies_part_job_part_number_uniq",
            ),
            models.CheckConstraint(condition=models.Q(quantity__gte=1), name="assemblies_part_quantity_min_check"),
            models.CheckConstraint(
                condition=models.Q(status__in=JobStatus.values), name="assemblies_part_status_check"
            ),
        ]

    def __str__(self) -> str:
        return self.part_number
