"""Request bodies Django or the parser refuse are problem documents, never HTML.

Each refusal on a writing endpoint also proves nothing was written.
"""

from __future__ import annotations

import json

import pytest
from django.test import override_settings

from tenants.models import ApiKey, Company

LOGIN = "/api/v1/auth/login"
API_KEYS = "/api/v1/api-keys"
COMPANIES = "/api/v1/companies"
JSON = "application/json"


def nested_description(depth: int) -> bytes:
    """An API-key body whose deepest nesting is ``depth`` (the outer object counts as 1)."""
    inner = depth - 1
    return b'{"scopes": "sync:read", "description": ' + b"[" * inner + b"]" * inner + b"}"


# --- unparseable JSON -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        b'{"email": ',
        b"{'email': 'a@example.com'}",
        b'{"email": "a@example.com",}',
        b"not json at all",
        b'{"email": "a@example.com"} trailing',
    ],
    ids=["truncated", "single-quotes", "trailing-comma", "bare-words", "trailing-garbage"],
)
def test_unparseable_json_is_400_invalid_json(api, full_problem, raw):
    body = full_problem(api.post(LOGIN, data=raw, content_type=JSON), 400, "invalid_json")
    assert body["detail"].startswith("The request body is not valid JSON (line 1, column ")
    assert body["type"] == "/problems/bad-request"


def test_unparseable_json_on_a_write_creates_nothing(company_admin, full_problem):
    response = company_admin.post(API_KEYS, data=b'{"scopes": ["sync:read"]', content_type=JSON)
    full_problem(response, 400, "invalid_json")
    assert ApiKey.objects.count() == 0


def test_empty_body_is_a_400_problem(api, full_problem):
    # DRF hands an empty body to the view as {}: the login body then misses both fields.
    body = full_problem(api.post(LOGIN, data=b"", content_type=JSON), 400, "invalid_body")
    assert {error["pointer"] for error in body["errors"]} == {"/email", "/password"}


@pytest.mark.parametrize("raw", [b" ", b"\r\n\t  \n"], ids=["space", "mixed-whitespace"])
def test_whitespace_only_body_is_400_invalid_json(company_admin, full_problem, raw):
    body = full_problem(company_admin.post(API_KEYS, data=raw, content_type=JSON), 400, "invalid_json")
    assert body["detail"] == "The request body is empty; send a JSON object."
    assert ApiKey.objects.count() == 0


# --- body not an object -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [b"[]", b'[{"email": "a@example.com", "password": "x"}]', b'"a string"', b"42", b"null", b"true"],
    ids=["empty-array", "array-of-object", "string", "number", "null", "boolean"],
)
def test_body_that_is_not_an_object_is_400_body_not_object(api, full_problem, raw):
    body = full_problem(api.post(LOGIN, data=raw, content_type=JSON), 400, "body_not_object")
    assert body["detail"] == "The request body must be a JSON object."


def test_array_body_on_a_write_creates_nothing(company_admin, full_problem):
    response = company_admin.post(API_KEYS, data=json.dumps([{"scopes": ["sync:read"]}]), content_type=JSON)
    full_problem(response, 400, "body_not_object")
    assert ApiKey.objects.count() == 0


# --- nesting depth ----------------------------------------------------------------------------


def test_json_one_level_over_the_depth_limit_is_400_json_too_deep(company_admin, full_problem, settings):
    assert settings.MAX_JSON_DEPTH == 32
    response = company_admin.post(API_KEYS, data=nested_description(33), content_type=JSON)
    body = full_problem(response, 400, "json_too_deep")
    assert body["detail"] == "JSON is nested more than 32 levels deep."
    assert ApiKey.objects.count() == 0


def test_json_far_over_the_depth_limit_is_400_not_a_recursion_error(company_admin, full_problem):
    response = company_admin.post(API_KEYS, data=nested_description(100_000), content_type=JSON)
    body = full_problem(response, 400, "json_too_deep")
    assert body["detail"] == "JSON is nested more than 32 levels deep."
    assert ApiKey.objects.count() == 0


def test_json_at_the_depth_limit_reaches_validation(company_admin, full_problem):
    # Parsed, so the bad value is an item error (422), not a malformed request.
    response = company_admin.post(API_KEYS, data=nested_description(32), content_type=JSON)
    body = full_problem(response, 422, "validation_error")
    assert [error["pointer"] for error in body["errors"]] == ["/description"]
    assert ApiKey.objects.count() == 0


def test_brackets_inside_strings_do_not_count_as_nesting(company_admin):
    # 40 "[" and 40 "{" inside a string, around an escaped quote, and a string ending in an
    # escaped backslash (\\" there ends the string); the real nesting is 2.
    description = "[" * 20 + ' "quoted [[[" ' + "{" * 40 + "[" * 20 + "\\"
    raw = json.dumps({"scopes": "sync:read", "description": description}).encode()
    assert raw.count(b"[") == 43 and b'\\"' in raw and raw.endswith(b'\\\\"}')
    response = company_admin.post(API_KEYS, data=raw, content_type=JSON)
    assert response.status_code == 201, response.content
    assert response.json()["description"] == description
    assert list(ApiKey.objects.values_list("description", flat=True)) == [description]


