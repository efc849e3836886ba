from django.db import models

from .mes_base import MesEntity


class ResourceType(models.TextChoices):
    TOOLING = "tooling"
    FIXTURE = "fixture"
    MOLD = "mold"
    MATERIAL = "material"
    EQUIPMENT = "equipment"


class ResourceStatus(models.TextChoices):
    AVAILABLE = "available"
    IN_USE = "in_use"
    MAINTENANCE = "maintenance"


class Resource(MesEntity):
    """Equipment, tooling or material. Its ``status`` is ERP data."""

    name = models.CharField(max_length=255, help_text="not unique")
    type = models.CharField(max_length=20, choices=ResourceType.choices)
    description = models.CharField(max_length=1000, null=True, blank=True)
    identifier = models.CharField(max_length=100, null=True, blank=True, help_text="e.g. an asset tag")
    location = models.CharField(max_length=255, null=True, blank=True)
    status = models.CharField(max_length=20, choices=ResourceStatus.choices, default=ResourceStatus.AVAILABLE)
    active = models.BooleanField(default=True, help_text="Eryxon's 'in use' flag; unrelated to soft delete")

    class Meta(MesEntity.Meta):
        constraints = [
            *MesEntity.Meta.constraints,
            models.CheckConstraint(
                condition=models.Q(type__in=ResourceType.values), name="assemblies_resource_type_check"
            ),
            models.CheckConstraint(
                condition=models.Q(status__in=ResourceStatus.values), name="assemblies_resource_status_check"
            ),
        ]

    def __str__(self) -> str:
        return self.name
