"""Validation of sync items: every bad value is a 422.

Each test sends raw JSON, asserts the problem document (status, ``code``, the exact pointer and
code of every error) and that nothing was written. Where a value is accepted, the stored value
is read back from the database. ``SPEC`` restates the spec's field tables of the five entities so the
tests do not take the field definitions from the code under test.
"""

from __future__ import annotations

import base64
import datetime as dt
import uuid
from dataclasses import dataclass

import pytest
from django.conf import settings
from django.test import override_settings

from conftest import assert_problem
from sync.models import SyncRun
from sync.tests.test_sync_request_shape import (
    ENTITIES,
    MODELS,
    Raw,
    SyncClient,
    Tree,
    assert_item_errors,
    build_tree,
    db_state,
    valid_item,
)
from tenants.roles import Role

UTC = dt.UTC


# --- The spec's field tables of the five entities -----------------------------------------------


@dataclass(frozen=True)
class Spec:
    kind: str  # uuid, bool, datetime, str, int, float, picture
    nullable: bool = False
    max_length: int | None = None
    min_value: int | None = None


def _s(length: int, nullable: bool = True) -> Spec:
    return Spec("str", nullable, max_length=length)


UUID, UUID_NULL = Spec("uuid"), Spec("uuid", True)
BOOL, DATETIME_NULL = Spec("bool"), Spec("datetime", True)
INT_NULL, FLOAT_NULL, PICTURE = Spec("int", True), Spec("float", True), Spec("picture", True)

SHARED = {"guid": UUID, "company_guid": UUID, "is_active": BOOL, "deleted_at": DATETIME_NULL}
PIECE_INTEGERS = (
    "outer_length inner_length other_length angle_left angle_right assembly_width assembly_height "
    "reinforcement_length bar_rest bar_length bar_cutting_tolerance profile_width profile_height welding_tolerance"
).split()
PIECE_STRINGS = {
    100: (
        "orientation trolley cell trolley_cell component_code component_number project_number project_code_parent "
        "project_phase reinforcement_code water_handle segment_order fixing_mode material_type bar_id profile_code "
        "lamination gasket profile_color profile_type_ra profile_type trolley_size parent_assembly_trolley_cell "
        "mullion_trolley_cell glazing_bead_trolley_cell"
    ).split(),
    255: "client dealer profile_name cutting_pattern profile_code_with_color".split(),
    1000: "operations component_description project_description info2 info3 hardware_info glass_info".split(),
}
ARTICLE_FLOATS = "quantity length width height surface angle1 angle2 unit_weight bar_length".split()

SPEC: dict[str, dict[str, Spec]] = {
    "projects": {
        **SHARED,
        "code": _s(100, nullable=False),
        "due_date": DATETIME_NULL,
        "in_production": BOOL,
        "company_name": _s(255),
    },
    "components": {
        **SHARED,
        "project_guid": UUID,
        "code": _s(100, nullable=False),
        "designation": _s(1000),
        "quantity": Spec("int", min_value=0),
        "picture": PICTURE,
    },
    "assemblies": {
        **SHARED,
        "project_guid": UUID,
        "component_guid": UUID,
        "trolley_cell": _s(100),
        "trolley": _s(100),
        "cell_number": INT_NULL,
        "picture": PICTURE,
    },
    "pieces": {
        **SHARED,
        "piece_id": _s(100, nullable=False),
        "barcode": _s(100),
        "project_guid": UUID,
        "component_guid": UUID,
        "assembly_guid": UUID_NULL,
        "picture": PICTURE,
        **{name: INT_NULL for name in PIECE_INTEGERS},
        **{name: _s(length) for length, names in PIECE_STRINGS.items() for name in names},
    },
    "articles": {
        **SHARED,
        "project_guid": UUID,
        "component_guid": UUID,
        "code": _s(100, nullable=False),
        "designation": _s(1000),
        "consume_group_designation": _s(255),
        "consume_group_priority": INT_NULL,
        "unit": _s(100),
        "category_designation": _s(255),
        "position": _s(100),
        "short_position": _s(100),
        "code_no_color": _s(100),
        "component_code": _s(100),
        "is_extra": BOOL,
        **{name: FLOAT_NULL for name in ARTICLE_FLOATS},
    },
}
REQUIRED_ON_INSERT = {
    "projects": ("code",),
    "components": ("project_guid", "code"),
    "assemblies": ("project_guid", "component_guid"),
    "pieces": ("piece_id", "project_guid", "component_guid"),
    "articles": ("project_guid", "component_guid", "code"),
}


def fields_of(kind: str, *, nullable: bool | None = None) -> list[tuple[str, str]]:
    return [
        (plural, name)
        for plural in ENTITIES
        for name, spec in SPEC[plural].items()
        if spec.kind == kind and (nullable is None or spec.nullable == nullable)
    ]


def param_id(value) -> str:
    text = repr(value)
    return text if len(text) <= 30 else text[:27] + "..."


# --- Fixtures and helpers -----------------------------------------------------------------------


