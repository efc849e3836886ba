"""URL helpers: UUIDs in any spelling, and paths (and a router's routes) that answer with or without a
trailing slash."""

from __future__ import annotations

import uuid

from django.urls import path, register_converter
from rest_framework.routers import SimpleRouter


class GuidConverter:
    """A UUID in any case, with or without hyphens; anything else does not match (404)."""

    regex = "[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}"

    def to_python(self, value: str) -> uuid.UUID:
        return uuid.UUID(value)

    def to_url(self, value) -> str:
        return str(value)


register_converter(GuidConverter, "guid")


def api_path(route: str, view, name: str | None = None) -> list:
    """``route`` and ``route/`` both served by ``view`` (no redirect); only the first is named."""
    return [path(route, view, name=name), path(f"{route}/", view)]


class OptionalSlashRouter(SimpleRouter):
    """A DRF router whose routes answer with or without a trailing slash, like ``api_path``.

    Routes are ``path()`` patterns, so a ViewSet's ``lookup_value_converter`` (``"guid"``) is the
    same converter the other views use; only the slash-less form is named (``<basename>-list``,
    ``<basename>-detail``, ``<basename>-<action>``), so ``reverse()`` gives it.
    """

    def __init__(self):
        super().__init__(trailing_slash=False, use_regex_path=False)

    def get_urls(self) -> list:
        urls = []
        for pattern in super().get_urls():
            urls += api_path(str(pattern.pattern), pattern.callback, pattern.name)
        return urls
