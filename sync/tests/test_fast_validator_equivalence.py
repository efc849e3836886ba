"""The fast item validator (``sync.validation``) gives exactly what the DRF item serializer gives.

For every field of every entity, a table of good and bad values (by the field's kind) is
validated by both paths: ``serializer_class(data=item).is_valid()`` and
``SYNC_ENTITIES[plural].validator.validate(item, ())``. Both must give the same set of
``(pointer, code, detail)`` and, for valid items, the same cleaned values; both must also
agree with the table's expected code or cleaned value, so two equally wrong paths fail too.
"""

from __future__ import annotations

import datetime as dt
import math
import uuid

import pytest
from django.test import override_settings
from rest_framework import serializers

from ractory.api.parsers import HugeInteger
from ractory.api.serializers import StrictCharField, StrictSerializer
from ractory.refusals import json_pointer
from sync.entities import SYNC_ENTITIES
from sync.tests.test_sync_item_validation import REQUIRED_ON_INSERT, SPEC, Spec
from sync.validation import ItemValidator

UTC = dt.UTC
ENTITIES = tuple(SPEC)
CANONICAL = "3f2504e0-4f89-41d3-9a0c-0305e82c3301"
GUID = uuid.UUID(CANONICAL)
TEN = dt.datetime(2026, 11, 22, 10, 0, tzinfo=UTC)
OK = "ok"


def serializer_path(plural: str, item: dict) -> tuple[dict | None, set]:
    serializer = SYNC_ENTITIES[plural].item_serializer(data=item)
    if serializer.is_valid():
        return dict(serializer.validated_data), set()
    errors = set()
    for name, details in serializer.errors.items():
        for detail in details:
            errors.add((json_pointer(name), detail.code, str(detail)))
    return None, errors


def validator_path(plural: str, item: dict) -> tuple[dict | None, set]:
    cleaned, errors = SYNC_ENTITIES[plural].validator.validate(item, ())
    if errors:
        return None, {(error.pointer, error.code, error.detail) for error in errors}
    return cleaned, set()


def both_paths(plural: str, item: dict) -> tuple[dict | None, set]:
    """The one result of both paths; fails if they differ in errors or cleaned values."""
    slow_cleaned, slow_errors = serializer_path(plural, item)
    fast_cleaned, fast_errors = validator_path(plural, item)
    assert fast_errors == slow_errors, (item, "validator:", fast_errors, "serializer:", slow_errors)
    assert fast_cleaned == slow_cleaned, (item, fast_cleaned, slow_cleaned)
    if fast_cleaned is not None:  # same values and same types (2 and 2.0 compare equal)
        assert {k: type(v) for k, v in fast_cleaned.items()} == {k: type(v) for k, v in slow_cleaned.items()}
    return fast_cleaned, fast_errors


def base_item(plural: str) -> dict:
    """A valid item: company_guid plus the fields an insert needs."""
    item = {"company_guid": str(uuid.uuid4())}
    for name in REQUIRED_ON_INSERT[plural]:
        item[name] = str(uuid.uuid4()) if name.endswith("_guid") else "X-1"
    return item


# --- The tables: (value, OK and the cleaned value) or (value, error code) ------------------------