@pytest.fixture
def sync(make_api_key, as_key, company) -> SyncClient:
    _, raw_key = make_api_key(scopes=("sync:write",))
    return SyncClient(as_key(raw_key), company)


@pytest.fixture
def tree(sync) -> Tree:
    return build_tree(sync)


HEX = "0123456789abcdef" * 2
CANONICAL = "3f2504e0-4f89-41d3-9a0c-0305e82c3301"


def fill(plural: str, tree: Tree, sync: SyncClient, field: str, value) -> dict:
    """A valid insert item with ``field`` set to ``value`` (deleted_at goes with is_active false)."""
    extra = {"is_active": False} if field == "deleted_at" else {}
    return valid_item(plural, tree, sync.company_guid, **extra, **{field: value})


def reject_each(sync, tree, plural, field, values, code, detail=None, **extra_fields):
    """One item per value (in one request); each is the one error of its item. Nothing written."""
    items = [{**fill(plural, tree, sync, field, value), **extra_fields} for value in values]
    before = db_state()

    response = sync.items(plural, items)

    details = assert_item_errors(response, [(f"/{plural}/{index}/{field}", code) for index in range(len(values))])
    if detail is not None:
        assert set(details.values()) == {detail}, details
    assert db_state() == before
    return details


def accept_each(sync, tree, plural, field, values, *, ensure_ascii=True) -> list:
    """Inserts one item per value in one request; returns the stored values, in order."""
    items = [{**fill(plural, tree, sync, field, value), "guid": str(uuid.uuid4())} for value in values]

    body = sync.ok(plural, items, ensure_ascii=ensure_ascii)

    assert body["inserted"] == len(values), body
    model = MODELS[plural]
    stored = dict(model.objects.filter(guid__in=[item["guid"] for item in items]).values_list("guid", field))
    result = [stored[uuid.UUID(item["guid"])] for item in items]
    return [bytes(value) if isinstance(value, memoryview) else value for value in result]


# --- Integers -----------------------------------------------------------------------------------

INTEGER_FIELDS = fields_of("int")
NOT_INTEGERS = [
    "abc",
    "12",
    "",
    12.5,
    1.0,
    Raw("1E2"),
    Raw("-0.0"),
    True,
    False,
    [],
    [1],
    {},
    Raw("1e999"),
    Raw("-1e999"),
    Raw("NaN"),
    Raw("Infinity"),
]


def test_the_integer_fields_are_the_specs():
    assert len(INTEGER_FIELDS) == 1 + 1 + 14 + 1


@pytest.mark.parametrize(("plural", "field"), INTEGER_FIELDS)
def test_a_non_integer_is_422_invalid_integer(sync, tree, plural, field):
    reject_each(sync, tree, plural, field, NOT_INTEGERS, "invalid_integer", "Must be an integer.")


@pytest.mark.parametrize(("plural", "field"), INTEGER_FIELDS)
def test_integers_beyond_32_bits_are_422_max_value_or_min_value(sync, tree, plural, field):
    low = SPEC[plural][field].min_value
    low = -(2**31) if low is None else low
    too_big = [2**31, 2**32, 2**63, Raw("9" * 4000), Raw("9" * 5000)]
    too_small = [low - 1, -(2**31) - 1, -(2**63), Raw("-" + "9" * 4000), Raw("-" + "9" * 5000)]

    reject_each(
        sync, tree, plural, field, too_big, "max_value", "Ensure this value is less than or equal to 2147483647."
    )
    reject_each(
        sync, tree, plural, field, too_small, "min_value", f"Ensure this value is greater than or equal to {low}."
    )


def test_a_5000_digit_integer_is_an_item_error_not_a_malformed_request(sync, tree):
    """Python refuses to convert it (4300-digit limit); it is still only a wrong value (422)."""
    before = db_state()

    response = sync.items("pieces", [valid_item("pieces", tree, sync.company_guid, outer_length=Raw("7" * 5000))])

    assert_item_errors(response, [("/pieces/0/outer_length", "max_value")])
    assert db_state() == before


@pytest.mark.parametrize(("plural", "field"), INTEGER_FIELDS)
def test_integers_at_the_32_bit_bounds_are_stored(sync, tree, plural, field):
    low = SPEC[plural][field].min_value
    low = -(2**31) if low is None else low
    values = [2**31 - 1, low, 0, Raw("-0"), 7]

    assert accept_each(sync, tree, plural, field, values) == [2**31 - 1, low, 0, 0, 7]


def test_null_is_stored_for_nullable_integers_and_refused_for_quantity(sync, tree):
    assert accept_each(sync, tree, "pieces", "outer_length", [None]) == [None]
    reject_each(sync, tree, "components", "quantity", [None], "null", "This field may not be null.")


# --- Floats -------------------------------------------------------------------------------------

FLOAT_FIELDS = fields_of("float")
NOT_FINITE = [
    Raw("NaN"),
    Raw("Infinity"),
    Raw("-Infinity"),
    Raw("1e999"),
    Raw("-1e999"),
    Raw("1" + "0" * 400),  # an integer beyond the largest double
    Raw("9" * 5000),
    Raw("-" + "9" * 5000),
]
NOT_NUMBERS = ["1.5", "NaN", "Infinity", "", True, False, [], {}, [1.5]]


