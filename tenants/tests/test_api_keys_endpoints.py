"""``/api/v1/api-keys`` through real HTTP.

Every test checks the status, the body and what the database holds afterwards.
"""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from tenants.models import ApiKey
from tenants.roles import Role

LIST = "/api/v1/api-keys"
RAW_KEY = re.compile(r"^rfk_(?P<key_id>[a-z0-9]{12})_(?P<secret>[A-Za-z0-9_-]{43})$")
LIST_FIELDS = {
    "guid",
    "key_prefix",
    "description",
    "scopes",
    "company_guid",
    "is_active",
    "created_at",
    "expires_at",
    "last_used_at",
    "revoked_at",
}
ADMIN_ROLES = ("SystemAdmin", "CompanyAdmin")
NON_ADMIN_ROLES = ("ProjectManager", "Operator", "Integration")
RANDOM_GUID = "5f0c1f4e-8d7b-4c7e-9a55-0d6b2f1e9c33"


def detail(guid) -> str:
    return f"{LIST}/{guid}"


def snapshot() -> list[tuple]:
    """Every key row as the endpoints may change it (``last_used_at`` moves on every key request)."""
    return list(
        ApiKey.objects.order_by("id").values_list(
            "guid", "company_id", "description", "scopes", "is_active", "revoked_at", "deleted_at", "updated_at"
        )
    )


def parse_time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


# --- The role × endpoint matrix ---------------------------------------------------------------

OPERATIONS = ("list", "create", "get", "patch", "delete")
#                    list  create get  patch delete
MATRIX = {
    "SystemAdmin": (200, 201, 200, 200, 204),
    "CompanyAdmin": (200, 201, 200, 200, 204),
    "ProjectManager": (403, 403, 403, 403, 403),
    "Operator": (403, 403, 403, 403, 403),
    "Integration": (403, 403, 403, 403, 403),
    "key:sync:read": (403, 403, 403, 403, 403),
    "key:sync:write": (403, 403, 403, 403, 403),
    "anonymous": (401, 401, 401, 401, 401),
}
MATRIX_CASES = [
    pytest.param(caller, operation, status, id=f"{caller}-{operation}")
    for caller, statuses in MATRIX.items()
    for operation, status in zip(OPERATIONS, statuses, strict=True)
]


def send(client, operation: str, target: ApiKey):
    if operation == "list":
        return client.get(LIST)
    if operation == "create":
        return client.post(LIST, {"scopes": ["sync:read"], "description": "matrix"}, format="json")
    if operation == "get":
        return client.get(detail(target.guid))
    if operation == "patch":
        return client.patch(detail(target.guid), {"description": "patched"}, format="json")
    return client.delete(detail(target.guid))


@pytest.mark.parametrize(("caller", "operation", "expected"), MATRIX_CASES)
def test_role_matrix(caller, operation, expected, client_as, make_api_key, company, problem):
    target, _ = make_api_key(["sync:read"], description="target")
    client, principal = client_as(caller)
    before = snapshot()

    response = send(client, operation, target)

    if expected == 401:
        body = problem(response, 401, "not_authenticated")
        assert response["WWW-Authenticate"] == 'Bearer realm="ractory"'
        assert snapshot() == before
        return
    if expected == 403:
        body = problem(response, 403, "permission_denied")
        assert "allowed roles: SystemAdmin, CompanyAdmin" in body["detail"], body
        if caller.startswith("key:"):
            assert body["detail"].startswith("API keys may not use this endpoint"), body
        else:
            assert caller in body["detail"], body
        assert snapshot() == before
        return

    assert response.status_code == expected, response.content
    target.refresh_from_db()
    if operation == "list":
        rows = response.json()
        assert [row["guid"] for row in rows] == [str(target.guid)]
        assert response["X-Total-Count"] == "1"
        assert snapshot() == before
    elif operation == "create":
        body = response.json()
        created = ApiKey.objects.get(guid=body["guid"])
        assert created.company == company
        assert created.created_by == principal
        assert created.description == "matrix"
        assert ApiKey.objects.count() == len(before) + 1
    elif operation == "get":
        assert response.json()["guid"] == str(target.guid)
        assert response.json()["description"] == "target"
        assert snapshot() == before
    elif operation == "patch":
        assert response.json()["description"] == "patched"
        assert target.description == "patched"
    else:
        assert response.content == b""
        assert target.is_active is False
        assert target.revoked_at is not None


