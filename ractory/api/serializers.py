"""Serializer building blocks: strict JSON types, refusal of unknown keys, the problem shape."""

from __future__ import annotations

from collections.abc import Mapping

from django.db import models
from rest_framework import serializers
from rest_framework.exceptions import ErrorDetail

INT32_MIN, INT32_MAX = -(2**31), 2**31 - 1


class StrictCharField(serializers.CharField):
    """A JSON string only: numbers and booleans are not quietly turned into text."""

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictEmailField(serializers.EmailField):
    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data).strip().lower()


class StrictBooleanField(serializers.BooleanField):
    default_error_messages = {"invalid": "Must be a JSON boolean (true or false)."}

    def to_internal_value(self, data):
        if data is True or data is False:
            return data
        self.fail("invalid")


class StrictIntegerField(serializers.IntegerField):
    """A JSON integer within 32 bits: ``"12"``, ``12.5`` and ``true`` are refused."""

    default_error_messages = {"invalid": "Must be an integer."}

    def __init__(self, **kwargs):
        kwargs.setdefault("min_value", INT32_MIN)
        kwargs.setdefault("max_value", INT32_MAX)
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictDateTimeField(serializers.DateTimeField):
    """ISO 8601 text; a timestamp without a zone is read as UTC (``USE_TZ`` with ``TIME_ZONE=UTC``)."""

    def to_internal_value(self, value):
        if not isinstance(value, str):
            self.fail("invalid", format="ISO 8601")
        return super().to_internal_value(value)


class StrictUUIDField(serializers.UUIDField):
    """A UUID written as a JSON string, any case, with or without hyphens (not an integer)."""

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid", value=data)
        return super().to_internal_value(data)


class RejectUnknownFieldsMixin:
    """Unknown or read-only keys in the body are an error (``unknown_field``), never ignored."""

    def to_internal_value(self, data):
        if isinstance(data, Mapping):
            writable = {name for name, field in self.fields.items() if not field.read_only}
            unknown = [key for key in data if key not in writable]
            if unknown:
                raise serializers.ValidationError(
                    {key: [ErrorDetail("Unknown field.", code="unknown_field")] for key in unknown}
                )
        return super().to_internal_value(data)


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