@pytest.mark.parametrize(("plural", "field"), FLOAT_FIELDS)
def test_nan_infinity_and_overflow_are_422_not_finite(sync, tree, plural, field):
    reject_each(sync, tree, plural, field, NOT_FINITE, "not_finite", "Must be a finite number (not NaN or Infinity).")


@pytest.mark.parametrize(("plural", "field"), FLOAT_FIELDS)
def test_a_non_number_for_a_float_is_422_invalid_number(sync, tree, plural, field):
    reject_each(sync, tree, plural, field, NOT_NUMBERS, "invalid_number", "Must be a number.")


def test_finite_numbers_and_integers_are_stored_as_floats(sync, tree):
    values = [2, 1.5, -0.25, Raw("2.5E-3"), Raw("1e308"), Raw("1" + "0" * 308), Raw("-1.7976931348623157e308"), None]

    stored = accept_each(sync, tree, "articles", "length", values)

    assert stored == [2.0, 1.5, -0.25, 0.0025, 1e308, 1e308, -1.7976931348623157e308, None]
    assert isinstance(stored[0], float)


# --- Strings ------------------------------------------------------------------------------------

STRING_FIELDS = fields_of("str")
NOT_STRINGS = [12, 0, 1.5, True, False, [], ["a"], {}, Raw("9" * 5000), Raw("NaN")]


def test_the_string_fields_are_the_specs():
    assert len(STRING_FIELDS) == 2 + 2 + 2 + 39 + 9


@pytest.mark.parametrize(("plural", "field"), STRING_FIELDS)
def test_a_non_string_is_422_invalid_string(sync, tree, plural, field):
    reject_each(sync, tree, plural, field, NOT_STRINGS, "invalid_string", "Must be a string.")


@pytest.mark.parametrize("plural", ENTITIES)
def test_strings_over_their_length_are_422_max_length_counted_in_characters(sync, tree, plural):
    """One item per kind of character, each with every string field one character too long."""
    strings = {name: spec.max_length for name, spec in SPEC[plural].items() if spec.kind == "str"}
    characters = ["x", "é", "€", "😀"]  # 1, 2, 3 and 4 UTF-8 bytes; the last is 2 UTF-16 units
    items = [
        valid_item(plural, tree, sync.company_guid, **{name: char * (length + 1) for name, length in strings.items()})
        for char in characters
    ]
    before = db_state()

    response = sync.items(plural, items)

    expected = [(f"/{plural}/{index}/{name}", "max_length") for index in range(len(characters)) for name in strings]
    details = assert_item_errors(response, expected)
    for name, length in strings.items():
        assert details[f"/{plural}/0/{name}"] == f"Ensure this field has no more than {length} characters."
    assert db_state() == before


@pytest.mark.parametrize("ensure_ascii", [True, False], ids=["escaped", "raw-utf8"])
@pytest.mark.parametrize("plural", ENTITIES)
def test_strings_at_their_length_are_stored_exactly_whatever_the_characters(sync, tree, plural, ensure_ascii):
    strings = {name: spec.max_length for name, spec in SPEC[plural].items() if spec.kind == "str"}
    for char in ["é", "😀", "x"]:
        guid = str(uuid.uuid4())
        item = valid_item(
            plural, tree, sync.company_guid, guid=guid, **{name: char * length for name, length in strings.items()}
        )

        sync.ok(plural, [item], ensure_ascii=ensure_ascii)

        row = MODELS[plural].objects.get(guid=guid)
        for name, length in strings.items():
            assert getattr(row, name) == char * length, (name, char)


@pytest.mark.parametrize(("plural", "field"), STRING_FIELDS)
def test_strings_with_nul_are_422_null_character(sync, tree, plural, field):
    length = SPEC[plural][field].max_length
    values = ["\x00", "a\x00b", "é\x00", "x" * (length - 1) + "\x00"]

    reject_each(sync, tree, plural, field, values, "null_character", "Null characters are not allowed.")


@pytest.mark.parametrize(("plural", "field"), fields_of("str", nullable=False) + [("pieces", "barcode")])
def test_strings_with_a_lone_surrogate_are_422_invalid_character(sync, tree, plural, field):
    values = ["\ud800", "a\udfff", "é\udc00\ud800", "\ud83d", "x\ude00y"]

    details = reject_each(sync, tree, plural, field, values, "invalid_character")

    assert details[f"/{plural}/0/{field}"] == "Surrogate characters are not allowed: U+D800."
    assert details[f"/{plural}/3/{field}"] == "Surrogate characters are not allowed: U+D83D."


def test_a_surrogate_pair_is_one_character_and_is_stored(sync, tree):
    # "\ud83d\ude00" in JSON is the one character U+1F600, not two surrogates.
    assert accept_each(sync, tree, "pieces", "barcode", ["\U0001f600", "a\U0001f600b"]) == ["😀", "a😀b"]


