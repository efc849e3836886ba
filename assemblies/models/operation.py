from django.db import models

from .mes_base import NOTES_MAX_LENGTH, MesEntity


class OperationStatus(models.TextChoices):
    """The MES-owned status of operations: validated in sync items, never written by them."""

    PENDING = "pending"
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
    ON_HOLD = "on_hold"


class Operation(MesEntity):
    """A routing step of a part, done in a cell."""

    part = models.ForeignKey("assemblies.Part", on_delete=models.PROTECT, related_name="operations")
    cell = models.ForeignKey("assemblies.Cell", on_delete=models.PROTECT, related_name="operations")
    operation_name = models.CharField(max_length=255)
    sequence = models.IntegerField()
    estimated_time_minutes = models.IntegerField(null=True, blank=True)
    notes = models.TextField(max_length=NOTES_MAX_LENGTH, null=True, blank=True)
    status = models.CharField(max_length=20, choices=OperationStatus.choices, default=OperationStatus.PENDING)

    class Meta(MesEntity.Meta):
        constraints = [
            *MesEntity.Meta.constraints,
            # Per part, among live operations only. A reorder must never pass through a duplicate:
            # the service parks moved rows on temporary sequences first (sync/uniqueness.py).
            models.UniqueConstraint(
                fields=["part", "sequence"],
                condition=models.Q(is_active=True),
                name="assemblies_operation_part_sequence_uniq",
            ),
            models.CheckConstraint(condition=models.Q(sequence__gte=1), name="assemblies_operation_sequence_min_check"),
            models.CheckConstraint(
                condition=models.Q(estimated_time_minutes__gte=0),
                name="assemblies_operation_estimated_time_minutes_min_check",
            ),
            models.CheckConstraint(
                condition=models.Q(status__in=OperationStatus.values), name="assemblies_operation_status_check"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.sequence} {self.operation_name}"
