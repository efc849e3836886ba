"""The JSON body parser of every endpoint: size, depth and shape checked before anything else."""

from __future__ import annotations

import json

from django.conf import settings
from rest_framework.parsers import BaseParser

from .problems import Problem
from .values import HugeInteger


def _parse_int(text: str) -> int | HugeInteger:
    return HugeInteger(text) if len(text) > 4000 else int(text)


def nesting_depth(value, limit: int | None = None) -> int:
    """Deepest nesting of arrays and objects in parsed JSON (a scalar is 0, ``[]`` is 1).

    Walks containers only, without recursion; stops early once ``limit`` is passed.
    """
    deepest = 0
    stack = [(value, 1)] if isinstance(value, (dict, list)) else []
    while stack:
        node, depth = stack.pop()
        if depth > deepest:
            deepest = depth
            if limit is not None and deepest > limit:
                return deepest
        children = node.values() if isinstance(node, dict) else node
        stack.extend((child, depth + 1) for child in children if isinstance(child, (dict, list)))
    return deepest


def parse_json_body(raw: bytes) -> object:
    """Parse a request body, raising a 400/413 problem for anything that is not usable JSON."""
    if len(raw) > settings.MAX_BODY_BYTES:
        raise Problem(
            f"The request body is larger than the limit of {settings.MAX_BODY_BYTES} bytes.",
            status=413,
            code="payload_too_large",
        )
    if not raw.strip():
        raise Problem("The request body is empty; send a JSON object.", status=400, code="invalid_json")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise Problem("The request body is not valid UTF-8.", status=400, code="invalid_json") from None
    try:
        try:
            data = json.loads(text)
        except ValueError as error:
            if "integer string conversion" not in str(error) and "Exceeds the limit" not in str(error):
                raise
            data = json.loads(text, parse_int=_parse_int)
    except RecursionError:
        raise _too_deep() from None
    except ValueError as error:
        position = f" (line {error.lineno}, column {error.colno})" if isinstance(error, json.JSONDecodeError) else ""
        raise Problem(f"The request body is not valid JSON{position}.", status=400, code="invalid_json") from None
    # Fewer brackets than the limit cannot nest deeper than it: most bodies skip the walk.
    limit = settings.MAX_JSON_DEPTH
    if raw.count(b"[") + raw.count(b"{") > limit:
        if nesting_depth(data, limit) > limit:
            raise _too_deep()
    return data


def _too_deep() -> Problem:
    limit = settings.MAX_JSON_DEPTH
    return Problem(f"JSON is nested more than {limit} levels deep.", status=400, code="json_too_deep")


class StrictJSONParser(BaseParser):
    """``application/json`` bodies, which must be JSON objects within the size and depth limits.

    NaN, Infinity and over-long integers are parsed (as values item validation rejects with
    422), because a bad value inside an item is not a malformed request.
    """

    media_type = "application/json"

    def parse(self, stream, media_type=None, parser_context=None):
        raw = stream.read(settings.MAX_BODY_BYTES + 1) if stream is not None else b""
        data = parse_json_body(raw)
        if not isinstance(data, dict):
            raise Problem("The request body must be a JSON object.", status=400, code="body_not_object")
        return data