@pytest.mark.parametrize(("plural", "field"), fields_of("str", nullable=False))
def test_a_blank_required_string_is_422_blank(sync, tree, plural, field):
    # whitespace only is blank too, whatever the whitespace
    reject_each(sync, tree, plural, field, ["", "  ", "\t", "\n\u00a0\u3000"], "blank", "This field may not be blank.")


def test_a_required_string_with_a_visible_character_is_stored_as_sent(sync, tree):
    assert accept_each(sync, tree, "pieces", "piece_id", [" x ", "\ty", "z\n"]) == [" x ", "\ty", "z\n"]


def test_optional_strings_are_stored_as_sent_blank_and_untrimmed(sync, tree):
    assert accept_each(sync, tree, "pieces", "barcode", ["", "  a  ", None, "\t\n"]) == ["", "  a  ", None, "\t\n"]


# --- Booleans -----------------------------------------------------------------------------------

BOOLEAN_FIELDS = fields_of("bool")
NOT_BOOLEANS = ["true", "false", "True", 1, 0, "1", "", "yes", 1.0, [], [True], {}]


@pytest.mark.parametrize(("plural", "field"), BOOLEAN_FIELDS)
def test_a_non_boolean_is_422_invalid_boolean(sync, tree, plural, field):
    reject_each(sync, tree, plural, field, NOT_BOOLEANS, "invalid_boolean", "Must be a JSON boolean (true or false).")


@pytest.mark.parametrize(("plural", "field"), BOOLEAN_FIELDS)
def test_null_for_a_boolean_is_422_null(sync, tree, plural, field):
    reject_each(sync, tree, plural, field, [None], "null", "This field may not be null.")


@pytest.mark.parametrize(("plural", "field"), [("projects", "in_production"), ("articles", "is_extra")])
def test_json_booleans_are_stored(sync, tree, plural, field):
    assert accept_each(sync, tree, plural, field, [True, False]) == [True, False]


# --- UUIDs --------------------------------------------------------------------------------------

UUID_FIELDS = fields_of("uuid")
NOT_UUIDS = [
    "",
    "not-a-uuid",
    HEX[:31],
    HEX + "0",
    "g" + HEX[1:],
    CANONICAL[:-1],
    CANONICAL + "0",
    "{" + CANONICAL + "}",
    "urn:uuid:" + CANONICAL,
    " " + HEX[:31],
    HEX[:31] + " ",
    "+" + HEX[:31],
    HEX[:16] + "_" + HEX[17:],
    "3f2504e04-f89-41d3-9a0c-0305e82c3301",  # hyphens in the wrong places
    "3-f-2-5-0-4-e-0-4f8941d39a0c0305e82c3301",
    "\u0661" * 32,  # ARABIC-INDIC DIGIT ONE, which int(..., 16) reads as 1
    CANONICAL + "\n",
    12345,
    Raw("9" * 5000),
    True,
    [],
    {},
]


@pytest.mark.parametrize(("plural", "field"), UUID_FIELDS)
def test_a_bad_uuid_is_422_invalid_uuid(sync, tree, plural, field):
    reject_each(sync, tree, plural, field, NOT_UUIDS, "invalid_uuid", "Must be a valid UUID.")


@pytest.mark.parametrize(("plural", "field"), fields_of("uuid", nullable=False))
def test_null_for_a_non_nullable_uuid_is_422_null(sync, tree, plural, field):
    reject_each(sync, tree, plural, field, [None], "null", "This field may not be null.")


@pytest.mark.parametrize(
    "spelling", [str.upper, lambda text: text.replace("-", ""), lambda text: text.upper().replace("-", "")]
)
def test_uuids_in_any_case_with_or_without_hyphens_are_accepted_and_normalised(sync, tree, spelling):
    guid = uuid.uuid4()
    item = {
        "guid": spelling(str(guid)),
        "company_guid": spelling(sync.company_guid),
        "project_guid": spelling(tree.project),
        "component_guid": spelling(tree.component),
        "assembly_guid": spelling(tree.assembly),
        "piece_id": "PC-1",
    }

    body = sync.ok("pieces", [item])

    assert body["items"] == [{"index": 0, "guid": str(guid), "action": "inserted"}]
    piece = MODELS["pieces"].objects.select_related("project", "component", "assembly").get(guid=guid)
    assert (str(piece.project.guid), str(piece.component.guid), str(piece.assembly.guid)) == (
        tree.project,
        tree.component,
        tree.assembly,
    )


# --- Timestamps ---------------------------------------------------------------------------------

DATETIME_FIELDS = fields_of("datetime")
NOT_DATETIMES = [
    "",
    "yesterday",
    "2026-11-22T10:00:00ZZ",
    "2026-13-01T00:00:00Z",
    "2026-02-30T10:00:00Z",
    "2026-11-22T25:00:00Z",
    "2026-11-22T10:60:00Z",
    "2026-11-22T10:00:00+24:00",
    "22.11.2026 10:00",
    "0001-01-01T00:00:00+01:00",  # no UTC instant exists for it: it is before year 1
    "9999-12-31T23:59:59-01:00",  # after year 9999 in UTC
    "\uff12\uff10\uff12\uff16-11-22T10:00:00Z",  # fullwidth digits
    1700000000,
    1.5,
    True,
    [],
    {},
]