# --- Create -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("scopes", "stored"),
    [
        pytest.param(["sync:read"], ["sync:read"], id="array-one"),
        pytest.param(["sync:write", "sync:read"], ["sync:read", "sync:write"], id="array-sorted"),
        pytest.param(["sync:write", "sync:write", "sync:read"], ["sync:read", "sync:write"], id="array-duplicates"),
        pytest.param("sync:read", ["sync:read"], id="string-one"),
        pytest.param("sync:write, sync:read,sync:write", ["sync:read", "sync:write"], id="string-comma"),
    ],
)
def test_create_returns_the_raw_key_once_and_stores_only_its_hash(scopes, stored, as_user, make_user, company, problem):
    admin = make_user(Role.COMPANY_ADMIN)

    response = as_user(admin).post(LIST, {"scopes": scopes, "description": "ERP connector"}, format="json")

    assert response.status_code == 201, response.content
    body = response.json()
    assert set(body) == LIST_FIELDS | {"key"}
    match = RAW_KEY.match(body["key"])
    assert match, body["key"]
    assert body["key_prefix"] == f"rfk_{match['key_id']}"
    assert body["scopes"] == stored
    assert body["description"] == "ERP connector"
    assert body["company_guid"] == str(company.guid)
    assert body["is_active"] is True
    assert body["expires_at"] is None
    assert body["revoked_at"] is None
    assert abs(parse_time(body["created_at"]) - timezone.now()) < timedelta(minutes=5)

    row = ApiKey.objects.get(guid=body["guid"])
    assert row.key_id == match["key_id"]
    assert row.scopes == stored
    assert row.company == company
    assert row.created_by == admin
    assert row.secret_hash == hashlib.sha256(match["secret"].encode()).hexdigest()
    for column, value in ApiKey.objects.filter(pk=row.pk).values().get().items():
        assert match["secret"] not in str(value), column


def test_the_raw_key_authenticates_afterwards(as_user, as_key, make_user, company):
    created = as_user(make_user(Role.COMPANY_ADMIN)).post(LIST, {"scopes": "sync:write"}, format="json").json()

    response = as_key(created["key"]).get("/api/v1/auth/me")

    assert response.status_code == 200, response.content
    assert response.json() == {
        "guid": created["guid"],
        "email": None,
        "role": "Integration",
        "company_guid": str(company.guid),
        "auth_type": "api_key",
        "scopes": ["sync:write"],
    }
    assert ApiKey.objects.get(guid=created["guid"]).last_used_at is not None


def test_create_with_a_future_expiry_and_no_zone_reads_it_as_utc(as_user, make_user):
    response = as_user(make_user(Role.COMPANY_ADMIN)).post(
        LIST, {"scopes": ["sync:read"], "expires_at": "2099-05-01T08:30:00"}, format="json"
    )

    assert response.status_code == 201, response.content
    assert parse_time(response.json()["expires_at"]) == datetime(2099, 5, 1, 8, 30, tzinfo=UTC)
    assert ApiKey.objects.get(guid=response.json()["guid"]).expires_at == datetime(2099, 5, 1, 8, 30, tzinfo=UTC)


