"""URL helpers: UUIDs in any spelling, and paths that answer with or without a trailing slash."""

from __future__ import annotations

import uuid

from django.urls import path, register_converter


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