@pytest.mark.parametrize(("plural", "field"), DATETIME_FIELDS)
def test_a_bad_timestamp_is_422_invalid_datetime(sync, tree, plural, field):
    reject_each(
        sync,
        tree,
        plural,
        field,
        NOT_DATETIMES,
        "invalid_datetime",
        "Must be an ISO 8601 timestamp, e.g. 2026-11-22T10:00:00Z.",
    )


# UTC offsets Python reads (up to ±23:59:59.999999) but PostgreSQL cannot store (beyond ±15:59:59,
# or a fraction of a second): before they were refused here, PostgreSQL failed the statement (500).
BEYOND_POSTGRES = [
    "2026-11-22T10:00:00+16:00",
    "2026-11-22T10:00:00-16:00",
    "2026-11-22T10:00:00+23:59",
    "2026-11-22T10:00:00-23:59:59",
    "2026-11-22T10:00:00+1600",
    "2026-11-22T10:00:00+16",
    "2026-11-22T10:00:00+05:30:00.5",
]
OFFSET_DETAIL = "The UTC offset must be within ±15:59 (whole seconds), e.g. 2026-11-22T10:00:00+02:00."


@pytest.mark.parametrize(("plural", "field"), DATETIME_FIELDS)
def test_a_utc_offset_postgresql_cannot_store_is_422_invalid_datetime(sync, tree, plural, field):
    reject_each(sync, tree, plural, field, BEYOND_POSTGRES, "invalid_datetime", OFFSET_DETAIL)


def test_offsets_up_to_15_59_59_are_stored_as_their_utc_instant(sync, tree):
    values = ["2026-11-23T01:59:00+15:59", "2026-11-21T18:01:00-15:59", "2026-11-23T01:59:59+15:59:59"]

    stored = accept_each(sync, tree, "projects", "due_date", values)

    assert stored == [dt.datetime(2026, 11, 22, 10, 0, tzinfo=UTC)] * 3


@pytest.mark.parametrize("field", ["due_date", "deleted_at"])
def test_an_unstorable_offset_in_a_partial_request_fails_its_item_only(sync, field):
    """One such item made the whole partial request a 500, with nothing written and no sync run."""
    good = valid_item("projects", None, sync.company_guid, code="P-GOOD", guid=str(uuid.uuid4()))
    bad = valid_item("projects", None, sync.company_guid, code="P-BAD", **{field: "2026-11-22T10:00:00+16:00"})
    if field == "deleted_at":
        bad["is_active"] = False

    response = sync.items("projects", [good, bad], query="?atomic=false")

    assert response.status_code == 200, response.content
    body = response.json()
    project = MODELS["projects"].objects.get()
    assert (body["inserted"], body["errors"]) == (1, 1)
    assert body["items"] == [
        {"index": 0, "guid": good["guid"], "action": "inserted"},
        {
            "index": 1,
            "guid": None,
            "action": "error",
            "errors": [{"pointer": f"/projects/1/{field}", "code": "invalid_datetime", "detail": OFFSET_DETAIL}],
        },
    ]
    assert (str(project.guid), project.code) == (good["guid"], "P-GOOD")
    run = SyncRun.objects.get(request_id=response["X-Request-ID"])
    assert (run.status, run.item_count, run.inserted, run.errors) == ("partial", 2, 1, 1)


def test_timestamps_are_stored_as_utc_and_a_naive_one_is_read_as_utc(sync, tree):
    values = [
        "2026-11-22T10:00:00Z",
        "2026-11-22T10:00:00",
        "2026-11-22T12:00:00+02:00",
        "2026-11-22T05:30:00-04:30",
        "2026-11-22T10:00:00.250000Z",
        "0001-01-01T00:00:00",
        "9999-12-31T23:59:59Z",
        None,
    ]

    stored = accept_each(sync, tree, "projects", "due_date", values)

    ten = dt.datetime(2026, 11, 22, 10, 0, tzinfo=UTC)
    assert stored == [
        ten,
        ten,
        ten,
        ten,
        ten.replace(microsecond=250000),
        dt.datetime(1, 1, 1, tzinfo=UTC),
        dt.datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC),
        None,
    ]
    assert all(value.utcoffset() == dt.timedelta(0) for value in stored if value is not None)


def test_a_naive_deleted_at_is_stored_as_utc(sync, tree):
    assert accept_each(sync, tree, "pieces", "deleted_at", ["2026-11-22T10:00:00"]) == [
        dt.datetime(2026, 11, 22, 10, 0, tzinfo=UTC)
    ]


# --- Pictures -----------------------------------------------------------------------------------

