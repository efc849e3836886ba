from django.db import models

from .base import RactoryEntity

PIECE_INTEGER_FIELDS = (
    "outer_length",
    "inner_length",
    "other_length",
    "angle_left",
    "angle_right",
    "assembly_width",
    "assembly_height",
    "reinforcement_length",
    "bar_rest",
    "bar_length",
    "bar_cutting_tolerance",
    "profile_width",
    "profile_height",
    "welding_tolerance",
)

# (max length, field names) of the 37 optional strings of a piece.
PIECE_STRING_FIELDS = (
    (
        100,
        (
            "orientation",
            "trolley",
            "cell",
            "trolley_cell",
            "component_code",
            "component_number",
            "project_number",
            "project_code_parent",
            "project_phase",
            "reinforcement_code",
            "water_handle",
            "segment_order",
            "fixing_mode",
            "material_type",
            "bar_id",
            "profile_code",
            "lamination",
            "gasket",
            "profile_color",
            "profile_type_ra",
            "profile_type",
            "trolley_size",
            "parent_assembly_trolley_cell",
            "mullion_trolley_cell",
            "glazing_bead_trolley_cell",
        ),
    ),
    (255, ("client", "dealer", "profile_name", "cutting_pattern", "profile_code_with_color")),
    (
        1000,
        (
            "operations",
            "component_description",
            "project_description",
            "info2",
            "info3",
            "hardware_info",
            "glass_info",
        ),
    ),
)


class Piece(RactoryEntity):
    """A cut profile bar or part: the row ERPs send by the thousand."""

    piece_id = models.CharField(max_length=100, help_text="the ERP's piece identifier; not unique")
    barcode = models.CharField(max_length=100, null=True, blank=True)
    project = models.ForeignKey("assemblies.Project", on_delete=models.PROTECT, related_name="pieces")
    component = models.ForeignKey("assemblies.Component", on_delete=models.PROTECT, related_name="pieces")
    assembly = models.ForeignKey(
        "assemblies.Assembly", on_delete=models.PROTECT, null=True, blank=True, related_name="pieces"
    )
    picture = models.BinaryField(null=True, blank=True)

    for _name in PIECE_INTEGER_FIELDS:
        locals()[_name] = models.IntegerField(null=True, blank=True)
    for _length, _names in PIECE_STRING_FIELDS:
        for _name in _names:
            locals()[_name] = models.CharField(max_length=_length, null=True, blank=True)
    del _name, _length, _names

    class Meta(RactoryEntity.Meta):
        indexes = [
            *RactoryEntity.Meta.indexes,
            models.Index(fields=["company", "piece_id"], name="piece_co_piece_id_idx"),
            models.Index(fields=["company", "barcode"], name="piece_co_barcode_idx"),
            # The list order (created_at, id) of a company's live pieces, read page by page:
            # without it every page sorts all of the company's pieces (docs/performance.md).
            models.Index(fields=["company", "is_active", "created_at", "id"], name="piece_co_list_order_idx"),
        ]
