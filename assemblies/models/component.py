from django.db import models

from .base import RactoryEntity


class Component(RactoryEntity):
    """A window, door or part type of a project."""

    project = models.ForeignKey("assemblies.Project", on_delete=models.PROTECT, related_name="components")
    code = models.CharField(max_length=100)
    designation = models.CharField(max_length=1000, null=True, blank=True)
    quantity = models.IntegerField(default=1)
    picture = models.BinaryField(null=True, blank=True)

    class Meta(RactoryEntity.Meta):
        constraints = [
            *RactoryEntity.Meta.constraints,
            models.CheckConstraint(condition=models.Q(quantity__gte=0), name="assemblies_component_quantity_min_check"),
        ]