PICTURE_FIELDS = fields_of("picture")
NOT_BASE64 = [
    "QUJD QUJD",
    " QUJD",
    "QUJD ",
    "QUJD\n",
    "QUJD\r\nQUJD",
    "QU\tJD",
    "data:image/png;base64,QUJD",
    "data:,QUJD",
    "-_-_",
    "QUI-",
    "QUI_",
    "QUJD_w==",
    "Q",
    "QUJDR",
    "QQ=",
    "QUJD=",
    "QQ===",
    "=QUJ",
    "QU=D",
    "QUJD==QUJD",
    "QUJ\u00e9",
    "QUJ\x00",
    123,
    True,
    [],
    {},
]


@pytest.mark.parametrize(("plural", "field"), PICTURE_FIELDS)
def test_a_picture_that_is_not_standard_base64_is_422_invalid_base64(sync, tree, plural, field):
    reject_each(
        sync,
        tree,
        plural,
        field,
        NOT_BASE64,
        "invalid_base64",
        "Must be standard base64 (RFC 4648 §4), without whitespace or a data: prefix.",
    )


@pytest.mark.parametrize(("plural", "field"), PICTURE_FIELDS)
def test_standard_base64_padded_or_not_is_stored_as_bytes(sync, tree, plural, field):
    values = ["QUI", "QUI=", "QQ", "QQ==", "QUJD", "+/+/", "AP8A/w", None]

    stored = accept_each(sync, tree, plural, field, values)

    assert stored == [b"AB", b"AB", b"A", b"A", b"ABC", b"\xfb\xff\xbf", b"\x00\xff\x00\xff", None]


@pytest.mark.parametrize(("plural", "field"), PICTURE_FIELDS)
def test_a_picture_over_the_setting_is_422_too_large(sync, tree, plural, field):
    with override_settings(MAX_PICTURE_BYTES=4):
        details = reject_each(
            sync, tree, plural, field, ["QUJDREU=", "QUJDREU", "QUJDREVG", "QUJD" * 1000], "too_large"
        )
        assert set(details.values()) == {"Decoded, the picture must be at most 4 bytes."}

        assert accept_each(sync, tree, plural, field, ["QUJDRA==", "QUJDRA", "QUJD"]) == [b"ABCD", b"ABCD", b"ABC"]


def test_the_default_picture_limit_is_5_mib_decoded(sync, tree):
    limit = 5 * 1024 * 1024
    assert settings.MAX_PICTURE_BYTES == limit
    too_big = base64.b64encode(b"\x89" * (limit + 1)).decode()

    details = reject_each(sync, tree, "components", "picture", [too_big], "too_large")

    assert details["/components/0/picture"] == f"Decoded, the picture must be at most {limit} bytes."
    exact = base64.b64encode(b"\x89" * limit).decode()
    assert accept_each(sync, tree, "components", "picture", [exact]) == [b"\x89" * limit]


# --- Unknown and server-owned keys --------------------------------------------------------------

UNKNOWN_KEYS = ["id", "created_at", "updated_at", "company", "company_id", "foo", "Code", "guid ", "a/b~c", ""]
NOT_FOR = {
    "projects": ["project_guid", "picture", "component_count", "quantity"],
    "components": ["project", "project_id", "assembly_count", "component_guid"],
    "assemblies": ["code", "assembly_guid", "piece_count"],
    "pieces": ["project_code_parrent", "assembly", "code", "is_extra"],
    "articles": ["assembly_guid", "picture", "piece_id"],
}


def escaped(key: str) -> str:
    return key.replace("~", "~0").replace("/", "~1")


@pytest.mark.parametrize("plural", ENTITIES)
def test_unknown_and_server_owned_keys_are_each_422_unknown_field(sync, tree, plural):
    keys = UNKNOWN_KEYS + NOT_FOR[plural]
    item = valid_item(plural, tree, sync.company_guid, **{key: "2026-11-22T10:00:00Z" for key in keys})
    before = db_state()

    response = sync.items(plural, [item])

    details = assert_item_errors(response, [(f"/{plural}/0/{escaped(key)}", "unknown_field") for key in keys])
    assert set(details.values()) == {"Unknown field."}
    assert db_state() == before


# --- Required, null, blank ----------------------------------------------------------------------

REQUIRED_CASES = [(plural, name) for plural in ENTITIES for name in ("company_guid", *REQUIRED_ON_INSERT[plural])]


@pytest.mark.parametrize(("plural", "field"), REQUIRED_CASES)
def test_a_field_an_insert_needs_is_422_required_when_missing(sync, tree, plural, field):
    item = valid_item(plural, tree, sync.company_guid)
    del item[field]
    before = db_state()

    response = sync.items(plural, [item])

    details = assert_item_errors(response, [(f"/{plural}/0/{field}", "required")])
    assert details[f"/{plural}/0/{field}"] == "This field is required."
    assert db_state() == before


@pytest.mark.parametrize("plural", ENTITIES)
def test_an_item_with_only_company_guid_names_every_missing_field(sync, plural):
    before = db_state()

    response = sync.items(plural, [{"company_guid": sync.company_guid}])

    assert_item_errors(response, [(f"/{plural}/0/{name}", "required") for name in REQUIRED_ON_INSERT[plural]])
    assert db_state() == before


