"""The upsert keys: how a sync item names its own row within the company.

Ractory rows are keyed by ``guid``; MES rows by ``(external_source, external_id)``. The key is
the ``ON CONFLICT`` target of the upsert, the order rows are locked and written in, and what two
items of one request may not share.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.db.models import Q

if TYPE_CHECKING:
    from .work import Work


def natural_key_filter(pairs) -> Q:
    """``(external_source, external_id) IN pairs`` as one condition: one ``IN`` per source."""
    by_source: dict[str, set[str]] = defaultdict(set)
    for source, external_id in pairs:
        by_source[source].add(external_id)
    condition = Q(pk__in=[])
    for source, external_ids in by_source.items():
        condition |= Q(external_source=source, external_id__in=external_ids)
    return condition


@dataclass(frozen=True)
class UpsertKey:
    fields: tuple[str, ...]
    reported_at: str  # the field a duplicate key within one request is reported on

    def of(self, work: Work) -> tuple:
        """The item's key (``None`` in it where the item sent no valid value)."""
        return tuple(work.cleaned.get(name) for name in self.fields)

    def sent_by(self, works: list[Work]) -> set[tuple]:
        return {key for key in map(self.of, works) if None not in key}

    def stored_filter(self, works: list[Work]) -> Q | None:
        """The condition selecting the stored rows of the items' keys (``None``: no item sent one)."""
        raise NotImplementedError


class GuidKey(UpsertKey):
    def stored_filter(self, works: list[Work]) -> Q | None:
        keys = self.sent_by(works)
        return Q(guid__in=[guid for (guid,) in keys]) if keys else None


class SourceKey(UpsertKey):
    """An id within the system the item comes from: ``(external_source, external_id)``."""

    def stored_filter(self, works: list[Work]) -> Q | None:
        keys = self.sent_by(works)
        return natural_key_filter(keys) if keys else None


GUID_KEY = GuidKey(("guid",), reported_at="guid")
NATURAL_KEY = SourceKey(("external_source", "external_id"), reported_at="external_id")