def test_create_with_the_largest_offset_stores_the_utc_instant(as_user, make_user):
    response = as_user(make_user(Role.COMPANY_ADMIN)).post(
        LIST, {"scopes": ["sync:read"], "expires_at": "2099-05-01T08:30:00-15:59"}, format="json"
    )

    assert response.status_code == 201, response.content
    assert parse_time(response.json()["expires_at"]) == datetime(2099, 5, 2, 0, 29, tzinfo=UTC)
    assert ApiKey.objects.get(guid=response.json()["guid"]).expires_at == datetime(2099, 5, 2, 0, 29, tzinfo=UTC)


@pytest.mark.parametrize(
    ("body", "pointer", "code"),
    [
        pytest.param({"scopes": ["sync:admin"]}, "/scopes", "invalid_scope", id="unknown-scope-array"),
        pytest.param({"scopes": "sync:read,sync:delete"}, "/scopes", "invalid_scope", id="unknown-scope-string"),
        pytest.param({"scopes": []}, "/scopes", "required", id="empty-array"),
        pytest.param({"scopes": " , "}, "/scopes", "required", id="empty-string"),
        pytest.param({"scopes": [1]}, "/scopes", "invalid", id="scope-not-string"),
        pytest.param({"scopes": 7}, "/scopes", "invalid", id="scopes-number"),
        pytest.param({"scopes": None}, "/scopes", "null", id="scopes-null"),
        pytest.param({}, "/scopes", "required", id="scopes-missing"),
        pytest.param(
            {"scopes": ["sync:read"], "expires_at": "2000-01-01T00:00:00Z"}, "/expires_at", "in_the_past", id="past"
        ),
        pytest.param(
            {"scopes": ["sync:read"], "expires_at": "soon"}, "/expires_at", "invalid_datetime", id="expiry-text"
        ),
        pytest.param(
            {"scopes": ["sync:read"], "expires_at": 4102444800}, "/expires_at", "invalid_datetime", id="expiry-int"
        ),
        # offsets Python reads but PostgreSQL cannot store: 422, never a 500 from the database
        pytest.param(
            {"scopes": ["sync:read"], "expires_at": "2099-01-01T00:00:00+16:00"},
            "/expires_at",
            "invalid_datetime",
            id="expiry-offset-16",
        ),
        pytest.param(
            {"scopes": ["sync:read"], "expires_at": "2099-01-01T00:00:00-23:59"},
            "/expires_at",
            "invalid_datetime",
            id="expiry-offset-minus-23-59",
        ),
        pytest.param(
            {"scopes": ["sync:read"], "description": 5}, "/description", "invalid_string", id="description-int"
        ),
        pytest.param(
            {"scopes": ["sync:read"], "description": "x" * 256}, "/description", "max_length", id="description-long"
        ),
        pytest.param({"scopes": ["sync:read"], "company_guid": 12}, "/company_guid", "invalid_uuid", id="company-int"),
        pytest.param(
            {"scopes": ["sync:read"], "company_guid": "nope"}, "/company_guid", "invalid_uuid", id="company-bad"
        ),
        pytest.param({"scopes": ["sync:read"], "key": "rfk_x_y"}, "/key", "unknown_field", id="unknown-key"),
        pytest.param({"scopes": ["sync:read"], "secret_hash": "0" * 64}, "/secret_hash", "unknown_field", id="hash"),
        pytest.param({"scopes": ["sync:read"], "is_active": False}, "/is_active", "unknown_field", id="is-active"),
        pytest.param({"scopes": ["sync:read"], "guid": RANDOM_GUID}, "/guid", "unknown_field", id="guid"),
    ],
)
def test_create_refuses_invalid_bodies_with_a_pointer(body, pointer, code, as_user, make_user, problem):
    client = as_user(make_user(Role.COMPANY_ADMIN))

    response = client.post(LIST, body, format="json")

    error = problem(response, 422, "validation_error")
    assert {"pointer": pointer, "code": code} in [
        {"pointer": item["pointer"], "code": item["code"]} for item in error["errors"]
    ], error
    assert ApiKey.objects.count() == 0


