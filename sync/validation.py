"""The fast validator of sync items, compiled from the item serializers.

Plain DRF validation of 1000 pieces costs more than writing them. This module reads each
serializer's fields once and builds one small check per field from the same functions the strict
fields call (``ractory.api.values``), so an item gets exactly the errors the serializer would
give, at a fraction of the cost. The serializer stays the one definition of the fields; a test
compares both paths on a table of good and bad values.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ractory.api import serializers as strict
from ractory.api import values
from ractory.api.values import ValueProblem
from ractory.refusals import FieldError, json_pointer

Check = Callable[[Any], Any]

REQUIRED = "This field is required."
UNKNOWN = "Unknown field."


def _check_for(field) -> Check:
    """The value check of one strict serializer field."""
    if isinstance(field, strict.StrictCharField):
        max_length, allow_blank = field.max_length, field.allow_blank
        return lambda value: values.check_string(value, max_length=max_length, allow_blank=allow_blank)
    if isinstance(field, strict.StrictIntegerField):
        low, high = field.min_value, field.max_value
        return lambda value: values.check_integer(value, min_value=low, max_value=high)
    if isinstance(field, strict.StrictFloatField):
        return values.check_number
    if isinstance(field, strict.StrictBooleanField):
        return values.check_boolean
    if isinstance(field, strict.StrictUUIDField):
        return values.check_uuid
    if isinstance(field, strict.StrictDateTimeField):
        return values.check_datetime
    if isinstance(field, strict.StrictDateField):
        return values.check_date
    if isinstance(field, strict.StrictChoiceField):
        allowed = field.allowed
        return lambda value: values.check_choice(value, choices=allowed)
    if isinstance(field, strict.StrictColorField):
        return values.check_color
    if isinstance(field, strict.Base64BinaryField):
        # Read at each check, like the field does: the limit may follow a setting (PictureField).
        return lambda value: values.check_base64(value, max_bytes=field.max_bytes)
    raise TypeError(f"no fast check for {type(field).__name__}; use a strict field")


def _nullable(check: Check, allow_null: bool) -> Check:
    if allow_null:
        return lambda value: None if value is None else check(value)

    def refuse_null(value):
        if value is None:
            raise ValueProblem("null", values.MESSAGES["null"])
        return check(value)

    return refuse_null


def _compiled(field) -> Check:
    """The field's check, with the common good values (plain strings and integers within their
    limits, null where allowed) accepted in one step; anything else takes the full check, which
    gives the error. The shortcut accepts only what the full check accepts unchanged."""
    full = _nullable(_check_for(field), field.allow_null)
    allow_null = field.allow_null
    if isinstance(field, strict.StrictCharField):
        max_length = field.max_length if field.max_length is not None else float("inf")
        allow_blank = field.allow_blank

        def string_check(value):
            if type(value) is str and len(value) <= max_length and value.isascii() and "\x00" not in value:
                if allow_blank or (value and not value.isspace()):
                    return value
            elif value is None and allow_null:
                return None
            return full(value)

        return string_check
    if isinstance(field, strict.StrictIntegerField):
        low, high = field.min_value, field.max_value

        def integer_check(value):
            if type(value) is int and low <= value <= high:
                return value
            if value is None and allow_null:
                return None
            return full(value)

        return integer_check
    return full


class ItemValidator:
    """Validates one item dict: returns the cleaned values and the errors, never raises."""

    def __init__(self, serializer_class) -> None:
        # Nested item lists (a job's ``parts``) are the engine's to walk, not a value to check.
        nested = getattr(serializer_class, "nested", {})
        fields = {name: field for name, field in serializer_class().fields.items() if name not in nested}
        self.field_names: tuple[str, ...] = tuple(fields)
        self.checks: dict[str, Check] = {name: _compiled(field) for name, field in fields.items()}
        self.always_required: tuple[str, ...] = tuple(name for name, field in fields.items() if field.required)
        self.required_on_insert: tuple[str, ...] = tuple(serializer_class.required_on_insert)

    def validate(self, item: dict, prefix: tuple) -> tuple[dict, list[FieldError]]:
        cleaned: dict[str, Any] = {}
        errors: list[FieldError] = []
        checks = self.checks
        for name, value in item.items():
            check = checks.get(name)
            if check is None:
                errors.append(FieldError(json_pointer(*prefix, name), "unknown_field", UNKNOWN))
                continue
            try:
                cleaned[name] = check(value)
            except ValueProblem as problem:
                errors.append(FieldError(json_pointer(*prefix, name), problem.code, problem.message))
        for name in self.always_required:
            if name not in item:
                errors.append(FieldError(json_pointer(*prefix, name), "required", REQUIRED))
        return cleaned, errors
