"""``/api/v1/companies`` and ``/api/v1/companies/current`` through real HTTP.

Every test checks the status, the body and what the database holds afterwards.
"""

from __future__ import annotations

import pytest

from conftest import PASSWORD
from tenants.models import Company
from tenants.roles import Role

LIST = "/api/v1/companies"
CURRENT = "/api/v1/companies/current"
COMPANY_FIELDS = {"guid", "name", "short_name", "logo_path", "company_index", "is_active", "created_at", "updated_at"}
RANDOM_GUID = "7a3b9c1d-2e4f-4a6b-8c0d-1e2f3a4b5c6d"


def detail(guid) -> str:
    return f"{LIST}/{guid}"


def snapshot() -> list[tuple]:
    return list(
        Company.objects.order_by("id").values_list(
            "guid", "name", "short_name", "logo_path", "company_index", "is_active", "updated_at"
        )
    )


# --- The role × endpoint matrix ---------------------------------------------------------------

OPERATIONS = ("list", "create", "get", "patch", "delete", "current")
#                    list  create get  patch delete current
MATRIX = {
    "SystemAdmin": (200, 201, 200, 200, 204, 200),
    "CompanyAdmin": (403, 403, 403, 403, 403, 200),
    "ProjectManager": (403, 403, 403, 403, 403, 200),
    "Operator": (403, 403, 403, 403, 403, 200),
    "Integration": (403, 403, 403, 403, 403, 200),
    "key:sync:read": (403, 403, 403, 403, 403, 200),
    "key:sync:write": (403, 403, 403, 403, 403, 200),
    "anonymous": (401, 401, 401, 401, 401, 401),
}
MATRIX_CASES = [
    pytest.param(caller, operation, status, id=f"{caller}-{operation}")
    for caller, statuses in MATRIX.items()
    for operation, status in zip(OPERATIONS, statuses, strict=True)
]


def send(client, operation: str, target: Company):
    if operation == "list":
        return client.get(LIST)
    if operation == "create":
        return client.post(LIST, {"name": "Brand New", "short_name": "BN"}, format="json")
    if operation == "get":
        return client.get(detail(target.guid))
    if operation == "patch":
        return client.patch(detail(target.guid), {"short_name": "PATCHED"}, format="json")
    if operation == "delete":
        return client.delete(detail(target.guid))
    return client.get(CURRENT)


@pytest.mark.parametrize(("caller", "operation", "expected"), MATRIX_CASES)
def test_role_matrix(caller, operation, expected, client_as, make_company, company, problem):
    target = make_company("Target Works")
    client, _ = client_as(caller)
    before = snapshot()

    response = send(client, operation, target)

    if expected == 401:
        problem(response, 401, "not_authenticated")
        assert response["WWW-Authenticate"] == 'Bearer realm="ractory"'
        assert snapshot() == before
        return
    if expected == 403:
        body = problem(response, 403, "permission_denied")
        assert body["detail"].endswith("allowed roles: SystemAdmin)." if caller.startswith("key:") else "SystemAdmin.")
        assert ("API keys may not use this endpoint" if caller.startswith("key:") else caller) in body["detail"]
        assert snapshot() == before
        return

    assert response.status_code == expected, response.content
    target.refresh_from_db()
    if operation == "list":
        assert [row["name"] for row in response.json()] == ["Acme Windows", "Target Works"]
        assert response["X-Total-Count"] == "2"
        assert snapshot() == before
    elif operation == "create":
        created = Company.objects.get(guid=response.json()["guid"])
        assert (created.name, created.short_name, created.is_active) == ("Brand New", "BN", True)
        assert Company.objects.count() == len(before) + 1
    elif operation == "get":
        assert response.json()["guid"] == str(target.guid)
        assert snapshot() == before
    elif operation == "patch":
        assert response.json()["short_name"] == "PATCHED"
        assert target.short_name == "PATCHED"
    elif operation == "delete":
        assert response.content == b""
        assert target.is_active is False
    else:
        assert response.json()["guid"] == str(company.guid)
        assert response.json()["name"] == "Acme Windows"
        assert snapshot() == before


