"""Unit tests of the body parser: nesting depth, huge integers, size, encoding, shape."""

from __future__ import annotations

import io
import json
import math

import pytest
from django.test import override_settings

from ractory.api.parsers import HugeInteger, StrictJSONParser, nesting_depth, parse_json_body
from ractory.api.problems import Problem
from ractory.refusals import json_pointer

# --- nesting_depth ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "depth"),
    [
        (b"42", 0),
        (b'"text"', 0),
        (b"{}", 1),
        (b"[]", 1),
        (b'{"a": [1, {"b": []}]}', 4),
        (b'"[[[[{{{{"', 0),
        (b'{"a": "]]]]", "b": [[]]}', 3),
        (b'{"a": "}}}}}}"}', 1),
        (b'["\\"[[[", [[]]]', 3),
        (b'["\\\\", [[]]]', 3),
        (b'["\\\\\\"[[[[[[", []]', 2),
        (b'{"k[": {"k{": {}}}', 3),
        (b"[" * 40 + b"]" * 40, 40),
    ],
)
def test_nesting_depth(raw, depth):
    assert nesting_depth(json.loads(raw)) == depth


def test_nesting_depth_ignores_brackets_in_long_strings():
    raw = json.dumps({"picture": "[" * 100_000, "nested": [[["x"]]]}).encode()
    assert nesting_depth(json.loads(raw)) == 4
    assert parse_json_body(raw)["nested"] == [[["x"]]]


def test_nesting_depth_stops_early_past_the_limit():
    assert nesting_depth(json.loads(b"[" * 50 + b"]" * 50), limit=10) == 11


# --- parse_json_body: huge integers -----------------------------------------------------------


def test_5000_digit_integer_is_parsed_as_a_huge_integer():
    data = parse_json_body(b'{"n": ' + b"9" * 5000 + b', "small": 7}')
    assert isinstance(data["n"], HugeInteger)
    assert data["n"].digits == 5000
    assert data["n"].negative is False
    assert data["small"] == 7 and type(data["small"]) is int


def test_negative_5000_digit_integer_is_a_negative_huge_integer():
    data = parse_json_body(b'{"n": -' + b"1" * 5000 + b"}")
    assert isinstance(data["n"], HugeInteger)
    assert (data["n"].digits, data["n"].negative) == (5000, True)


def test_huge_integers_inside_arrays_are_replaced_each():
    data = parse_json_body(b'{"items": [1, ' + b"8" * 4500 + b', {"x": ' + b"3" * 5000 + b"}]}")
    first, second, third = data["items"]
    assert first == 1
    assert isinstance(second, HugeInteger) and second.digits == 4500
    assert isinstance(third["x"], HugeInteger) and third["x"].digits == 5000


def test_long_but_convertible_integer_stays_an_int():
    data = parse_json_body(b'{"n": ' + b"5" * 300 + b"}")
    assert data["n"] == int("5" * 300)


def test_huge_integer_never_raises_a_400():
    try:
        parse_json_body(b"[" + b"4" * 100_000 + b"]")
    except Problem as problem:  # pragma: no cover - the failure being tested for
        pytest.fail(f"a huge integer became a {problem.status} {problem.code}")


def test_nan_and_infinity_are_parsed_as_values_for_validation_to_refuse():
    data = parse_json_body(b'{"a": NaN, "b": Infinity, "c": -Infinity}')
    assert math.isnan(data["a"])
    assert data["b"] == math.inf and data["c"] == -math.inf


# --- parse_json_body: refusals ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "code", "detail"),
    [
        (b"", "invalid_json", "The request body is empty; send a JSON object."),
        (b" \n\t", "invalid_json", "The request body is empty; send a JSON object."),
        (b'{"a": ', "invalid_json", "The request body is not valid JSON (line 1, column 7)."),
        (b'{"a": 1}\n{"b": 2}', "invalid_json", "The request body is not valid JSON (line 2, column 1)."),
        (b'{"a": "\xff"}', "invalid_json", "The request body is not valid UTF-8."),
        (b"[" * 33 + b"]" * 33, "json_too_deep", "JSON is nested more than 32 levels deep."),
    ],
    ids=["empty", "whitespace", "truncated", "two-documents", "not-utf8", "too-deep"],
)
def test_parse_json_body_refusals_are_400_problems(raw, code, detail):
    with pytest.raises(Problem) as caught:
        parse_json_body(raw)
    assert (caught.value.status, caught.value.code, caught.value.detail) == (400, code, detail)