def table_for(spec: Spec) -> list[tuple[object, str, object]]:
    """(value, expected code or OK, cleaned value) for a field of ``spec``."""
    rows: list[tuple[object, str, object]] = []
    if spec.kind == "uuid":
        rows += [
            (CANONICAL, OK, GUID),
            (CANONICAL.upper(), OK, GUID),
            (GUID.hex, OK, GUID),
            (GUID.hex.upper(), OK, GUID),
        ]
        rows += [
            (bad, "invalid_uuid", None)
            for bad in [
                "",
                "x",
                GUID.hex[:31],
                GUID.hex + "0",
                "{" + CANONICAL + "}",
                "urn:uuid:" + CANONICAL,
                " " + GUID.hex[:31],
                "+" + GUID.hex[:31],
                GUID.hex[:10] + "-" + GUID.hex[10:],
                "\u0661" * 32,
                CANONICAL + "\n",
                123,
                1.5,
                True,
                [],
                {},
                HugeInteger("9" * 5000),
            ]
        ]
    elif spec.kind == "bool":
        rows += [(True, OK, True), (False, OK, False)]
        rows += [(bad, "invalid_boolean", None) for bad in ["true", "false", 1, 0, 1.0, "", [], {}]]
    elif spec.kind == "datetime":
        rows += [
            ("2026-11-22T10:00:00Z", OK, TEN),
            ("2026-11-22T10:00:00", OK, TEN),
            ("2026-11-22T12:00:00+02:00", OK, TEN),
            ("2026-11-23T01:59:00+15:59", OK, TEN),
            ("2026-11-21T18:01:00-15:59", OK, TEN),
            ("2026-11-22T10:00:00.5Z", OK, TEN.replace(microsecond=500000)),
            ("0001-01-01T00:00:00", OK, dt.datetime(1, 1, 1, tzinfo=UTC)),
        ]
        rows += [
            (bad, "invalid_datetime", None)
            for bad in [
                "",
                "x",
                "2026-02-30T10:00:00Z",
                "2026-11-22T24:00:01Z",
                "2026-11-22T10:00:00+24:00",
                "2026-11-22T10:00:00+16:00",  # beyond what PostgreSQL stores (±15:59:59)
                "2026-11-22T10:00:00-16:00",
                "2026-11-22T10:00:00+23:59",
                "2026-11-22T10:00:00+05:30:00.5",
                "0001-01-01T00:00:00+01:00",
                "9999-12-31T23:59:59-01:00",
                "\uff12\uff10\uff12\uff16-11-22T10:00:00Z",
                1700000000,
                1.5,
                True,
                [],
                {},
            ]
        ]
    elif spec.kind == "str":
        length = spec.max_length
        rows += [(value, OK, value) for value in ["x" * length, "é" * length, "😀" * length, "  a  ", "\ta"]]
        # empty or whitespace only: kept as sent where blank is allowed, "blank" where it is not
        blanks = ["", " ", "\t", "  \n", "\u00a0", "\u3000 "]
        rows += [(value, OK, value) if spec.nullable else (value, "blank", None) for value in blanks]
        rows += [(char * (length + 1), "max_length", None) for char in ["x", "é", "😀"]]
        rows += [(bad, "null_character", None) for bad in ["\x00", "a\x00", "é\x00"]]
        rows += [(bad, "invalid_character", None) for bad in ["\ud800", "é\udfff", "a\udc00"]]
        rows += [(bad, "invalid_string", None) for bad in [12, 1.5, True, [], ["a"], {}, HugeInteger("9" * 5000)]]
    elif spec.kind == "int":
        low = -(2**31) if spec.min_value is None else spec.min_value
        rows += [(value, OK, value) for value in [0, 7, 2**31 - 1, low]]
        rows += [
            (low - 1, "min_value", None),
            (-(2**63), "min_value", None),
            (HugeInteger("-" + "9" * 5000), "min_value", None),
        ]
        rows += [
            (2**31, "max_value", None),
            (10**4000, "max_value", None),
            (HugeInteger("9" * 5000), "max_value", None),
        ]
        rows += [
            (bad, "invalid_integer", None)
            for bad in ["12", "abc", "", 12.5, 1.0, -0.0, True, False, math.nan, math.inf, -math.inf, [], {}]
        ]
    elif spec.kind == "float":
        rows += [(2, OK, 2.0), (1.5, OK, 1.5), (-0.0, OK, -0.0), (1e308, OK, 1e308), (10**308, OK, 1e308)]
        rows += [(-(2**1023), OK, -(2.0**1023))]
        rows += [
            (bad, "not_finite", None)
            for bad in [math.nan, math.inf, -math.inf, 10**400, -(10**400), HugeInteger("9" * 5000)]
        ]
        rows += [(bad, "invalid_number", None) for bad in ["1.5", "NaN", "", True, False, [], {}]]
    elif spec.kind == "picture":
        rows += [
            ("QUI", OK, b"AB"),
            ("QUI=", OK, b"AB"),
            ("QQ", OK, b"A"),
            ("+/+/", OK, b"\xfb\xff\xbf"),
            ("", OK, b""),
        ]
        rows += [
            (bad, "invalid_base64", None)
            for bad in [
                "QUJD QUJD",
                "QUJD\n",
                "data:,QUJD",
                "-_-_",
                "QUI_",
                "QQ=",
                "Q",
                "QUJD=",
                "QQ===",
                "=QUJ",
                "QUJ\u00e9",
                123,
                True,
                [],
                {},
            ]
        ]
    else:
        raise AssertionError(spec.kind)
    rows.append((None, OK, None) if spec.nullable else (None, "null", None))
    return rows


