"""The JSON body parser of every endpoint: size, depth and shape checked before anything else."""

from __future__ import annotations

import json
import re
from itertools import accumulate

from django.conf import settings
from rest_framework.parsers import BaseParser

from .problems import Problem

# Everything but the four bracket bytes, deleted by ``bytes.translate`` to measure nesting fast.
_NON_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")
_DEPTH_STEP = {ord("["): 1, ord("{"): 1, ord("]"): -1, ord("}"): -1}
# A JSON string literal, written "unrolled" so long strings (base64 pictures) match quickly.
_JSON_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)


class HugeInteger:
    """Stands for a JSON integer too long to convert (Python refuses past 4300 digits).

    It is a *value* problem, not a *shape* problem: item validation reports it as out of range
    (422) instead of the parser failing the whole request.
    """

    __slots__ = ("digits", "negative")

    def __init__(self, text: str) -> None:
        self.negative = text.startswith("-")
        self.digits = len(text) - self.negative

    def __repr__(self) -> str:
        return f"HugeInteger({self.digits} digits)"


def _parse_int(text: str) -> int | HugeInteger:
    return HugeInteger(text) if len(text) > 4000 else int(text)


def json_depth(raw: bytes) -> int:
    """Deepest nesting of arrays and objects in a JSON text, ignoring brackets inside strings."""
    if b'"' in raw:
        raw = _strip_strings(raw)
    brackets = raw.translate(None, _NON_BRACKETS)
    if not brackets:
        return 0
    return max(accumulate(_DEPTH_STEP[b] for b in brackets))


def _strip_strings(raw: bytes) -> bytes:
    return _JSON_STRING.sub(b"", raw)


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
    depth = json_depth(raw)
    if depth > settings.MAX_JSON_DEPTH:
        raise Problem(
            f"JSON is nested {depth} levels deep; the limit is {settings.MAX_JSON_DEPTH}.",
            status=400,
            code="json_too_deep",
        )
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise Problem("The request body is not valid UTF-8.", status=400, code="invalid_json") from None
    try:
        try:
            return json.loads(text)
        except ValueError as error:
            if "integer string conversion" not in str(error) and "Exceeds the limit" not in str(error):
                raise
            return json.loads(text, parse_int=_parse_int)
    except (ValueError, RecursionError) as error:
        position = f" (line {error.lineno}, column {error.colno})" if isinstance(error, json.JSONDecodeError) else ""
        raise Problem(f"The request body is not valid JSON{position}.", status=400, code="invalid_json") from None


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