@pytest.mark.parametrize("plural", ENTITIES)
def test_an_empty_item_names_company_guid_and_every_field_an_insert_needs(sync, plural):
    before = db_state()

    response = sync.items(plural, [{}])

    expected = [(f"/{plural}/0/{name}", "required") for name in ("company_guid", *REQUIRED_ON_INSERT[plural])]
    assert_item_errors(response, expected)
    assert db_state() == before


NOT_NULLABLE = [(plural, name) for plural in ENTITIES for name, spec in SPEC[plural].items() if not spec.nullable]


@pytest.mark.parametrize(("plural", "field"), NOT_NULLABLE)
def test_null_for_a_non_nullable_field_is_422_null(sync, tree, plural, field):
    reject_each(sync, tree, plural, field, [None], "null", "This field may not be null.")


@pytest.mark.parametrize("plural", ENTITIES)
def test_null_is_stored_for_every_nullable_field(sync, tree, plural):
    nullable = [name for name, spec in SPEC[plural].items() if spec.nullable and name != "deleted_at"]
    guid = str(uuid.uuid4())
    item = valid_item(plural, tree, sync.company_guid, guid=guid, deleted_at=None, **dict.fromkeys(nullable))

    sync.ok(plural, [item])

    row = MODELS[plural].objects.filter(guid=guid).values(*[name.removesuffix("_guid") for name in nullable]).get()
    assert set(row.values()) == {None}, row


def test_an_update_may_leave_out_required_fields_but_not_null_or_blank_them(sync, tree):
    guid = str(uuid.uuid4())
    sync.ok("pieces", [valid_item("pieces", tree, sync.company_guid, guid=guid, piece_id="PC-9")])
    minimal = {"guid": guid, "company_guid": sync.company_guid}

    assert sync.ok("pieces", [{**minimal, "barcode": "B-1"}])["updated"] == 1
    cases = [
        ("piece_id", None, "null"),
        ("project_guid", None, "null"),
        ("component_guid", None, "null"),
        ("piece_id", "", "blank"),
        ("is_active", None, "null"),
    ]
    for field, value, code in cases:
        before = db_state()

        response = sync.items("pieces", [{**minimal, field: value}])

        assert_item_errors(response, [(f"/pieces/0/{field}", code)])
        assert db_state() == before
    piece = MODELS["pieces"].objects.get(guid=guid)
    assert (piece.piece_id, piece.barcode) == ("PC-9", "B-1")


# --- The whole batch ----------------------------------------------------------------------------


def test_an_invalid_item_at_index_999_rejects_all_1000(sync, tree):
    items = [valid_item("pieces", tree, sync.company_guid, piece_id=f"PC-{n}") for n in range(1000)]
    items[999]["outer_length"] = "12"
    before = db_state()

    response = sync.items("pieces", items)

    details = assert_item_errors(response, [("/pieces/999/outer_length", "invalid_integer")])
    assert details["/pieces/999/outer_length"] == "Must be an integer."
    assert response.json()["detail"] == "1 item is invalid; nothing was written."
    assert db_state() == before


def test_an_invalid_item_rejects_the_updates_of_the_valid_ones(sync, tree):
    guids = [str(uuid.uuid4()) for _ in range(3)]
    sync.ok("projects", [{"guid": guid, "company_guid": sync.company_guid, "code": "OLD"} for guid in guids])
    before = db_state()

    response = sync.items(
        "projects",
        [
            {"guid": guids[0], "company_guid": sync.company_guid, "code": "NEW"},
            {"guid": guids[1], "company_guid": sync.company_guid, "is_active": False},
            {"guid": guids[2], "company_guid": sync.company_guid, "code": "x" * 101},
        ],
    )

    assert_item_errors(response, [("/projects/2/code", "max_length")])
    assert db_state() == before
    assert set(MODELS["projects"].objects.filter(guid__in=guids).values_list("code", "is_active")) == {("OLD", True)}


def test_all_errors_of_all_items_are_returned_together(sync, tree):
    items = [
        valid_item("pieces", tree, sync.company_guid),
        valid_item("pieces", tree, sync.company_guid, outer_length=12.5),
        valid_item("pieces", tree, sync.company_guid),
        valid_item(
            "pieces",
            tree,
            sync.company_guid,
            guid="nope",
            barcode="x" * 101,
            picture="data:,QUJD",
            deleted_at=None,
            is_active="false",
            created_at="2026-01-01T00:00:00Z",
            inner_length=Raw("Infinity"),
            piece_id=None,
            cell="\x00",
        ),
        "not an item",
        valid_item("pieces", tree, sync.company_guid, project_guid=None, angle_left=Raw("-" + "1" * 5000)),
    ]
    before = db_state()

    response = sync.items("pieces", items)

    assert_item_errors(
        response,
        [
            ("/pieces/1/outer_length", "invalid_integer"),
            ("/pieces/3/guid", "invalid_uuid"),
            ("/pieces/3/barcode", "max_length"),
            ("/pieces/3/picture", "invalid_base64"),
            ("/pieces/3/is_active", "invalid_boolean"),
            ("/pieces/3/created_at", "unknown_field"),
            ("/pieces/3/inner_length", "invalid_integer"),
            ("/pieces/3/piece_id", "null"),
            ("/pieces/3/cell", "null_character"),
            ("/pieces/4", "not_an_object"),
            ("/pieces/5/project_guid", "null"),
            ("/pieces/5/angle_left", "min_value"),
        ],
    )
    assert response.json()["detail"] == "4 items are invalid; nothing was written."
    assert db_state() == before


