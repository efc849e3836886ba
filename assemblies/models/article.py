from django.db import models

from .base import RactoryEntity

ARTICLE_FLOAT_FIELDS = (
    "quantity",
    "length",
    "width",
    "height",
    "surface",
    "angle1",
    "angle2",
    "unit_weight",
    "bar_length",
)


class Article(RactoryEntity):
    """A bought item (hardware, glass, gasket) a component consumes."""

    project = models.ForeignKey("assemblies.Project", on_delete=models.PROTECT, related_name="articles")
    component = models.ForeignKey("assemblies.Component", on_delete=models.PROTECT, related_name="articles")
    code = models.CharField(max_length=100)
    designation = models.CharField(max_length=1000, null=True, blank=True)
    consume_group_designation = models.CharField(max_length=255, null=True, blank=True)
    consume_group_priority = models.IntegerField(null=True, blank=True)
    unit = models.CharField(max_length=100, null=True, blank=True)
    category_designation = models.CharField(max_length=255, null=True, blank=True)
    position = models.CharField(max_length=100, null=True, blank=True)
    short_position = models.CharField(max_length=100, null=True, blank=True)
    code_no_color = models.CharField(max_length=100, null=True, blank=True)
    component_code = models.CharField(max_length=100, null=True, blank=True)
    is_extra = models.BooleanField(default=False)

    for _name in ARTICLE_FLOAT_FIELDS:
        locals()[_name] = models.FloatField(null=True, blank=True)
    del _name