@pytest.mark.parametrize(
    ("raw", "content_type", "status", "code"),
    [
        pytest.param('{"scopes": ["sync:read"]', "application/json", 400, "invalid_json", id="truncated"),
        pytest.param("{'scopes': 'sync:read'}", "application/json", 400, "invalid_json", id="single-quotes"),
        pytest.param('["sync:read"]', "application/json", 400, "body_not_object", id="array"),
        pytest.param('"sync:read"', "application/json", 400, "body_not_object", id="string"),
        pytest.param("scopes=sync:read", "application/x-www-form-urlencoded", 415, "unsupported_media_type", id="form"),
    ],
)
@pytest.mark.parametrize("method", ["POST", "PATCH"])
def test_malformed_bodies_are_400_and_write_nothing(
    method, raw, content_type, status, code, as_user, make_user, make_api_key, problem
):
    target, _ = make_api_key(description="unchanged")
    path = LIST if method == "POST" else detail(target.guid)
    client = as_user(make_user(Role.COMPANY_ADMIN))
    before = snapshot()

    response = client.generic(method, path, raw, content_type=content_type)

    problem(response, status, code)
    assert snapshot() == before


def test_a_company_admin_creates_in_its_own_company_when_it_names_it(as_user, make_user, company):
    response = as_user(make_user(Role.COMPANY_ADMIN)).post(
        LIST, {"scopes": ["sync:read"], "company_guid": str(company.guid).upper().replace("-", "")}, format="json"
    )

    assert response.status_code == 201, response.content
    assert response.json()["company_guid"] == str(company.guid)
    assert ApiKey.objects.get().company == company


def test_a_system_admin_creates_a_key_in_another_company(as_user, as_key, make_user, other_company):
    response = as_user(make_user(Role.SYSTEM_ADMIN)).post(
        LIST, {"scopes": ["sync:read"], "company_guid": str(other_company.guid)}, format="json"
    )

    assert response.status_code == 201, response.content
    assert response.json()["company_guid"] == str(other_company.guid)
    assert ApiKey.objects.get().company == other_company
    me = as_key(response.json()["key"]).get("/api/v1/auth/me")
    assert me.status_code == 200
    assert me.json()["company_guid"] == str(other_company.guid)


@pytest.mark.parametrize("state", ["unknown", "inactive"])
def test_a_system_admin_cannot_create_in_an_unknown_or_inactive_company(
    state, as_user, make_user, make_company, problem
):
    guid = RANDOM_GUID
    if state == "inactive":
        closed = make_company("Closed")
        closed.is_active = False
        closed.save()
        guid = str(closed.guid)

    response = as_user(make_user(Role.SYSTEM_ADMIN)).post(
        LIST, {"scopes": ["sync:read"], "company_guid": guid}, format="json"
    )

    body = problem(response, 422, "validation_error")
    assert body["errors"] == [
        {"pointer": "/company_guid", "code": "company_not_found", "detail": f"No active company {guid}."}
    ]
    assert ApiKey.objects.count() == 0


# --- Read -------------------------------------------------------------------------------------


def test_list_and_detail_never_show_the_key_or_its_hash(as_user, make_user, make_api_key):
    key, raw = make_api_key(description="listed")
    client = as_user(make_user(Role.COMPANY_ADMIN))

    listed = client.get(LIST)
    shown = client.get(detail(key.guid))

    assert listed.status_code == 200
    assert shown.status_code == 200
    assert [set(row) for row in listed.json()] == [LIST_FIELDS]
    assert set(shown.json()) == LIST_FIELDS
    assert shown.json()["key_prefix"] == key.prefix
    assert shown.json()["scopes"] == ["sync:read", "sync:write"]
    for response in (listed, shown):
        assert raw.split("_", 2)[2].encode() not in response.content
        assert key.secret_hash.encode() not in response.content
        assert b"secret" not in response.content


