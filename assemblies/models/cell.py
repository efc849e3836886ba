from django.db import models
from django.db.models.functions import Lower

from .mes_base import MesEntity


class Cell(MesEntity):
    """A work centre (data-model §4.1). Operations name it by name or by external id."""

    name = models.CharField(max_length=255)
    color = models.CharField(max_length=7, null=True, blank=True, help_text="#rrggbb, lower-case")
    sequence = models.IntegerField(default=0, help_text="display order")
    active = models.BooleanField(default=True, help_text="Eryxon's 'in use' flag; unrelated to soft delete")
    description = models.CharField(max_length=1000, null=True, blank=True)

    class Meta(MesEntity.Meta):
        constraints = [
            *MesEntity.Meta.constraints,
            # Among live cells only: a deleted cell's name may be taken again.
            models.UniqueConstraint(
                "company",
                Lower("name"),
                condition=models.Q(is_active=True),
                name="assemblies_cell_company_name_ci_uniq",
            ),
            models.CheckConstraint(condition=models.Q(sequence__gte=0), name="assemblies_cell_sequence_min_check"),
        ]

    def __str__(self) -> str:
        return self.name
