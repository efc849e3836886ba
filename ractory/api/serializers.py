"""Serializer building blocks: strict JSON types, refusal of unknown keys, the problem shape."""

from __future__ import annotations

import base64
from collections.abc import Mapping

from django.core.validators import EmailValidator
from django.db import models
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.exceptions import ErrorDetail

from . import values
from .values import ValueProblem


class ValueCheckedField:
    """Runs one of ``ractory.api.values``' checks and turns its problem into DRF's error."""

    def checked(self, check, value, **options):
        try:
            return check(value, **options)
        except ValueProblem as problem:
            raise serializers.ValidationError(problem.message, code=problem.code) from None


class StrictCharField(ValueCheckedField, serializers.CharField):
    """A JSON string only (numbers and booleans are not quietly turned into text), kept as sent."""

    def __init__(self, **kwargs):
        kwargs.setdefault("trim_whitespace", False)
        super().__init__(**kwargs)
        self.validators = []  # length, NUL and surrogates are all in check_string, in its order

    def to_internal_value(self, data):
        return self.checked(values.check_string, data, max_length=self.max_length, allow_blank=self.allow_blank)


class StrictEmailField(StrictCharField):
    default_error_messages = {"invalid_email": "Enter a valid email address."}

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.email_validator = EmailValidator(message=self.error_messages["invalid_email"], code="invalid_email")

    def to_internal_value(self, data):
        value = super().to_internal_value(data).strip().lower()
        self.email_validator(value)
        return value


class StrictBooleanField(ValueCheckedField, serializers.BooleanField):
    def to_internal_value(self, data):
        return self.checked(values.check_boolean, data)


class StrictIntegerField(ValueCheckedField, serializers.IntegerField):
    """A JSON integer within 32 bits: ``"12"``, ``12.5`` and ``true`` are refused."""

    def __init__(self, **kwargs):
        kwargs.setdefault("min_value", values.INT32_MIN)
        kwargs.setdefault("max_value", values.INT32_MAX)
        super().__init__(**kwargs)
        self.validators = []  # the range is part of check_integer

    def to_internal_value(self, data):
        return self.checked(values.check_integer, data, min_value=self.min_value, max_value=self.max_value)


class StrictFloatField(ValueCheckedField, serializers.FloatField):
    """A finite JSON number (integers accepted): NaN, Infinity and ``"1.5"`` are refused."""

    def to_internal_value(self, data):
        return self.checked(values.check_number, data)


class StrictDateTimeField(ValueCheckedField, serializers.DateTimeField):
    """ISO 8601 text; a timestamp without a zone is read as UTC."""

    def to_internal_value(self, value):
        return self.checked(values.check_datetime, value)


class StrictDateField(ValueCheckedField, serializers.DateField):
    """``YYYY-MM-DD``; a full ISO 8601 timestamp is reduced to its UTC date."""

    def to_internal_value(self, value):
        return self.checked(values.check_date, value)


class StrictChoiceField(ValueCheckedField, serializers.ChoiceField):
    """One of a fixed set of strings, exactly as spelt (no case folding)."""

    def __init__(self, choices, **kwargs):
        super().__init__(choices, **kwargs)
        self.allowed: tuple[str, ...] = tuple(str(choice) for choice in self.choices)

    def to_internal_value(self, data):
        return self.checked(values.check_choice, data, choices=self.allowed)


@extend_schema_field({"type": "string", "pattern": "^#[0-9a-fA-F]{6}$", "nullable": True})
class StrictColorField(ValueCheckedField, serializers.Field):
    """A ``#RRGGBB`` colour, stored lower-case."""

    def to_internal_value(self, data):
        return self.checked(values.check_color, data)

    def to_representation(self, value):
        return value


class StrictUUIDField(ValueCheckedField, serializers.UUIDField):
    """A UUID written as a JSON string, any case, with or without hyphens (not an integer)."""

    def to_internal_value(self, data):
        return self.checked(values.check_uuid, data)


@extend_schema_field({"type": "string", "format": "byte", "nullable": True})
class Base64BinaryField(ValueCheckedField, serializers.Field):
    """Bytes travelling as standard base64 (padding optional on input, always padded on output)."""

    def __init__(self, *, max_bytes: int, **kwargs):
        self.max_bytes = max_bytes
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        return self.checked(values.check_base64, data, max_bytes=self.max_bytes)

    def to_representation(self, value):
        return base64.b64encode(bytes(value)).decode("ascii")


class RejectUnknownFieldsMixin:
    """Unknown or read-only keys in the body are an error (``unknown_field``), never ignored.

    They are reported together with every other field error of the same body.
    """

    def to_internal_value(self, data):
        unknown_errors = {}
        if isinstance(data, Mapping):
            writable = {name for name, field in self.fields.items() if not field.read_only}
            unknown_errors = {
                key: [ErrorDetail("Unknown field.", code="unknown_field")] for key in data if key not in writable
            }
        try:
            value = super().to_internal_value(data)
        except serializers.ValidationError as error:
            if unknown_errors and isinstance(error.detail, dict):
                raise serializers.ValidationError({**error.detail, **unknown_errors}) from None
            raise
        if unknown_errors:
            raise serializers.ValidationError(unknown_errors)
        return value


class StrictSerializer(RejectUnknownFieldsMixin, serializers.Serializer):
    pass


class StrictModelSerializer(RejectUnknownFieldsMixin, serializers.ModelSerializer):
    serializer_field_mapping = {
        **serializers.ModelSerializer.serializer_field_mapping,
        models.CharField: StrictCharField,
        models.TextField: StrictCharField,
        models.EmailField: StrictEmailField,
        models.BooleanField: StrictBooleanField,
        models.IntegerField: StrictIntegerField,
        models.DateTimeField: StrictDateTimeField,
        models.UUIDField: StrictUUIDField,
    }


class FieldErrorSerializer(serializers.Serializer):
    pointer = serializers.CharField(help_text="JSON Pointer into the body, or /query/<name>.")
    code = serializers.CharField(help_text="Stable machine word; see docs/errors.md.")
    detail = serializers.CharField()


class ProblemSerializer(serializers.Serializer):
    """RFC 9457 problem document: the body of every error."""

    type = serializers.CharField(help_text="Relative URI /problems/<slug> naming the problem class.")
    title = serializers.CharField()
    status = serializers.IntegerField()
    detail = serializers.CharField()
    code = serializers.CharField(help_text="Request-level problem code; see docs/errors.md.")
    request_id = serializers.CharField(allow_null=True)
    errors = FieldErrorSerializer(many=True, required=False)


class EryxonErrorDetailSerializer(serializers.Serializer):
    field = serializers.CharField(help_text="Dotted path of the field, e.g. parts[0].operations[1].cell_name.")
    code = serializers.CharField(help_text="Stable machine word; see docs/errors.md.")
    message = serializers.CharField()


class EryxonErrorSerializer(serializers.Serializer):
    """The Eryxon MES error envelope: the body of every error on an /api-* path."""

    class Error(serializers.Serializer):
        code = serializers.CharField(help_text="BAD_REQUEST, UNAUTHORIZED, FORBIDDEN, … VALIDATION_ERROR, …")
        message = serializers.CharField()
        details = EryxonErrorDetailSerializer(many=True, required=False)

    success = serializers.BooleanField(help_text="Always false.")
    error = Error()