# --- CRUD -------------------------------------------------------------------------------------


def test_create_returns_the_company(system_admin):
    response = system_admin.post(
        LIST,
        {"name": "Nordic Frames", "short_name": "NF", "logo_path": "/logos/nf.png", "company_index": 7},
        format="json",
    )

    assert response.status_code == 201, response.content
    body = response.json()
    assert set(body) == COMPANY_FIELDS
    assert (body["name"], body["short_name"], body["logo_path"], body["company_index"], body["is_active"]) == (
        "Nordic Frames",
        "NF",
        "/logos/nf.png",
        7,
        True,
    )
    row = Company.objects.get(guid=body["guid"])
    assert (row.name, row.short_name, row.logo_path, row.company_index) == ("Nordic Frames", "NF", "/logos/nf.png", 7)


def test_create_with_a_chosen_guid(system_admin):
    response = system_admin.post(LIST, {"name": "Chosen", "guid": RANDOM_GUID.upper()}, format="json")

    assert response.status_code == 201
    assert response.json()["guid"] == RANDOM_GUID
    assert Company.objects.filter(guid=RANDOM_GUID, name="Chosen").exists()


def test_a_taken_guid_is_409(system_admin, company, problem):
    before = snapshot()

    response = system_admin.post(LIST, {"name": "Copy", "guid": str(company.guid)}, format="json")

    problem(response, 409, "guid_taken")
    assert snapshot() == before


@pytest.mark.parametrize("index", [0, 99])
def test_company_index_accepts_the_bounds(index, system_admin):
    response = system_admin.post(LIST, {"name": f"Index {index}", "company_index": index}, format="json")

    assert response.status_code == 201
    assert response.json()["company_index"] == index
    assert Company.objects.get(guid=response.json()["guid"]).company_index == index


@pytest.mark.parametrize(
    "spelling",
    ["Acme Windows", "acme windows", "ACME WINDOWS", "aCmE wInDoWs"],
    ids=["same", "lower", "upper", "mixed"],
)
def test_a_taken_name_in_any_case_is_409(spelling, system_admin, company, problem):
    before = snapshot()

    response = system_admin.post(LIST, {"name": spelling}, format="json")

    body = problem(response, 409, "name_taken")
    assert spelling in body["detail"]
    assert snapshot() == before


def test_renaming_onto_a_taken_name_is_409_but_a_case_change_of_your_own_is_fine(
    system_admin, company, make_company, problem
):
    other = make_company("Other Doors")
    before = snapshot()

    taken = system_admin.patch(detail(other.guid), {"name": "ACME windows"}, format="json")

    problem(taken, 409, "name_taken")
    assert snapshot() == before
    own = system_admin.patch(detail(company.guid), {"name": "ACME Windows"}, format="json")
    assert own.status_code == 200
    assert own.json()["name"] == "ACME Windows"
    company.refresh_from_db()
    assert company.name == "ACME Windows"


def test_a_taken_company_index_is_409(system_admin, make_company, problem):
    make_company("Indexed", company_index=5)
    other = make_company("Plain")
    before = snapshot()

    created = system_admin.post(LIST, {"name": "Another", "company_index": 5}, format="json")
    patched = system_admin.patch(detail(other.guid), {"company_index": 5}, format="json")

    problem(created, 409, "company_index_taken")
    problem(patched, 409, "company_index_taken")
    assert snapshot() == before


