"""Checks of single JSON values: the one implementation of every type rule.

The strict serializer fields (``ractory.api.serializers``) and the compiled fast validator of
sync items both call these functions, so a value gets the same code and message on either path.
Each check returns the cleaned value or raises ``ValueProblem``.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import math
import re
import uuid

from django.utils.dateparse import parse_datetime


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


INT32_MIN, INT32_MAX = -(2**31), 2**31 - 1
MAX_UTC_OFFSET = dt.timedelta(hours=16)  # exclusive: PostgreSQL's timestamptz input limit

# Standard base64 alphabet (RFC 4648 §4), padding optional, nothing else (no whitespace).
_BASE64 = re.compile(r"[A-Za-z0-9+/]*={0,2}")
# A UUID as text: 32 hex digits, either bare or hyphenated 8-4-4-4-12 (any case). Nothing else:
# ``uuid.UUID`` alone also takes braces, "urn:uuid:", stray hyphens, whitespace, a sign and
# non-ASCII digits (via ``int(..., 16)``), turning e.g. " " + 31 digits into another UUID.
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_TIMESTAMP_START = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}[T ]")
_COLOR = re.compile(r"#[0-9a-fA-F]{6}")
_UUID = re.compile(r"[0-9a-fA-F]{32}|[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")


class ValueProblem(Exception):
    def __init__(self, code: str, message: str) -> None:
        self.code = code
        self.message = message
        super().__init__(message)


MESSAGES = {
    "null": "This field may not be null.",
    "blank": "This field may not be blank.",
    "invalid_string": "Must be a string.",
    "null_character": "Null characters are not allowed.",
    "invalid_integer": "Must be an integer.",
    "invalid_number": "Must be a number.",
    "not_finite": "Must be a finite number (not NaN or Infinity).",
    "invalid_boolean": "Must be a JSON boolean (true or false).",
    "invalid_uuid": "Must be a valid UUID.",
    "invalid_datetime": "Must be an ISO 8601 timestamp, e.g. 2026-11-22T10:00:00Z.",
    "invalid_base64": "Must be standard base64 (RFC 4648 §4), without whitespace or a data: prefix.",
    "invalid_date": "Must be a date, YYYY-MM-DD (a full ISO 8601 timestamp is reduced to its UTC date).",
    "invalid_color": "Must be a colour #RRGGBB (six hex digits).",
}


OFFSET_MESSAGE = "The UTC offset must be within ±15:59 (whole seconds), e.g. 2026-11-22T10:00:00+02:00."


def fail(code: str, message: str | None = None):
    raise ValueProblem(code, message or MESSAGES[code])


def check_string(value, *, max_length: int | None, allow_blank: bool) -> str:
    if type(value) is not str:
        fail("invalid_string")
    # Blank is empty or whitespace only; the value is kept as sent either way.
    if not allow_blank and (not value or value.isspace()):
        fail("blank")
    if max_length is not None and len(value) > max_length:
        fail("max_length", f"Ensure this field has no more than {max_length} characters.")
    if not value.isascii():
        if "\x00" in value:
            fail("null_character")
        for character in value:
            if "\ud800" <= character <= "\udfff":
                fail("invalid_character", f"Surrogate characters are not allowed: U+{ord(character):X}.")
    elif "\x00" in value:
        fail("null_character")
    return value


def check_integer(value, *, min_value: int = INT32_MIN, max_value: int = INT32_MAX) -> int:
    if type(value) is not int:
        if isinstance(value, HugeInteger):
            if value.negative:
                fail("min_value", f"Ensure this value is greater than or equal to {min_value}.")
            fail("max_value", f"Ensure this value is less than or equal to {max_value}.")
        fail("invalid_integer")
    if value > max_value:
        fail("max_value", f"Ensure this value is less than or equal to {max_value}.")
    if value < min_value:
        fail("min_value", f"Ensure this value is greater than or equal to {min_value}.")
    return value


def check_number(value) -> float:
    """A finite JSON number; integers are accepted and stored as floats."""
    kind = type(value)
    if kind is float:
        if not math.isfinite(value):
            fail("not_finite")
        return value
    if kind is int:
        try:
            return float(value)
        except OverflowError:  # beyond the largest double (~1.8e308)
            fail("not_finite")
    if isinstance(value, HugeInteger):
        fail("not_finite")
    fail("invalid_number")


def check_boolean(value) -> bool:
    if value is True or value is False:
        return value
    fail("invalid_boolean")


def check_uuid(value) -> uuid.UUID:
    if type(value) is not str or not _UUID.fullmatch(value):
        fail("invalid_uuid")
    return uuid.UUID(value)


def check_datetime(value) -> dt.datetime:
    """ISO 8601 text; a timestamp without a zone is read as UTC."""
    # ASCII only: Django's fallback pattern uses ``\d``, which matches any Unicode digit.
    if type(value) is not str or not value.isascii():
        fail("invalid_datetime")
    try:
        parsed = parse_datetime(value)
    except ValueError:
        parsed = None
    if parsed is None:
        fail("invalid_datetime")
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.UTC)
    offset = parsed.utcoffset()
    # Python takes offsets up to ±23:59:59.999999; PostgreSQL stores at most ±15:59:59 and whole
    # seconds, and would fail the whole statement (a 500) on anything else.
    if abs(offset) >= MAX_UTC_OFFSET or offset.microseconds:
        fail("invalid_datetime", OFFSET_MESSAGE)
    try:
        parsed.astimezone(dt.UTC)  # the database stores UTC: 0001-01-01T00:00+01:00 has none
    except OverflowError:
        fail("invalid_datetime")
    return parsed


def check_base64(value, *, max_bytes: int) -> bytes:
    if type(value) is not str or not _BASE64.fullmatch(value):
        fail("invalid_base64")
    if "=" in value and len(value) % 4:  # padding is optional, but if present it must be complete
        fail("invalid_base64")
    if len(value) * 3 // 4 > max_bytes + 2:
        fail("too_large", f"Decoded, the picture must be at most {max_bytes} bytes.")
    padded = value + "=" * (-len(value) % 4)
    try:
        decoded = base64.b64decode(padded, validate=True)
    except (binascii.Error, ValueError):
        fail("invalid_base64")
    if len(decoded) > max_bytes:
        fail("too_large", f"Decoded, the picture must be at most {max_bytes} bytes.")
    return decoded


def check_date(value) -> dt.date:
    """``YYYY-MM-DD``; a full timestamp is accepted and reduced to its UTC date."""
    if type(value) is str and _DATE.fullmatch(value):
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            fail("invalid_date")
    # Only a full timestamp beyond the plain date: not the other ISO forms Python's parser takes
    # (20241231, 2024-W01-1).
    if type(value) is not str or not _TIMESTAMP_START.match(value):
        fail("invalid_date")
    try:
        return check_datetime(value).astimezone(dt.UTC).date()
    except ValueProblem as problem:
        if problem.message == OFFSET_MESSAGE:  # a timestamp, refused like in any timestamp field
            raise
        fail("invalid_date")


def check_choice(value, *, choices: tuple[str, ...]) -> str:
    if type(value) is not str or value not in choices:
        shown = value if type(value) is str and len(value) <= 50 else type(value).__name__
        fail("invalid_choice", f'"{shown}" is not one of: {", ".join(choices)}.')
    return value


def check_color(value) -> str:
    """``#RRGGBB``, stored lower-case."""
    if type(value) is not str or not _COLOR.fullmatch(value):
        fail("invalid_color")
    return value.lower()