def test_too_deep_and_not_utf8_is_a_400_either_way():
    with pytest.raises(Problem) as caught:
        parse_json_body(b"[" * 40 + b'"\xff"' + b"]" * 40)
    assert (caught.value.status, caught.value.code) == (400, "invalid_json")


def test_a_body_nested_past_the_limit_names_its_depth():
    with pytest.raises(Problem) as caught:
        parse_json_body(b"[" * 40 + b"]" * 40)
    assert (caught.value.status, caught.value.code) == (400, "json_too_deep")
    assert caught.value.detail == "JSON is nested more than 32 levels deep."


def test_depth_at_the_limit_is_parsed():
    expected: list = []
    for _ in range(30):
        expected = [expected]  # 31 nested arrays inside the object: depth 32
    assert parse_json_body(b'{"a": ' + b"[" * 31 + b"]" * 31 + b"}") == {"a": expected}


@override_settings(MAX_JSON_DEPTH=4)
def test_depth_limit_is_the_setting():
    assert parse_json_body(b'{"a": [[[]]]}') == {"a": [[[]]]}
    with pytest.raises(Problem) as caught:
        parse_json_body(b'{"a": [[[[]]]]}')
    assert (caught.value.code, caught.value.detail) == (
        "json_too_deep",
        "JSON is nested more than 4 levels deep.",
    )


@override_settings(MAX_BODY_BYTES=1024)
def test_body_over_the_limit_is_a_413_problem():
    # Reached when no Content-Length was declared (chunked bodies); the middleware checks the rest.
    raw = json.dumps({"a": "x" * 1100}).encode()
    with pytest.raises(Problem) as caught:
        parse_json_body(raw)
    assert (caught.value.status, caught.value.code) == (413, "payload_too_large")
    assert caught.value.detail == "The request body is larger than the limit of 1024 bytes."


@override_settings(MAX_BODY_BYTES=1024)
def test_body_at_the_limit_is_parsed():
    raw = b'{"a": "' + b"x" * (1024 - 9) + b'"}'
    assert len(raw) == 1024
    assert parse_json_body(raw) == {"a": "x" * 1015}


# --- StrictJSONParser -------------------------------------------------------------------------


def parse(raw: bytes | None):
    return StrictJSONParser().parse(io.BytesIO(raw) if raw is not None else None, "application/json", {})


def test_parser_returns_the_object():
    assert parse(b'{"a": [1, 2], "b": null}') == {"a": [1, 2], "b": None}


@pytest.mark.parametrize("raw", [b"[]", b'"x"', b"1", b"null", b"false"])
def test_parser_refuses_what_is_not_an_object(raw):
    with pytest.raises(Problem) as caught:
        parse(raw)
    assert (caught.value.status, caught.value.code) == (400, "body_not_object")


def test_parser_refuses_a_missing_stream_as_empty():
    with pytest.raises(Problem) as caught:
        parse(None)
    assert (caught.value.status, caught.value.code) == (400, "invalid_json")


@override_settings(MAX_BODY_BYTES=1024)
def test_parser_reads_at_most_one_byte_over_the_limit():
    stream = io.BytesIO(b'{"a": "' + b"x" * 10_000 + b'"}')
    with pytest.raises(Problem) as caught:
        StrictJSONParser().parse(stream, "application/json", {})
    assert caught.value.status == 413
    assert stream.tell() == 1025


# --- json_pointer -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("parts", "pointer"),
    [((), ""), (("pieces", 3, "outer_length"), "/pieces/3/outer_length"), (("a/b", "m~n"), "/a~1b/m~0n")],
)
def test_json_pointer_escapes_per_rfc_6901(parts, pointer):
    assert json_pointer(*parts) == pointer
