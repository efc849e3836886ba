"""Ractory sync item serializers: the one definition of every sync field, its type and limits.

They belong to the engine (``sync.entities`` describes each entity by its serializer); the API
layer uses them for the OpenAPI request bodies. Compiled by ``sync.validation``, they become the
fast validator that checks 1000 items per request with the same codes and messages. Fields that
an insert needs are listed in ``required_on_insert``: an item that updates an existing row may
leave them out (they keep their stored values), so the serializer itself marks them optional.
"""

from __future__ import annotations

from django.conf import settings

from assemblies.models import ARTICLE_FLOAT_FIELDS, PIECE_INTEGER_FIELDS, PIECE_STRING_FIELDS
from ractory.api.serializers import (
    Base64BinaryField,
    StrictBooleanField,
    StrictCharField,
    StrictDateTimeField,
    StrictFloatField,
    StrictIntegerField,
    StrictSerializer,
    StrictUUIDField,
)

INSERT_ONLY = "Required when the item inserts a row; an update may leave it out."


def optional_string(max_length: int, **kwargs) -> StrictCharField:
    return StrictCharField(max_length=max_length, required=False, allow_null=True, allow_blank=True, **kwargs)


def required_string(max_length: int, **kwargs) -> StrictCharField:
    """Required on insert (``required_on_insert``), never blank, never null."""
    kwargs.setdefault("help_text", INSERT_ONLY)
    return StrictCharField(max_length=max_length, required=False, **kwargs)


def parent_guid(name: str, *, optional: bool = False) -> StrictUUIDField:
    if optional:
        return StrictUUIDField(
            required=False, allow_null=True, help_text=f"Guid of an active {name} of the same company, or null."
        )
    return StrictUUIDField(
        required=False,
        help_text=f"Guid of an active {name} of the same company. {INSERT_ONLY} It cannot change once set.",
    )


class PictureField(Base64BinaryField):
    """A picture whose limit is ``settings.MAX_PICTURE_BYTES`` when a value is checked.

    Read at each check rather than once at import, so the setting (and ``override_settings``)
    governs both this field and the fast validator compiled from it.
    """

    def __init__(self, **kwargs):
        super().__init__(max_bytes=settings.MAX_PICTURE_BYTES, **kwargs)

    @property
    def max_bytes(self) -> int:
        return settings.MAX_PICTURE_BYTES

    @max_bytes.setter
    def max_bytes(self, value: int) -> None:
        pass  # Base64BinaryField.__init__ assigns it; the setting stays the one source


def picture() -> PictureField:
    return PictureField(
        required=False,
        allow_null=True,
        help_text="Standard base64, padding optional, at most 5 MiB decoded; null clears it.",
    )


class SyncItemSerializer(StrictSerializer):
    """The four fields every Ractory sync item carries."""

    required_on_insert: tuple[str, ...] = ()

    guid = StrictUUIDField(required=False, help_text="Omit to insert with a server-generated guid.")
    company_guid = StrictUUIDField(help_text="Your company (a SystemAdmin may name any active one).")
    is_active = StrictBooleanField(
        required=False, help_text="Default true (reactivates a deleted row); false soft-deletes with the cascade."
    )
    deleted_at = StrictDateTimeField(
        required=False, allow_null=True, help_text="Only with is_active false; default: the server's time."
    )


class ProjectSyncItemSerializer(SyncItemSerializer):
    """A project (a customer order), upserted by (company, guid)."""

    required_on_insert = ("code",)

    code = required_string(100)
    due_date = StrictDateTimeField(required=False, allow_null=True)
    in_production = StrictBooleanField(required=False)
    company_name = optional_string(255, help_text="The project's customer (not the tenant).")


class ComponentSyncItemSerializer(SyncItemSerializer):
    """A component (a position of a project: a window, a door), upserted by (company, guid)."""

    required_on_insert = ("project_guid", "code")

    project_guid = parent_guid("project")
    code = required_string(100)
    designation = optional_string(1000)
    quantity = StrictIntegerField(required=False, min_value=0, help_text="Default 1.")
    picture = picture()


class AssemblySyncItemSerializer(SyncItemSerializer):
    """An assembly of a component (a frame, a sash), upserted by (company, guid)."""

    required_on_insert = ("project_guid", "component_guid")

    project_guid = parent_guid("project")
    component_guid = parent_guid("component")
    trolley_cell = optional_string(100)
    trolley = optional_string(100)
    cell_number = StrictIntegerField(required=False, allow_null=True)
    picture = picture()


class PieceSyncItemSerializer(SyncItemSerializer):
    """A piece (one part to produce: a profile bar, a sheet), upserted by (company, guid)."""

    required_on_insert = ("piece_id", "project_guid", "component_guid")

    piece_id = required_string(100)
    barcode = optional_string(100)
    project_guid = parent_guid("project")
    component_guid = parent_guid("component")
    assembly_guid = parent_guid("assembly", optional=True)
    picture = picture()

    for _name in PIECE_INTEGER_FIELDS:
        locals()[_name] = StrictIntegerField(required=False, allow_null=True)
    for _length, _names in PIECE_STRING_FIELDS:
        for _name in _names:
            locals()[_name] = optional_string(_length)
    del _name, _length, _names


class ArticleSyncItemSerializer(SyncItemSerializer):
    """An article (hardware or material of a component), upserted by (company, guid)."""

    required_on_insert = ("project_guid", "component_guid", "code")

    project_guid = parent_guid("project")
    component_guid = parent_guid("component")
    code = required_string(100)
    designation = optional_string(1000)
    consume_group_designation = optional_string(255)
    consume_group_priority = StrictIntegerField(required=False, allow_null=True)
    unit = optional_string(100)
    category_designation = optional_string(255)
    position = optional_string(100)
    short_position = optional_string(100)
    code_no_color = optional_string(100)
    component_code = optional_string(100)
    is_extra = StrictBooleanField(required=False)

    for _name in ARTICLE_FLOAT_FIELDS:
        locals()[_name] = StrictFloatField(required=False, allow_null=True)
    del _name