def test_list_is_paged_in_creation_order_and_filters_on_is_active(as_user, make_user, make_api_key):
    keys = [make_api_key(description=f"k{index}")[0] for index in range(3)]
    keys[1].is_active = False
    keys[1].save()
    client = as_user(make_user(Role.COMPANY_ADMIN))

    page = client.get(LIST, {"limit": 2})
    inactive = client.get(LIST, {"is_active": "false"})
    active = client.get(f"{LIST}/", {"is_active": "true"})

    assert [row["guid"] for row in page.json()] == [str(keys[0].guid), str(keys[1].guid)]
    assert page["X-Total-Count"] == "3"
    assert 'rel="next"' in page["Link"]
    assert [row["guid"] for row in inactive.json()] == [str(keys[1].guid)]
    assert [row["guid"] for row in active.json()] == [str(keys[0].guid), str(keys[2].guid)]


@pytest.mark.parametrize(
    ("query", "pointer"),
    [
        pytest.param({"is_active": "yes"}, "/query/is_active", id="bad-boolean"),
        pytest.param({"limit": "0"}, "/query/limit", id="limit-zero"),
        pytest.param({"limit": "abc"}, "/query/limit", id="limit-text"),
        pytest.param({"scopes": "sync:read"}, "/query/scopes", id="unknown-parameter"),
        pytest.param({"company_guid": "not-a-uuid"}, "/query/company_guid", id="bad-company-guid"),
    ],
)
def test_bad_query_parameters_are_400(query, pointer, as_user, make_user, make_api_key, problem):
    make_api_key()

    response = as_user(make_user(Role.COMPANY_ADMIN)).get(LIST, query)

    body = problem(response, 400)
    assert pointer in [error["pointer"] for error in body["errors"]], body
    assert ApiKey.objects.count() == 1


# --- Update -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        pytest.param({"description": "renamed"}, {"description": "renamed"}, id="description"),
        pytest.param({"description": None}, {"description": None}, id="description-null"),
        pytest.param({"description": ""}, {"description": ""}, id="description-blank"),
        pytest.param(
            {"scopes": ["sync:write", "sync:read", "sync:read"]},
            {"scopes": ["sync:read", "sync:write"]},
            id="scopes-array",
        ),
        pytest.param({"scopes": "sync:write"}, {"scopes": ["sync:write"]}, id="scopes-string"),
        pytest.param({"is_active": False}, {"is_active": False}, id="disable"),
        pytest.param(
            {"description": "both", "scopes": ["sync:read"]}, {"description": "both", "scopes": ["sync:read"]}, id="two"
        ),
    ],
)
def test_patch_updates_and_returns_the_representation(changes, expected, as_user, make_user, make_api_key):
    key, _ = make_api_key(["sync:read", "sync:write"], description="before")

    response = as_user(make_user(Role.COMPANY_ADMIN)).patch(detail(key.guid), changes, format="json")

    assert response.status_code == 200, response.content
    body = response.json()
    assert set(body) == LIST_FIELDS
    for field, value in expected.items():
        assert body[field] == value
    key.refresh_from_db()
    for field, value in expected.items():
        assert getattr(key, field) == value
    assert key.revoked_at is None


def test_disabling_a_key_refuses_it_and_enabling_brings_it_back(as_user, as_key, make_user, make_api_key, problem):
    key, raw = make_api_key()
    admin = as_user(make_user(Role.COMPANY_ADMIN))

    assert admin.patch(detail(key.guid), {"is_active": False}, format="json").status_code == 200
    problem(as_key(raw).get("/api/v1/auth/me"), 401, "api_key_inactive")
    enabled = admin.patch(detail(key.guid), {"is_active": True}, format="json")

    assert enabled.status_code == 200
    assert enabled.json()["is_active"] is True
    key.refresh_from_db()
    assert key.is_active is True
    assert as_key(raw).get("/api/v1/auth/me").status_code == 200