FIELD_CASES = [(plural, name) for plural in ENTITIES for name in SPEC[plural]]


@pytest.mark.parametrize(("plural", "field"), FIELD_CASES)
def test_both_paths_give_the_tables_result_for_every_value_of_every_field(plural, field):
    for value, expected, cleaned_value in table_for(SPEC[plural][field]):
        item = {**base_item(plural), field: value}

        cleaned, errors = both_paths(plural, item)

        if expected == OK:
            assert errors == set(), (field, value, errors)
            assert cleaned == {**item, field: cleaned_value} | _cleaned_base(item, field), (field, value, cleaned)
            if isinstance(cleaned_value, dt.datetime):
                assert cleaned[field].utcoffset() is not None
        else:
            assert {(pointer, code) for pointer, code, _ in errors} == {(f"/{field}", expected)}, (field, value, errors)


def _cleaned_base(item: dict, field: str) -> dict:
    """The cleaned form of the base fields: guids as UUIDs (the tested field is left as is)."""
    return {
        name: uuid.UUID(value) if name.endswith("_guid") else value for name, value in item.items() if name != field
    }


# Values of every kind, fed to one field of each distinct signature: codes are not asserted,
# only that both paths agree (wrong-kind values for every kind of field).
EVERY_VALUE: list = []
for _spec in {spec for fields in SPEC.values() for spec in fields.values()}:
    for _value, _, _ in table_for(_spec):
        if not any(type(_value) is type(seen) and _value == seen for seen in EVERY_VALUE):
            EVERY_VALUE.append(_value)


@pytest.mark.parametrize("plural", ENTITIES)
def test_both_paths_agree_on_values_of_every_kind_in_every_kind_of_field(plural):
    representatives: dict[Spec, str] = {}
    for name, spec in SPEC[plural].items():
        representatives.setdefault(spec, name)
    assert len(EVERY_VALUE) > 100
    for field in representatives.values():
        for value in EVERY_VALUE:
            both_paths(plural, {**base_item(plural), field: value})


# --- Whole items --------------------------------------------------------------------------------


@pytest.mark.parametrize("plural", ENTITIES)
def test_both_paths_agree_on_whole_items(plural):
    base = base_item(plural)
    without_company = {key: value for key, value in base.items() if key != "company_guid"}
    required = "This field is required."
    unknown = "Unknown field."
    cases = [
        ({}, {("/company_guid", "required", required)}),
        (without_company, {("/company_guid", "required", required)}),
        ({**base, "company_guid": None}, {("/company_guid", "null", "This field may not be null.")}),
        # required on insert only: the serializer (by design) and the validator both let them out
        ({"company_guid": base["company_guid"]}, set()),
        (
            {**base, "id": 1, "created_at": "2026-11-22T10:00:00Z", "updated_at": None, "a/b": 1},
            {
                ("/id", "unknown_field", unknown),
                ("/created_at", "unknown_field", unknown),
                ("/updated_at", "unknown_field", unknown),
                ("/a~1b", "unknown_field", unknown),
            },
        ),
        (
            {"id": 1, "is_active": "yes", "guid": "x"},
            {
                ("/company_guid", "required", required),
                ("/id", "unknown_field", unknown),
                ("/is_active", "invalid_boolean", "Must be a JSON boolean (true or false)."),
                ("/guid", "invalid_uuid", "Must be a valid UUID."),
            },
        ),
    ]
    for item, expected in cases:
        _, errors = both_paths(plural, item)
        assert errors == expected, (item, errors)