@pytest.mark.parametrize(
    ("changes", "field", "value"),
    [
        pytest.param({"name": "Renamed"}, "name", "Renamed", id="name"),
        pytest.param({"short_name": None}, "short_name", None, id="short-name-null"),
        pytest.param(
            {"logo_path": "https://cdn.example.com/l.svg"}, "logo_path", "https://cdn.example.com/l.svg", id="logo"
        ),
        pytest.param({"company_index": 42}, "company_index", 42, id="index"),
        pytest.param({"company_index": None}, "company_index", None, id="index-null"),
        pytest.param({"is_active": False}, "is_active", False, id="deactivate"),
    ],
)
def test_patch_updates_and_returns_the_representation(changes, field, value, system_admin, make_company):
    target = make_company("Patch Me", short_name="PM", company_index=3)

    response = system_admin.patch(detail(target.guid), changes, format="json")

    assert response.status_code == 200, response.content
    assert set(response.json()) == COMPANY_FIELDS
    assert response.json()[field] == value
    target.refresh_from_db()
    assert getattr(target, field) == value


def test_delete_deactivates_and_its_users_and_keys_are_refused(
    system_admin, as_user, as_key, make_user, make_api_key, other_company, problem, api
):
    user = make_user(Role.COMPANY_ADMIN, company=other_company)
    user_client = as_user(user)
    _, raw = make_api_key(company=other_company)
    assert user_client.get(CURRENT).status_code == 200
    assert as_key(raw).get(CURRENT).status_code == 200

    response = system_admin.delete(detail(other_company.guid))

    assert response.status_code == 204
    assert response.content == b""
    other_company.refresh_from_db()
    assert other_company.is_active is False
    assert Company.objects.filter(pk=other_company.pk).exists()
    problem(user_client.get(CURRENT), 401, "company_inactive")
    problem(as_key(raw).get(CURRENT), 401, "company_inactive")
    login = api.post("/api/v1/auth/login", {"email": user.email, "password": PASSWORD}, format="json")
    problem(login, 401)
    shown = system_admin.get(detail(other_company.guid))
    assert shown.status_code == 200
    assert shown.json()["is_active"] is False


def test_reactivating_a_company_lets_its_users_back_in(system_admin, as_user, make_user, other_company):
    user_client = as_user(make_user(Role.OPERATOR, company=other_company))
    system_admin.delete(detail(other_company.guid))

    response = system_admin.patch(detail(other_company.guid), {"is_active": True}, format="json")

    assert response.status_code == 200
    assert response.json()["is_active"] is True
    other_company.refresh_from_db()
    assert other_company.is_active is True
    assert user_client.get(CURRENT).status_code == 200


def test_deleting_twice_changes_nothing(system_admin, other_company):
    system_admin.delete(detail(other_company.guid))
    before = snapshot()

    response = system_admin.delete(detail(other_company.guid))

    assert response.status_code == 204
    assert snapshot() == before


def test_list_is_paged_and_filters_on_is_active(system_admin, company, make_company):
    closed = make_company("Closed Shop")
    closed.is_active = False
    closed.save()
    third = make_company("Third")

    page = system_admin.get(LIST, {"limit": 2})
    inactive = system_admin.get(f"{LIST}/", {"is_active": "false"})
    second_page = system_admin.get(LIST, {"limit": 2, "offset": 2})

    assert [row["guid"] for row in page.json()] == [str(company.guid), str(closed.guid)]
    assert page["X-Total-Count"] == "3"
    assert 'rel="next"' in page["Link"]
    assert [row["guid"] for row in inactive.json()] == [str(closed.guid)]
    assert [row["guid"] for row in second_page.json()] == [str(third.guid)]
    assert "Link" not in second_page


@pytest.mark.parametrize(
    ("query", "pointer"),
    [
        pytest.param({"is_active": "no"}, "/query/is_active", id="bad-boolean"),
        pytest.param({"company_guid": RANDOM_GUID}, "/query/company_guid", id="company-guid-is-unknown-here"),
        pytest.param({"name": "Acme"}, "/query/name", id="unknown-parameter"),
        pytest.param({"limit": "1001"}, "/query/limit", id="limit-too-big"),
    ],
)
def test_bad_list_parameters_are_400(query, pointer, system_admin, problem):
    response = system_admin.get(LIST, query)

    body = problem(response, 400)
    assert pointer in [error["pointer"] for error in body["errors"]], body