@pytest.mark.parametrize(
    ("changes", "pointer", "code"),
    [
        pytest.param({"is_active": "true"}, "/is_active", "invalid_boolean", id="boolean-as-string"),
        pytest.param({"is_active": 0}, "/is_active", "invalid_boolean", id="boolean-as-number"),
        pytest.param({"is_active": None}, "/is_active", "null", id="boolean-null"),
        pytest.param({"description": 12}, "/description", "invalid_string", id="description-number"),
        pytest.param({"description": True}, "/description", "invalid_string", id="description-boolean"),
        pytest.param({"scopes": ["sync:read", "sync:all"]}, "/scopes", "invalid_scope", id="unknown-scope"),
        pytest.param({"scopes": []}, "/scopes", "required", id="no-scope"),
        pytest.param({"scopes": {"sync:read": True}}, "/scopes", "invalid", id="scopes-object"),
        pytest.param({"key_prefix": "rfk_aaaaaaaaaaaa"}, "/key_prefix", "unknown_field", id="read-only-prefix"),
        pytest.param({"company_guid": RANDOM_GUID}, "/company_guid", "unknown_field", id="company-not-patchable"),
        pytest.param({"expires_at": "2099-01-01T00:00:00Z"}, "/expires_at", "unknown_field", id="expiry-not-patchable"),
        pytest.param({"revoked_at": None}, "/revoked_at", "unknown_field", id="revoked-at"),
    ],
)
def test_patch_refuses_invalid_bodies_and_changes_nothing(
    changes, pointer, code, as_user, make_user, make_api_key, problem
):
    key, _ = make_api_key(description="before")
    client = as_user(make_user(Role.COMPANY_ADMIN))
    before = snapshot()

    response = client.patch(detail(key.guid), changes, format="json")

    body = problem(response, 422, "validation_error")
    assert (pointer, code) in [(error["pointer"], error["code"]) for error in body["errors"]], body
    assert snapshot() == before


# --- Delete (revoke) --------------------------------------------------------------------------


def test_delete_revokes_for_good_and_keeps_the_row(as_user, as_key, make_user, make_api_key, problem):
    key, raw = make_api_key(description="to revoke")
    admin = as_user(make_user(Role.COMPANY_ADMIN))
    assert as_key(raw).get("/api/v1/auth/me").status_code == 200

    response = admin.delete(detail(key.guid))

    assert response.status_code == 204
    assert response.content == b""
    key.refresh_from_db()
    assert key.is_active is False
    assert key.revoked_at is not None
    assert key.deleted_at == key.revoked_at
    assert ApiKey.objects.filter(pk=key.pk).exists()
    problem(as_key(raw).get("/api/v1/auth/me"), 401, "api_key_revoked")
    shown = admin.get(detail(key.guid)).json()
    assert shown["is_active"] is False
    assert parse_time(shown["revoked_at"]) == key.revoked_at


def test_revoking_again_changes_nothing(as_user, make_user, make_api_key):
    key, _ = make_api_key()
    admin = as_user(make_user(Role.COMPANY_ADMIN))
    assert admin.delete(detail(key.guid)).status_code == 204
    before = snapshot()

    response = admin.delete(detail(key.guid))

    assert response.status_code == 204
    assert snapshot() == before


def test_a_revoked_key_cannot_be_enabled_again(as_user, as_key, make_user, make_api_key, problem):
    key, raw = make_api_key()
    admin = as_user(make_user(Role.COMPANY_ADMIN))
    admin.delete(detail(key.guid))
    before = snapshot()

    response = admin.patch(detail(key.guid), {"is_active": True, "description": "again"}, format="json")

    body = problem(response, 409, "api_key_revoked")
    assert "revoked" in body["detail"]
    assert snapshot() == before
    problem(as_key(raw).get("/api/v1/auth/me"), 401, "api_key_revoked")