@pytest.mark.parametrize("plural", ENTITIES)
def test_an_item_with_every_field_valid_is_cleaned_the_same(plural):
    item = base_item(plural)
    expected = {}
    for name, spec in SPEC[plural].items():
        if name in item:
            continue
        value, _, cleaned = next(row for row in table_for(spec) if row[1] == OK and row[0] is not None)
        item[name], expected[name] = value, cleaned
    item["is_active"], expected["is_active"] = False, False

    cleaned, errors = both_paths(plural, item)

    assert errors == set()
    assert set(cleaned) == set(SPEC[plural])
    assert {name: cleaned[name] for name in expected} == expected


@pytest.mark.parametrize("plural", [plural for plural in ENTITIES if "picture" in SPEC[plural]])
def test_both_paths_read_the_picture_limit_from_the_setting_when_checking(plural):
    base = base_item(plural)
    with override_settings(MAX_PICTURE_BYTES=3):
        _, errors = both_paths(plural, {**base, "picture": "QUJDRA=="})
        assert errors == {("/picture", "too_large", "Decoded, the picture must be at most 3 bytes.")}
        _, errors = both_paths(plural, {**base, "picture": "QUJD" * 100})
        assert errors == {("/picture", "too_large", "Decoded, the picture must be at most 3 bytes.")}
        cleaned, _ = both_paths(plural, {**base, "picture": "QUJD"})
        assert cleaned["picture"] == b"ABC"
    cleaned, errors = both_paths(plural, {**base, "picture": "QUJDRA=="})
    assert (errors, cleaned["picture"]) == (set(), b"ABCD")


# --- The compiled validator describes the serializer and the spec --------------------------------


@pytest.mark.parametrize("plural", ENTITIES)
def test_the_validator_covers_exactly_the_serializers_fields_and_the_specs(plural):
    entity = SYNC_ENTITIES[plural]
    fields = entity.item_serializer().fields

    assert entity.validator.field_names == tuple(fields)
    assert set(fields) == set(SPEC[plural])
    assert entity.validator.always_required == ("company_guid",)
    assert [name for name, field in fields.items() if field.required] == ["company_guid"]
    assert entity.validator.required_on_insert == REQUIRED_ON_INSERT[plural]
    for name, spec in SPEC[plural].items():
        field = fields[name]
        assert field.allow_null == spec.nullable, name
        if spec.kind == "str":
            assert (field.max_length, field.allow_blank) == (spec.max_length, spec.nullable), name


def test_a_serializer_with_a_non_strict_field_cannot_be_compiled():
    class Loose(StrictSerializer):
        name = serializers.CharField()
        code = StrictCharField(max_length=5)

    with pytest.raises(TypeError, match="no fast check for CharField"):
        ItemValidator(Loose)


def test_the_validator_reports_pointers_under_the_prefix_it_is_given():
    validator = SYNC_ENTITIES["pieces"].validator

    _, errors = validator.validate({"outer_length": "1", "a/b": 1}, ("pieces", 999))

    assert {(error.pointer, error.code) for error in errors} == {
        ("/pieces/999/outer_length", "invalid_integer"),
        ("/pieces/999/a~1b", "unknown_field"),
        ("/pieces/999/company_guid", "required"),
    }