# --- Bad input --------------------------------------------------------------------------------

CREATE_ERRORS = [
    pytest.param({}, "/name", "required", id="name-missing"),
    pytest.param({"name": ""}, "/name", "blank", id="name-blank"),
    pytest.param({"name": " \t "}, "/name", "blank", id="name-whitespace"),
    pytest.param({"name": None}, "/name", "null", id="name-null"),
    pytest.param({"name": 12}, "/name", "invalid_string", id="name-number"),
    pytest.param({"name": "x" * 101}, "/name", "max_length", id="name-too-long"),
    pytest.param({"name": "Nul\u0000Co"}, "/name", "null_character", id="name-nul"),
    pytest.param({"name": "N", "short_name": 3}, "/short_name", "invalid_string", id="short-name-number"),
    pytest.param({"name": "N", "short_name": "x" * 51}, "/short_name", "max_length", id="short-name-too-long"),
    pytest.param({"name": "N", "logo_path": ["a"]}, "/logo_path", "invalid_string", id="logo-array"),
    pytest.param({"name": "N", "company_index": -1}, "/company_index", "min_value", id="index-negative"),
    pytest.param({"name": "N", "company_index": 100}, "/company_index", "max_value", id="index-100"),
    pytest.param({"name": "N", "company_index": 2**40}, "/company_index", "max_value", id="index-huge"),
    pytest.param({"name": "N", "company_index": "5"}, "/company_index", "invalid_integer", id="index-string"),
    pytest.param({"name": "N", "company_index": 5.5}, "/company_index", "invalid_integer", id="index-float"),
    pytest.param({"name": "N", "company_index": True}, "/company_index", "invalid_integer", id="index-boolean"),
    pytest.param({"name": "N", "guid": "abc"}, "/guid", "invalid_uuid", id="guid-bad"),
    pytest.param({"name": "N", "is_active": False}, "/is_active", "unknown_field", id="is-active-on-create"),
    pytest.param({"name": "N", "id": 1}, "/id", "unknown_field", id="id"),
    pytest.param({"name": "N", "created_at": "2026-01-01T00:00:00Z"}, "/created_at", "unknown_field", id="created-at"),
]


@pytest.mark.parametrize(("body", "pointer", "code"), CREATE_ERRORS)
def test_create_refuses_invalid_bodies_with_a_pointer(body, pointer, code, system_admin, problem):
    before = snapshot()

    response = system_admin.post(LIST, body, format="json")

    error = problem(response, 422, "validation_error")
    assert (pointer, code) in [(item["pointer"], item["code"]) for item in error["errors"]], error
    assert snapshot() == before


PATCH_ERRORS = [
    pytest.param({"name": ""}, "/name", "blank", id="name-blank"),
    pytest.param({"name": None}, "/name", "null", id="name-null"),
    pytest.param({"name": "   "}, "/name", "blank", id="name-whitespace"),
    pytest.param({"name": 1.5}, "/name", "invalid_string", id="name-float"),
    pytest.param({"company_index": 100}, "/company_index", "max_value", id="index-100"),
    pytest.param({"company_index": -1}, "/company_index", "min_value", id="index-negative"),
    pytest.param({"company_index": "7"}, "/company_index", "invalid_integer", id="index-string"),
    pytest.param({"is_active": "false"}, "/is_active", "invalid_boolean", id="boolean-as-string"),
    pytest.param({"is_active": 0}, "/is_active", "invalid_boolean", id="boolean-as-number"),
    pytest.param({"guid": RANDOM_GUID}, "/guid", "unknown_field", id="guid-not-patchable"),
    pytest.param({"updated_at": "2026-01-01T00:00:00Z"}, "/updated_at", "unknown_field", id="updated-at"),
]