def test_a_missing_required_field_is_reported_with_the_items_other_errors(sync):
    # No guid: this item can only be an insert, so `code` is certainly missing.
    response = sync.items("projects", [{"company_guid": sync.company_guid, "in_production": "yes"}])

    assert_item_errors(response, [("/projects/0/in_production", "invalid_boolean"), ("/projects/0/code", "required")])


# --- The other item rules: company, duplicates, parents -----------------------------------------


def test_another_company_is_403_company_mismatch_and_nothing_is_written(sync, tree, other_company):
    items = [
        valid_item("pieces", tree, sync.company_guid),
        valid_item("pieces", tree, str(other_company.guid)),
    ]
    before = db_state()

    response = sync.items("pieces", items)

    body = assert_problem(response, 403, "company_mismatch")
    assert str(other_company.guid) in body["detail"]
    assert db_state() == before


@pytest.fixture
def admin_sync(make_user, as_user, company) -> SyncClient:
    return SyncClient(as_user(make_user(Role.SYSTEM_ADMIN)), company)


def test_a_system_admin_naming_an_unknown_company_is_422_company_not_found(admin_sync):
    before = db_state()

    response = admin_sync.items("projects", [{"company_guid": str(uuid.uuid4()), "code": "P-1"}])

    assert_item_errors(response, [("/projects/0/company_guid", "company_not_found")])
    assert db_state() == before


def test_a_system_admin_naming_two_companies_is_422_mixed_companies(admin_sync, other_company):
    before = db_state()

    response = admin_sync.items(
        "projects",
        [
            {"company_guid": admin_sync.company_guid, "code": "P-1"},
            {"company_guid": str(other_company.guid), "code": "P-2"},
        ],
    )

    assert_item_errors(response, [("/projects/1/company_guid", "mixed_companies")])
    assert db_state() == before


def test_the_same_guid_twice_is_422_duplicate_in_batch_on_the_later_item(sync):
    guid = uuid.uuid4()
    items = [
        {"guid": str(guid), "company_guid": sync.company_guid, "code": "P-1"},
        {"company_guid": sync.company_guid, "code": "P-2"},
        {"guid": guid.hex.upper(), "company_guid": sync.company_guid, "code": "P-3"},
    ]
    before = db_state()

    response = sync.items("projects", items)

    details = assert_item_errors(response, [("/projects/2/guid", "duplicate_in_batch")])
    assert details["/projects/2/guid"] == "Item 0 has the same guid."
    assert db_state() == before


@pytest.fixture
def other_tree(make_api_key, as_key, other_company) -> Tree:
    _, raw_key = make_api_key(scopes=("sync:write",), company=other_company)
    return build_tree(SyncClient(as_key(raw_key), other_company), "O")


def test_parents_that_are_missing_foreign_mismatched_or_deleted_are_422(sync, tree, other_tree):
    second = build_tree(sync, "2")
    deleted = sync.ok("projects", [{"company_guid": sync.company_guid, "code": "GONE", "is_active": False}])
    deleted_project = deleted["items"][0]["guid"]
    items = [
        valid_item("components", tree, sync.company_guid, project_guid=str(uuid.uuid4())),
        valid_item("components", tree, sync.company_guid, project_guid=other_tree.project),
        valid_item("components", tree, sync.company_guid, project_guid=deleted_project),
        valid_item("components", tree, sync.company_guid),
    ]
    before = db_state()

    response = sync.items("components", items)

    assert_item_errors(
        response,
        [
            ("/components/0/project_guid", "parent_not_found"),
            ("/components/1/project_guid", "parent_not_found"),
            ("/components/2/project_guid", "parent_inactive"),
        ],
    )
    assert db_state() == before

    response = sync.items(
        "pieces",
        [
            valid_item("pieces", tree, sync.company_guid, component_guid=second.component),
            valid_item("pieces", tree, sync.company_guid, assembly_guid=second.assembly),
            valid_item("pieces", tree, sync.company_guid, assembly_guid=other_tree.assembly),
        ],
    )

    assert_item_errors(
        response,
        [
            ("/pieces/0/component_guid", "parent_mismatch"),
            ("/pieces/1/assembly_guid", "parent_mismatch"),
            ("/pieces/2/assembly_guid", "parent_not_found"),
        ],
    )
    assert db_state() == before


def test_the_project_of_an_existing_row_cannot_change(sync, tree):
    second = build_tree(sync, "2")
    before = db_state()

    response = sync.items(
        "components", [{"guid": tree.component, "company_guid": sync.company_guid, "project_guid": second.project}]
    )

    assert_item_errors(response, [("/components/0/project_guid", "parent_immutable")])
    assert db_state() == before
