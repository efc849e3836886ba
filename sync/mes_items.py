"""MES sync item serializers: the one definition of every Eryxon sync field.

Like the Ractory ones (``sync.items``) they belong to the engine and drive the OpenAPI schema and, compiled by
``sync.validation``, the fast validator. Three class attributes tell the engine what a field
list cannot:

- ``required_on_insert``: needed when the item inserts a row (merge semantics on update);
- ``top_level_required``: needed on a top-level item (a nested item inherits it or has its
  parent instead);
- ``nested``: input field → the plural of the child entity it carries (a job's ``parts``);
- ``ignored``: validated, then dropped: the MES-owned ``status`` (never stored, never hashed).
"""

from __future__ import annotations

from assemblies.models import NOTES_MAX_LENGTH, JobStatus, OperationStatus, ResourceStatus, ResourceType
from ractory.api.serializers import (
    StrictBooleanField,
    StrictCharField,
    StrictChoiceField,
    StrictColorField,
    StrictDateField,
    StrictDateTimeField,
    StrictIntegerField,
    StrictSerializer,
)

from .items import INSERT_ONLY, optional_string, required_string

MES_OWNED = "Owned by the MES: checked against the allowed values, then ignored (never stored)."


def notes() -> StrictCharField:
    return optional_string(NOTES_MAX_LENGTH)


class MesSyncItemSerializer(StrictSerializer):
    """What every MES sync item carries."""

    required_on_insert: tuple[str, ...] = ()
    top_level_required: tuple[str, ...] = ("external_source",)
    nested: dict[str, str] = {}
    ignored: tuple[str, ...] = ()

    external_id = StrictCharField(max_length=255, help_text="The ERP's id; with external_source, the upsert key.")
    external_source = StrictCharField(
        max_length=100,
        required=False,
        help_text="The ERP (e.g. SAP). Required on top-level items; nested items inherit their parent's.",
    )
    is_active = StrictBooleanField(
        required=False, help_text="Default true (reactivates a deleted row); false soft-deletes with the cascade."
    )
    deleted_at = StrictDateTimeField(
        required=False, allow_null=True, help_text="Only with is_active false; default: the server's time."
    )


class CellSyncItemSerializer(MesSyncItemSerializer):
    """A cell (a work centre of the shop floor), upserted by (company, external_source, external_id)."""

    required_on_insert = ("name",)

    name = required_string(255, help_text=f"Unique per company among live cells, case-insensitively. {INSERT_ONLY}")
    color = StrictColorField(required=False, allow_null=True, help_text="#RRGGBB, stored lower-case.")
    sequence = StrictIntegerField(required=False, min_value=0, help_text="Display order; default 0.")
    active = StrictBooleanField(required=False, help_text="Eryxon's 'in use' flag; default true.")
    description = optional_string(1000)


class ResourceSyncItemSerializer(MesSyncItemSerializer):
    """A resource (a machine, tool or fixture), upserted by (company, external_source, external_id)."""

    required_on_insert = ("name", "type")

    name = required_string(255)
    type = StrictChoiceField(ResourceType.values, required=False, help_text=INSERT_ONLY)
    description = optional_string(1000)
    identifier = optional_string(100)
    location = optional_string(255)
    status = StrictChoiceField(ResourceStatus.values, required=False, help_text="ERP data; default available.")
    active = StrictBooleanField(required=False, help_text="Eryxon's 'in use' flag; default true.")


class OperationSyncItemSerializer(MesSyncItemSerializer):
    """An operation of a part at a cell, upserted by (company, external_source, external_id)."""

    required_on_insert = ("operation_name", "sequence")
    top_level_required = ("external_source", "part_external_id")
    ignored = ("status",)

    part_external_id = StrictCharField(
        max_length=255,
        required=False,
        help_text="The part's external_id (same external_source). Required on top-level items; "
        "nested in a part, optional and must match it.",
    )
    cell_name = StrictCharField(
        max_length=255,
        required=False,
        help_text="A live cell of your company, by name, case-insensitively. Exactly one of cell_name, "
        "cell_external_id.",
    )
    cell_external_id = StrictCharField(
        max_length=255, required=False, help_text="A live cell by its external_id (same external_source)."
    )
    operation_name = required_string(255)
    sequence = StrictIntegerField(
        required=False, min_value=1, help_text=f"Unique per part among live operations. {INSERT_ONLY}"
    )
    estimated_time_minutes = StrictIntegerField(required=False, allow_null=True, min_value=0)
    notes = notes()
    status = StrictChoiceField(OperationStatus.values, required=False, help_text=MES_OWNED)


class PartSyncItemSerializer(MesSyncItemSerializer):
    """A part of a job, with its operations nested, upserted by (company, external_source, external_id)."""

    required_on_insert = ("part_number",)
    top_level_required = ("external_source", "job_external_id")
    nested = {"operations": "operations"}
    ignored = ("status",)

    job_external_id = StrictCharField(
        max_length=255,
        required=False,
        help_text="The job's external_id (same external_source). Required on top-level items; "
        "nested in a job, optional and must match it.",
    )
    part_number = required_string(255, help_text=f"Unique per job among live parts. {INSERT_ONLY}")
    material = optional_string(255)
    quantity = StrictIntegerField(required=False, min_value=1, help_text="Default 1.")
    notes = notes()
    status = StrictChoiceField(JobStatus.values, required=False, help_text=MES_OWNED)
    operations = OperationSyncItemSerializer(
        many=True, required=False, help_text="Nested operations: written with the part or not at all."
    )


class JobSyncItemSerializer(MesSyncItemSerializer):
    """A job (a production order) with its parts and their operations nested, upserted by
    (company, external_source, external_id)."""

    required_on_insert = ("job_number",)
    nested = {"parts": "parts"}
    ignored = ("status",)

    job_number = required_string(255, help_text=f"Unique per company among live jobs. {INSERT_ONLY}")
    customer = optional_string(255)
    due_date = StrictDateField(
        required=False, allow_null=True, help_text="YYYY-MM-DD (a timestamp is reduced to its UTC date)."
    )
    priority = StrictIntegerField(required=False, min_value=0, help_text="Default 0.")
    notes = notes()
    status = StrictChoiceField(JobStatus.values, required=False, help_text=MES_OWNED)
    parts = PartSyncItemSerializer(
        many=True, required=False, help_text="Nested parts (with their operations): one tree, written or refused whole."
    )