@pytest.mark.parametrize(("changes", "pointer", "code"), PATCH_ERRORS)
def test_patch_refuses_invalid_bodies_and_changes_nothing(changes, pointer, code, system_admin, other_company, problem):
    before = snapshot()

    response = system_admin.patch(detail(other_company.guid), changes, format="json")

    body = problem(response, 422, "validation_error")
    assert (pointer, code) in [(error["pointer"], error["code"]) for error in body["errors"]], body
    assert snapshot() == before


@pytest.mark.parametrize(
    ("raw", "content_type", "status", "code"),
    [
        pytest.param('{"name": "Broken"', "application/json", 400, "invalid_json", id="truncated"),
        pytest.param('{"name": "A",}', "application/json", 400, "invalid_json", id="trailing-comma"),
        pytest.param(b'{"name": "\xff"}', "application/json", 400, "invalid_json", id="not-utf8"),
        pytest.param("[{}]", "application/json", 400, "body_not_object", id="array"),
        pytest.param("42", "application/json", 400, "body_not_object", id="number"),
        pytest.param("<company/>", "application/xml", 415, "unsupported_media_type", id="xml"),
    ],
)
@pytest.mark.parametrize("method", ["POST", "PATCH"])
def test_malformed_bodies_write_nothing(method, raw, content_type, status, code, system_admin, other_company, problem):
    path = LIST if method == "POST" else detail(other_company.guid)
    before = snapshot()

    response = system_admin.generic(method, path, raw, content_type=content_type)

    problem(response, status, code)
    assert snapshot() == before


@pytest.mark.parametrize("method", ["get", "patch", "delete"])
@pytest.mark.parametrize("segment", ["acme", "42", "7a3b9c1d-2e4f-4a6b-8c0d-1e2f3a4b5c6", RANDOM_GUID])
def test_a_path_that_names_no_company_is_404(method, segment, system_admin, problem):
    before = snapshot()

    response = getattr(system_admin, method)(
        detail(segment), {"name": "x"} if method == "patch" else None, format="json"
    )

    problem(response, 404, "not_found")
    assert snapshot() == before


def test_a_guid_in_any_spelling_finds_the_company(system_admin, other_company):
    for spelling in (str(other_company.guid).upper(), other_company.guid.hex, f"{other_company.guid}/"):
        response = system_admin.get(detail(spelling))
        assert response.status_code == 200, spelling
        assert response.json()["guid"] == str(other_company.guid)


# --- companies/current ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "caller",
    ["SystemAdmin", "CompanyAdmin", "ProjectManager", "Operator", "Integration", "key:sync:read", "key:sync:write"],
)
def test_current_is_the_callers_own_company(caller, client_as, make_company, problem):
    make_company("Someone Else")
    home = make_company("Home Base", short_name="HB", company_index=12)
    client, _ = client_as(caller, company=home)

    response = client.get(CURRENT)
    with_slash = client.get(f"{CURRENT}/")

    assert response.status_code == 200, response.content
    assert response.json() == with_slash.json()
    body = response.json()
    assert set(body) == COMPANY_FIELDS
    assert (body["guid"], body["name"], body["short_name"], body["company_index"], body["is_active"]) == (
        str(home.guid),
        "Home Base",
        "HB",
        12,
        True,
    )
    problem(client.get(CURRENT, {"company_guid": str(home.guid)}), 400, "unknown_query_parameter")
    problem(client.post(CURRENT, {}, format="json"), 405, "method_not_allowed")


def test_a_system_admin_cannot_deactivate_its_own_company(as_user, make_user, company, problem):
    admin = make_user(Role.SYSTEM_ADMIN, company=company)

    body = problem(as_user(admin).delete(detail(company.guid)), 400, "cannot_deactivate_own_company")

    assert "own company" in body["detail"]
    company.refresh_from_db()
    assert company.is_active is True
