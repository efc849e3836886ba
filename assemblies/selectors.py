"""Reads of production rows as the API shows them (list and detail; guids, never ``id``).

Rows are read as plain tuples (``values_list``) and zipped into dicts in representation order,
with parent guids joined in, so a page of 1000 pieces costs one query and no model instances.
Pictures are never read for lists.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from functools import cached_property

from django.db.models import F, Model

from .cascade import CASCADES

STATE_FIELDS = ("created_at", "updated_at", "is_active", "deleted_at")
NOT_SCALAR = {"id", "guid", "company", "picture", *STATE_FIELDS}


@dataclass(frozen=True)
class Representation:
    """How one entity is shown: its guid, company, parents, scalar fields and state."""

    model: type[Model]
    parents: tuple[str, ...]  # FK names, shown as <name>_guid

    @cached_property
    def scalar_fields(self) -> tuple[str, ...]:
        return tuple(
            field.name
            for field in self.model._meta.concrete_fields
            if not field.is_relation and field.name not in NOT_SCALAR
        )

    @cached_property
    def keys(self) -> tuple[str, ...]:
        return ("guid", "company_guid", *(f"{name}_guid" for name in self.parents), *self.scalar_fields, *STATE_FIELDS)

    @property
    def has_picture(self) -> bool:
        return any(field.name == "picture" for field in self.model._meta.concrete_fields)

    def annotated(self, queryset):
        joins = {"company_guid": F("company__guid")}
        joins.update({f"{name}_guid": F(f"{name}__guid") for name in self.parents})
        return queryset.annotate(**joins)

    def tuples(self, queryset):
        """The rows of ``queryset`` as tuples in ``keys`` order (still lazy: page it, then ``as_dicts``)."""
        return self.annotated(queryset).values_list(*self.keys)

    def as_dicts(self, tuples) -> list[dict]:
        keys = self.keys
        return [dict(zip(keys, row, strict=True)) for row in tuples]

    def detail(self, queryset, row_id: int, company_id: int) -> dict:
        """The detail representation: the list one plus ``picture`` and real child counts."""
        extra = ("picture",) if self.has_picture else ()
        values = self.annotated(queryset.filter(pk=row_id)).values_list(*self.keys, *extra).get()
        body = dict(zip(self.keys, values[: len(self.keys)], strict=True))
        if self.has_picture:
            picture = values[-1]
            body["picture"] = base64.b64encode(bytes(picture)).decode("ascii") if picture is not None else None
        body.update(child_counts(self.model, row_id, company_id))
        return body


def child_counts(model, row_id: int, company_id: int) -> dict[str, int]:
    """Active children linked to the row, one aggregate query per child table."""
    counts = {}
    for child, link in CASCADES[model]:
        name = f"{child._meta.model_name}_count"
        counts[name] = child.objects.for_company(company_id).filter(**{f"{link}_id": row_id}, is_active=True).count()
    return counts