# --- Paths ------------------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["get", "patch", "delete"])
@pytest.mark.parametrize(
    "segment",
    [
        pytest.param("not-a-uuid", id="text"),
        pytest.param("12345", id="number"),
        pytest.param("5f0c1f4e-8d7b-4c7e-9a55-0d6b2f1e9c3", id="one-short"),
        pytest.param("5f0c1f4e-8d7b-4c7e-9a55-0d6b2f1e9c33x", id="one-long"),
        pytest.param(RANDOM_GUID, id="unknown-guid"),
    ],
)
def test_a_path_that_names_no_key_is_404(method, segment, as_user, make_user, make_api_key, problem):
    make_api_key()
    client = as_user(make_user(Role.COMPANY_ADMIN))
    before = snapshot()

    response = getattr(client, method)(
        detail(segment), {"description": "x"} if method == "patch" else None, format="json"
    )

    problem(response, 404, "not_found")
    assert snapshot() == before


def test_a_guid_in_any_spelling_finds_the_key(as_user, make_user, make_api_key):
    key, _ = make_api_key()
    client = as_user(make_user(Role.COMPANY_ADMIN))

    for spelling in (str(key.guid).upper(), key.guid.hex, f"{key.guid}/"):
        response = client.get(detail(spelling))
        assert response.status_code == 200, spelling
        assert response.json()["guid"] == str(key.guid)


# --- Tenant isolation -------------------------------------------------------------------------


@pytest.mark.parametrize("operation", ["get", "patch", "delete"])
@pytest.mark.parametrize("caller", ["CompanyAdmin", "key:sync:read", "key:sync:write"])
def test_another_companys_key_answers_exactly_like_a_random_guid(
    caller, operation, client_as, make_api_key, other_company
):
    theirs, their_raw = make_api_key(company=other_company, description="theirs")
    client, _ = client_as(caller)
    before = snapshot()

    def ask(guid):
        if operation == "patch":
            return client.patch(detail(guid), {"description": "stolen"}, format="json")
        return getattr(client, operation)(detail(guid))

    foreign, missing = ask(theirs.guid), ask(uuid.UUID(RANDOM_GUID))

    expected = 403 if caller.startswith("key:") else 404
    assert foreign.status_code == missing.status_code == expected
    strip = {"request_id"}
    assert {k: v for k, v in foreign.json().items() if k not in strip} == {
        k: v for k, v in missing.json().items() if k not in strip
    }
    assert str(theirs.guid).encode() not in foreign.content
    assert snapshot() == before
    theirs.refresh_from_db()
    assert theirs.description == "theirs"
    assert theirs.is_active is True


def test_lists_of_a_company_admin_hold_only_its_company(as_user, make_user, make_api_key, other_company):
    mine, _ = make_api_key(description="mine")
    make_api_key(company=other_company, description="theirs")

    response = as_user(make_user(Role.COMPANY_ADMIN)).get(LIST)

    assert response.status_code == 200
    assert [row["guid"] for row in response.json()] == [str(mine.guid)]
    assert response["X-Total-Count"] == "1"


@pytest.mark.parametrize("path_kind", ["list", "detail"])
def test_a_company_admin_naming_another_company_is_403(
    path_kind, as_user, make_user, make_api_key, other_company, problem
):
    mine, _ = make_api_key()
    path = LIST if path_kind == "list" else detail(mine.guid)

    response = as_user(make_user(Role.COMPANY_ADMIN)).get(path, {"company_guid": str(other_company.guid)})

    problem(response, 403, "company_mismatch")


@pytest.mark.parametrize("path_kind", ["list", "detail"])
def test_a_company_admin_naming_an_unknown_company_is_403_too(path_kind, as_user, make_user, make_api_key, problem):
    mine, _ = make_api_key()
    path = LIST if path_kind == "list" else detail(mine.guid)

    response = as_user(make_user(Role.COMPANY_ADMIN)).get(path, {"company_guid": RANDOM_GUID})

    problem(response, 403, "company_mismatch")