# --- body size --------------------------------------------------------------------------------


def login_body_of_size(size: int) -> bytes:
    head = b'{"email": "nobody@example.com", "password": "'
    tail = b'"}'
    return head + b"x" * (size - len(head) - len(tail)) + tail


@override_settings(MAX_BODY_BYTES=1024)
def test_body_over_the_size_limit_is_413(api, full_problem, db):
    raw = login_body_of_size(1025)
    assert len(raw) == 1025
    body = full_problem(api.post(LOGIN, data=raw, content_type=JSON), 413, "payload_too_large")
    assert body["detail"] == "The request body is larger than the limit of 1024 bytes."
    assert body["type"] == "/problems/payload-too-large"


@override_settings(MAX_BODY_BYTES=1024)
def test_body_exactly_at_the_size_limit_is_read(api, full_problem, db):
    raw = login_body_of_size(1024)
    assert len(raw) == 1024
    full_problem(api.post(LOGIN, data=raw, content_type=JSON), 401, "invalid_credentials")


@override_settings(MAX_BODY_BYTES=1024)
def test_oversize_body_on_a_write_creates_nothing(company_admin, full_problem):
    raw = json.dumps({"scopes": ["sync:read"], "description": "d" * 2000}).encode()
    full_problem(company_admin.post(API_KEYS, data=raw, content_type=JSON), 413, "payload_too_large")
    assert ApiKey.objects.count() == 0


def test_declared_content_length_over_the_limit_is_413_before_reading(company_admin, full_problem, settings):
    declared = settings.MAX_BODY_BYTES + 1
    response = company_admin.post(
        API_KEYS, data=b'{"scopes": ["sync:read"]}', content_type=JSON, CONTENT_LENGTH=str(declared)
    )
    body = full_problem(response, 413, "payload_too_large")
    assert body["detail"] == f"The request body is larger than the limit of {settings.MAX_BODY_BYTES} bytes."
    assert ApiKey.objects.count() == 0


@pytest.mark.parametrize("declared", ["abc", "12x", "1e3"])
def test_unreadable_content_length_is_400(company_admin, full_problem, declared):
    response = company_admin.post(
        API_KEYS, data=b'{"scopes": ["sync:read"]}', content_type=JSON, CONTENT_LENGTH=declared
    )
    body = full_problem(response, 400, "bad_request")
    assert body["detail"] == "Content-Length is not a number."
    assert ApiKey.objects.count() == 0


# --- content type and encoding ----------------------------------------------------------------


@pytest.mark.parametrize(
    "content_type",
    ["text/plain", "application/x-www-form-urlencoded", "application/xml", "application/problem+json"],
)
def test_body_not_sent_as_json_is_415(company_admin, full_problem, content_type):
    response = company_admin.post(API_KEYS, data=b'{"scopes": ["sync:read"]}', content_type=content_type)
    body = full_problem(response, 415, "unsupported_media_type")
    assert body["detail"] == "Send the body as JSON with Content-Type: application/json."
    assert body["type"] == "/problems/unsupported-media-type"
    assert ApiKey.objects.count() == 0


def test_multipart_form_body_is_415(company_admin, full_problem):
    response = company_admin.post(API_KEYS, data={"scopes": "sync:read"}, format="multipart")
    full_problem(response, 415, "unsupported_media_type")
    assert ApiKey.objects.count() == 0


@pytest.mark.parametrize(
    "raw",
    [b'{"scopes": "sync:read", "description": "caf\xe9"}', b'{"scopes": "sync:read", "description": "\xff\xfe"}'],
    ids=["latin-1", "invalid-bytes"],
)
def test_body_that_is_not_utf8_is_400(company_admin, full_problem, raw):
    body = full_problem(company_admin.post(API_KEYS, data=raw, content_type=JSON), 400, "invalid_json")
    assert body["detail"] == "The request body is not valid UTF-8."
    assert ApiKey.objects.count() == 0


# --- huge integers are values, not malformed requests -----------------------------------------


@pytest.mark.parametrize(("sign", "code"), [("", "max_value"), ("-", "min_value")], ids=["positive", "negative"])
def test_5000_digit_integer_is_an_out_of_range_item_error_not_a_400(system_admin, full_problem, sign, code):
    before = Company.objects.count()
    raw = ('{"name": "Huge Index", "company_index": ' + sign + "7" * 5000 + "}").encode()
    body = full_problem(system_admin.post(COMPANIES, data=raw, content_type=JSON), 422, "validation_error")
    assert [(error["pointer"], error["code"]) for error in body["errors"]] == [("/company_index", code)]
    assert Company.objects.count() == before
    assert not Company.objects.filter(name="Huge Index").exists()


def test_5000_digit_integer_where_text_is_expected_is_an_item_error(company_admin, full_problem):
    raw = ('{"scopes": "sync:read", "description": ' + "9" * 5000 + "}").encode()
    body = full_problem(company_admin.post(API_KEYS, data=raw, content_type=JSON), 422, "validation_error")
    assert [error["pointer"] for error in body["errors"]] == ["/description"]
    assert ApiKey.objects.count() == 0
