from django.db import models

from .base import RactoryEntity


class Assembly(RactoryEntity):
    """A built unit of a component, recognised by its trolley and trolley cell."""

    project = models.ForeignKey("assemblies.Project", on_delete=models.PROTECT, related_name="assemblies")
    component = models.ForeignKey("assemblies.Component", on_delete=models.PROTECT, related_name="assemblies")
    trolley_cell = models.CharField(max_length=100, null=True, blank=True)
    trolley = models.CharField(max_length=100, null=True, blank=True)
    cell_number = models.IntegerField(null=True, blank=True)
    picture = models.BinaryField(null=True, blank=True)

    class Meta(RactoryEntity.Meta):
        verbose_name_plural = "assemblies"