def test_a_company_admin_may_name_its_own_company(as_user, make_user, make_api_key, company):
    mine, _ = make_api_key()
    client = as_user(make_user(Role.COMPANY_ADMIN))

    listed = client.get(LIST, {"company_guid": str(company.guid).upper()})
    shown = client.get(detail(mine.guid), {"company_guid": str(company.guid)})

    assert listed.status_code == 200
    assert [row["guid"] for row in listed.json()] == [str(mine.guid)]
    assert shown.status_code == 200
    assert shown.json()["guid"] == str(mine.guid)


def test_a_system_admin_sees_every_company_and_narrows_with_company_guid(
    as_user, make_user, make_api_key, company, other_company
):
    mine, _ = make_api_key(description="mine")
    theirs, _ = make_api_key(company=other_company, description="theirs")
    client = as_user(make_user(Role.SYSTEM_ADMIN))

    everything = client.get(LIST)
    narrowed = client.get(LIST, {"company_guid": str(other_company.guid)})
    own = client.get(LIST, {"company_guid": str(company.guid)})
    foreign_detail = client.get(detail(theirs.guid))
    wrong_company_detail = client.get(detail(theirs.guid), {"company_guid": str(company.guid)})

    assert [row["guid"] for row in everything.json()] == [str(mine.guid), str(theirs.guid)]
    assert everything["X-Total-Count"] == "2"
    assert [row["guid"] for row in narrowed.json()] == [str(theirs.guid)]
    assert [row["company_guid"] for row in narrowed.json()] == [str(other_company.guid)]
    assert [row["guid"] for row in own.json()] == [str(mine.guid)]
    assert foreign_detail.status_code == 200
    assert foreign_detail.json()["company_guid"] == str(other_company.guid)
    assert wrong_company_detail.status_code == 404


def test_a_system_admin_manages_another_companys_key(as_user, as_key, make_user, make_api_key, other_company, problem):
    theirs, raw = make_api_key(company=other_company)
    client = as_user(make_user(Role.SYSTEM_ADMIN))

    patched = client.patch(detail(theirs.guid), {"scopes": ["sync:read"]}, format="json")
    deleted = client.delete(detail(theirs.guid))

    assert patched.status_code == 200
    assert patched.json()["scopes"] == ["sync:read"]
    assert deleted.status_code == 204
    theirs.refresh_from_db()
    assert theirs.scopes == ["sync:read"]
    assert theirs.revoked_at is not None
    problem(as_key(raw).get("/api/v1/auth/me"), 401, "api_key_revoked")


@pytest.mark.parametrize("path_kind", ["list", "detail"])
def test_a_system_admin_naming_an_unknown_company_is_404(path_kind, as_user, make_user, make_api_key, problem):
    mine, _ = make_api_key()
    path = LIST if path_kind == "list" else detail(mine.guid)

    response = as_user(make_user(Role.SYSTEM_ADMIN)).get(path, {"company_guid": RANDOM_GUID})

    problem(response, 404, "company_not_found")


def test_a_company_admin_cannot_create_a_key_for_another_company(as_user, make_user, other_company, problem):
    response = as_user(make_user(Role.COMPANY_ADMIN)).post(
        LIST, {"scopes": ["sync:read"], "company_guid": str(other_company.guid)}, format="json"
    )

    problem(response, 403, "company_mismatch")
    assert ApiKey.objects.count() == 0


def test_a_key_of_an_inactive_company_is_refused(as_key, make_api_key, company, problem):
    _, raw = make_api_key()
    company.is_active = False
    company.save()

    problem(as_key(raw).get(LIST), 401, "company_inactive")


def test_the_response_is_json_not_html(as_user, make_user):
    response = as_user(make_user(Role.COMPANY_ADMIN)).get(LIST)

    assert response["Content-Type"] == "application/json"
    assert json.loads(response.content) == []
