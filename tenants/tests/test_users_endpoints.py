"""``/api/v1/users`` through real HTTP.

Every test checks the status, the body and what the database holds afterwards.
"""

from __future__ import annotations

import json
import uuid

import pytest

from conftest import PASSWORD
from tenants.models import User
from tenants.roles import Role

LIST = "/api/v1/users"
USER_FIELDS = {
    "guid",
    "email",
    "name",
    "surname",
    "role",
    "company_guid",
    "is_active",
    "created_at",
    "updated_at",
    "last_login",
}
NEW_PASSWORD = "violet-lantern-harbour-42"
RANDOM_GUID = "0d9e6a55-3c1b-4f7a-8e42-6a1f0b2c9d77"
HUMAN_ROLES = [Role.SYSTEM_ADMIN, Role.COMPANY_ADMIN, Role.PROJECT_MANAGER, Role.OPERATOR]
ALL_ROLES = [*HUMAN_ROLES, Role.INTEGRATION]
MANAGES_NOBODY = [Role.PROJECT_MANAGER, Role.OPERATOR, Role.INTEGRATION]


def detail(guid) -> str:
    return f"{LIST}/{guid}"


def snapshot() -> list[tuple]:
    return list(
        User.objects.order_by("id").values_list(
            "guid",
            "company_id",
            "email",
            "password",
            "role",
            "name",
            "surname",
            "is_active",
            "deleted_at",
            "is_staff",
            "is_superuser",
            "updated_at",
        )
    )


def new_user_body(role=Role.OPERATOR, **fields) -> dict:
    return {"email": f"new.{uuid.uuid4().hex[:8]}@example.com", "password": PASSWORD, "role": role, **fields}


def assert_no_password(response) -> None:
    """No ``password`` field, no password that tests send, no hash."""
    body = response.json() if response.content else None
    for row in body if isinstance(body, list) else [body]:
        assert not isinstance(row, dict) or "password" not in row
    assert PASSWORD.encode() not in response.content
    assert NEW_PASSWORD.encode() not in response.content
    assert b"md5$" not in response.content and b"pbkdf2" not in response.content


@pytest.fixture
def login(api):
    def attempt(email: str, password: str) -> int:
        return api.post("/api/v1/auth/login", {"email": email, "password": password}, format="json").status_code

    return attempt


# --- The role × endpoint matrix ---------------------------------------------------------------

OPERATIONS = ("list", "create", "get", "patch", "delete")
# The target is an Operator of the caller's company. Users who manage nobody see only
# themselves, so the target is a 404 for them; creating is a 403 naming who may.
#                    list  create get  patch delete
MATRIX = {
    "SystemAdmin": (200, 201, 200, 200, 204),
    "CompanyAdmin": (200, 201, 200, 200, 204),
    "ProjectManager": (200, 403, 404, 404, 404),
    "Operator": (200, 403, 404, 404, 404),
    "Integration": (200, 403, 404, 404, 404),
    "key:sync:read": (403, 403, 403, 403, 403),
    "key:sync:write": (403, 403, 403, 403, 403),
    "anonymous": (401, 401, 401, 401, 401),
}
MATRIX_CASES = [
    pytest.param(caller, operation, status, id=f"{caller}-{operation}")
    for caller, statuses in MATRIX.items()
    for operation, status in zip(OPERATIONS, statuses, strict=True)
]


def send(client, operation: str, target: User):
    if operation == "list":
        return client.get(LIST)
    if operation == "create":
        return client.post(LIST, new_user_body(name="Matrix"), format="json")
    if operation == "get":
        return client.get(detail(target.guid))
    if operation == "patch":
        return client.patch(detail(target.guid), {"name": "Patched"}, format="json")
    return client.delete(detail(target.guid))


@pytest.mark.parametrize(("caller", "operation", "expected"), MATRIX_CASES)
def test_role_matrix(caller, operation, expected, client_as, make_user, company, problem):
    target = make_user(Role.OPERATOR, name="Target")
    client, principal = client_as(caller)
    before = snapshot()

    response = send(client, operation, target)

    if expected >= 400:
        code = {401: "not_authenticated", 403: "permission_denied", 404: "not_found"}[expected]
        body = problem(response, expected, code)
        if expected == 401:
            assert response["WWW-Authenticate"] == 'Bearer realm="ractory"'
        elif expected == 403 and caller.startswith("key:"):
            assert body["detail"].startswith("API keys may not use this endpoint"), body
            assert "allowed roles: SystemAdmin, CompanyAdmin, ProjectManager, Operator, Integration" in body["detail"]
        elif expected == 403:
            assert f"A {caller} may not manage Operator users" in body["detail"], body
            assert "allowed roles: SystemAdmin, CompanyAdmin" in body["detail"], body
        assert snapshot() == before
        return

    assert response.status_code == expected, response.content
    assert_no_password(response)
    target.refresh_from_db()
    if operation == "list":
        rows = response.json()
        if caller in {"SystemAdmin", "CompanyAdmin"}:
            assert [row["guid"] for row in rows] == [str(target.guid), str(principal.guid)]
        else:
            assert [row["guid"] for row in rows] == [str(principal.guid)]
        assert response["X-Total-Count"] == str(len(rows))
        assert snapshot() == before
    elif operation == "create":
        body = response.json()
        created = User.objects.get(guid=body["guid"])
        assert (created.company, created.role, created.name) == (company, Role.OPERATOR, "Matrix")
        assert created.check_password(PASSWORD)
        assert User.objects.count() == len(before) + 1
    elif operation == "get":
        assert response.json()["guid"] == str(target.guid)
        assert response.json()["name"] == "Target"
        assert snapshot() == before
    elif operation == "patch":
        assert response.json()["name"] == "Patched"
        assert target.name == "Patched"
    else:
        assert response.content == b""
        assert target.is_active is False
        assert target.deleted_at is not None


# --- Who may manage whom: a CompanyAdmin only the roles below its own -------------------------

# role of the new or edited user → may a CompanyAdmin manage it?
COMPANY_ADMIN_MAY_MANAGE = [
    pytest.param(Role.PROJECT_MANAGER, True, id="ProjectManager"),
    pytest.param(Role.OPERATOR, True, id="Operator"),
    pytest.param(Role.COMPANY_ADMIN, False, id="CompanyAdmin"),
    pytest.param(Role.SYSTEM_ADMIN, False, id="SystemAdmin"),
    pytest.param(Role.INTEGRATION, False, id="Integration"),
]


@pytest.mark.parametrize(("role", "allowed"), COMPANY_ADMIN_MAY_MANAGE)
def test_a_company_admin_creates_only_the_roles_below_it(role, allowed, as_user, make_user, company, problem):
    client = as_user(make_user(Role.COMPANY_ADMIN))
    before = snapshot()
    body = new_user_body(role, name="Ann", surname="Lee")

    response = client.post(LIST, body, format="json")

    if not allowed:
        refusal = problem(response, 403, "permission_denied")
        assert f"may not manage {role} users" in refusal["detail"]
        assert "allowed roles: SystemAdmin" in refusal["detail"]
        assert snapshot() == before
        return
    assert response.status_code == 201, response.content
    assert_no_password(response)
    created = response.json()
    assert set(created) == USER_FIELDS
    assert created["email"] == body["email"]
    assert (created["role"], created["name"], created["surname"]) == (role, "Ann", "Lee")
    assert created["company_guid"] == str(company.guid)
    assert created["is_active"] is True
    row = User.objects.get(guid=created["guid"])
    assert (row.company, row.role, row.is_staff, row.is_superuser) == (company, role, False, False)
    assert row.check_password(PASSWORD)
    assert row.password != PASSWORD


@pytest.mark.parametrize(("role", "allowed"), COMPANY_ADMIN_MAY_MANAGE)
@pytest.mark.parametrize(
    "action",
    [
        pytest.param("rename", id="rename"),
        pytest.param("deactivate-by-patch", id="deactivate-by-patch"),
        pytest.param("delete", id="delete"),
        pytest.param("new-password", id="new-password"),
    ],
)
def test_a_company_admin_edits_only_the_roles_below_it(action, role, allowed, as_user, make_user, problem, login):
    target = make_user(role, name="Old")
    client = as_user(make_user(Role.COMPANY_ADMIN))
    before = snapshot()

    if action == "delete":
        response = client.delete(detail(target.guid))
    else:
        changes = {"rename": {"name": "New"}, "deactivate-by-patch": {"is_active": False}}.get(
            action, {"password": NEW_PASSWORD}
        )
        response = client.patch(detail(target.guid), changes, format="json")

    if not allowed:
        refusal = problem(response, 403, "permission_denied")
        assert f"may not manage {role} users" in refusal["detail"]
        assert snapshot() == before
        return
    assert response.status_code == (204 if action == "delete" else 200), response.content
    assert_no_password(response)
    target.refresh_from_db()
    if action == "rename":
        assert response.json()["name"] == "New"
        assert target.name == "New"
    elif action == "new-password":
        assert target.check_password(NEW_PASSWORD)
        assert login(target.email, NEW_PASSWORD) == 200
        assert login(target.email, PASSWORD) == 401
    else:
        assert target.is_active is False
        assert target.deleted_at is not None


@pytest.mark.parametrize(("new_role", "allowed"), COMPANY_ADMIN_MAY_MANAGE)
def test_a_company_admin_gives_only_the_roles_below_it(new_role, allowed, as_user, make_user, problem):
    target = make_user(Role.OPERATOR)
    client = as_user(make_user(Role.COMPANY_ADMIN))
    before = snapshot()

    response = client.patch(detail(target.guid), {"role": new_role}, format="json")

    target.refresh_from_db()
    if not allowed:
        problem(response, 403, "permission_denied")
        assert snapshot() == before
        assert target.role == Role.OPERATOR
        return
    assert response.status_code == 200
    assert response.json()["role"] == new_role
    assert target.role == new_role


@pytest.mark.parametrize("role", ALL_ROLES)
def test_a_system_admin_creates_any_role_in_any_company(role, as_user, make_user, other_company, login):
    client = as_user(make_user(Role.SYSTEM_ADMIN))
    body = new_user_body(role, company_guid=str(other_company.guid))

    response = client.post(LIST, body, format="json")

    assert response.status_code == 201, response.content
    assert_no_password(response)
    assert response.json()["role"] == role
    assert response.json()["company_guid"] == str(other_company.guid)
    row = User.objects.get(guid=response.json()["guid"])
    assert (row.company, row.role) == (other_company, role)
    assert row.is_staff is (role in {Role.SYSTEM_ADMIN, Role.COMPANY_ADMIN})
    assert row.is_superuser is (role == Role.SYSTEM_ADMIN)
    assert login(body["email"], PASSWORD) == 200


@pytest.mark.parametrize("role", ALL_ROLES)
def test_a_system_admin_edits_re_roles_and_deactivates_any_user(role, as_user, make_user, other_company):
    target = make_user(role, company=other_company)
    client = as_user(make_user(Role.SYSTEM_ADMIN))
    new_role = Role.OPERATOR if role != Role.OPERATOR else Role.COMPANY_ADMIN

    patched = client.patch(detail(target.guid), {"role": new_role, "surname": "Moved"}, format="json")
    deleted = client.delete(detail(target.guid))

    assert patched.status_code == 200, patched.content
    assert (patched.json()["role"], patched.json()["surname"]) == (new_role, "Moved")
    assert deleted.status_code == 204
    target.refresh_from_db()
    assert (target.role, target.surname, target.is_active) == (new_role, "Moved", False)
    assert target.is_staff is (new_role == Role.COMPANY_ADMIN)


# --- Editing yourself -------------------------------------------------------------------------


@pytest.mark.parametrize("role", ALL_ROLES)
def test_everyone_edits_their_own_name_surname_and_password(role, as_user, make_user, login):
    me = make_user(role, name="Old", surname="Name")

    response = as_user(me).patch(
        detail(me.guid), {"name": "New", "surname": "Surname", "password": NEW_PASSWORD}, format="json"
    )

    assert response.status_code == 200, response.content
    assert_no_password(response)
    assert (response.json()["name"], response.json()["surname"]) == ("New", "Surname")
    me.refresh_from_db()
    assert (me.name, me.surname, me.role, me.is_active) == ("New", "Surname", role, True)
    assert me.check_password(NEW_PASSWORD)
    assert login(me.email, NEW_PASSWORD) == 200


@pytest.mark.parametrize("role", ALL_ROLES)
def test_everyone_reads_themselves(role, as_user, make_user):
    me = make_user(role, name="Me")

    response = as_user(me).get(detail(me.guid))

    assert response.status_code == 200
    assert_no_password(response)
    assert response.json()["guid"] == str(me.guid)
    assert response.json()["email"] == me.email
    assert response.json()["role"] == role


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        pytest.param({"role": Role.OPERATOR}, "role", id="role"),
        pytest.param({"email": "me.elsewhere@example.com"}, "email", id="email"),
        pytest.param({"is_active": False}, "is_active", id="deactivate"),
        pytest.param({"name": "Ok", "role": Role.OPERATOR}, "role", id="name-and-role"),
    ],
)
@pytest.mark.parametrize("role", ALL_ROLES)
def test_nobody_changes_their_own_role_email_or_active_flag(role, changes, field, as_user, make_user, problem):
    me = make_user(role, name="Me")
    if changes.get("role") == role:  # ask for a role other than one's own
        changes = {**changes, "role": Role.PROJECT_MANAGER}
    before = snapshot()

    response = as_user(me).patch(detail(me.guid), changes, format="json")

    body = problem(response, 403, "self_edit_forbidden")
    assert body["detail"] == f"You may not change your own {field}."
    assert snapshot() == before


@pytest.mark.parametrize("role", ALL_ROLES)
def test_deleting_yourself_is_400(role, as_user, make_user, problem):
    me = make_user(role)
    before = snapshot()

    response = as_user(me).delete(detail(me.guid))

    problem(response, 400, "cannot_deactivate_self")
    assert snapshot() == before
    me.refresh_from_db()
    assert me.is_active is True


def test_a_weak_new_password_is_422_and_keeps_the_old_one(as_user, make_user, problem, login):
    me = make_user(Role.OPERATOR)
    before = snapshot()

    response = as_user(me).patch(detail(me.guid), {"password": "12345678"}, format="json")

    body = problem(response, 422, "validation_error")
    assert {error["pointer"] for error in body["errors"]} == {"/password"}
    assert {error["code"] for error in body["errors"]} == {"weak_password"}
    assert_no_password(response)
    assert b'"12345678"' not in response.content
    assert snapshot() == before
    assert login(me.email, PASSWORD) == 200


# --- Lists ------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", MANAGES_NOBODY)
def test_users_who_manage_nobody_list_only_themselves(role, as_user, make_user, other_company):
    me = make_user(role)
    make_user(Role.OPERATOR)
    make_user(Role.COMPANY_ADMIN)
    make_user(Role.OPERATOR, company=other_company)

    response = as_user(me).get(LIST)
    filtered = as_user(me).get(LIST, {"role": Role.OPERATOR})

    assert response.status_code == 200
    assert [row["guid"] for row in response.json()] == [str(me.guid)]
    assert response["X-Total-Count"] == "1"
    assert filtered.json() == ([response.json()[0]] if role == Role.OPERATOR else [])


def test_a_company_admin_lists_its_company_and_filters(as_user, make_user, other_company):
    admin = make_user(Role.COMPANY_ADMIN)
    operator = make_user(Role.OPERATOR)
    manager = make_user(Role.PROJECT_MANAGER)
    gone = make_user(Role.OPERATOR)
    gone.is_active = False
    gone.save()
    make_user(Role.OPERATOR, company=other_company)
    client = as_user(admin)

    everyone = client.get(LIST)
    operators = client.get(LIST, {"role": "Operator"})
    inactive = client.get(LIST, {"is_active": "false"})
    active_operators = client.get(LIST, {"role": "Operator", "is_active": "true"})

    assert [row["guid"] for row in everyone.json()] == [str(u.guid) for u in (admin, operator, manager, gone)]
    assert [row["guid"] for row in operators.json()] == [str(operator.guid), str(gone.guid)]
    assert [row["guid"] for row in inactive.json()] == [str(gone.guid)]
    assert [row["guid"] for row in active_operators.json()] == [str(operator.guid)]
    for response in (everyone, operators, inactive):
        assert_no_password(response)
        assert all(set(row) == USER_FIELDS for row in response.json())


@pytest.mark.parametrize(
    ("query", "pointer"),
    [
        pytest.param({"role": "Boss"}, "/query/role", id="unknown-role"),
        pytest.param({"is_active": "1"}, "/query/is_active", id="bad-boolean"),
        pytest.param({"email": "x@example.com"}, "/query/email", id="unknown-parameter"),
        pytest.param({"offset": "-1"}, "/query/offset", id="negative-offset"),
        pytest.param({"company_guid": "123"}, "/query/company_guid", id="bad-company-guid"),
    ],
)
def test_bad_list_parameters_are_400(query, pointer, as_user, make_user, problem):
    response = as_user(make_user(Role.COMPANY_ADMIN)).get(LIST, query)

    body = problem(response, 400)
    assert pointer in [error["pointer"] for error in body["errors"]], body


# --- Create: conflicts and bad input ----------------------------------------------------------


@pytest.mark.parametrize(
    "spelling",
    [
        pytest.param(str.lower, id="same-case"),
        pytest.param(str.upper, id="upper-case"),
        pytest.param(str.title, id="title-case"),
        pytest.param(lambda email: f"  {email}  ", id="padded"),
    ],
)
def test_a_taken_email_in_any_case_is_409(spelling, as_user, make_user, other_company, problem):
    taken = make_user(Role.OPERATOR, company=other_company, email="taken@example.com")
    client = as_user(make_user(Role.SYSTEM_ADMIN))
    before = snapshot()

    response = client.post(LIST, new_user_body(email=spelling(taken.email)), format="json")

    problem(response, 409, "email_taken")
    assert snapshot() == before


def test_patching_an_email_onto_a_taken_one_is_409(as_user, make_user, problem):
    make_user(Role.OPERATOR, email="taken@example.com")
    target = make_user(Role.OPERATOR)
    client = as_user(make_user(Role.COMPANY_ADMIN))
    before = snapshot()

    response = client.patch(detail(target.guid), {"email": "TAKEN@example.com"}, format="json")

    problem(response, 409, "email_taken")
    assert snapshot() == before


def test_a_new_email_is_stored_lower_case(as_user, make_user, login):
    target = make_user(Role.OPERATOR)

    response = as_user(make_user(Role.COMPANY_ADMIN)).patch(
        detail(target.guid), {"email": "New.Address@Example.COM"}, format="json"
    )

    assert response.status_code == 200
    assert response.json()["email"] == "new.address@example.com"
    target.refresh_from_db()
    assert target.email == "new.address@example.com"
    assert login("NEW.address@example.com", PASSWORD) == 200


@pytest.mark.parametrize(
    "password",
    [
        pytest.param("short", id="too-short"),
        pytest.param("password", id="common"),
        pytest.param("83920174", id="numeric"),
        pytest.param("", id="empty"),
    ],
)
def test_a_weak_password_is_422_and_creates_nothing(password, as_user, make_user, problem):
    client = as_user(make_user(Role.COMPANY_ADMIN))
    before = snapshot()

    response = client.post(LIST, new_user_body(password=password), format="json")

    body = problem(response, 422, "validation_error")
    assert {error["pointer"] for error in body["errors"]} == {"/password"}
    assert json.dumps(password).encode() not in response.content  # never echoed
    assert snapshot() == before


def test_a_password_like_the_email_is_too_weak(as_user, make_user, problem):
    client = as_user(make_user(Role.COMPANY_ADMIN))
    before = snapshot()

    response = client.post(
        LIST,
        {"email": "margaret.hamilton@example.com", "password": "margaret.hamilton", "role": "Operator"},
        format="json",
    )

    body = problem(response, 422, "validation_error")
    assert [error["code"] for error in body["errors"]] == ["weak_password"]
    assert snapshot() == before


CREATE_ERRORS = [
    pytest.param({"password": PASSWORD, "role": "Operator"}, "/email", "required", id="email-missing"),
    pytest.param({"email": "a@example.com", "role": "Operator"}, "/password", "required", id="password-missing"),
    pytest.param({"email": "a@example.com", "password": PASSWORD}, "/role", "required", id="role-missing"),
    pytest.param(new_user_body(email="not-an-email"), "/email", "invalid_email", id="email-invalid"),
    pytest.param(new_user_body(email=42), "/email", "invalid_string", id="email-number"),
    pytest.param(new_user_body(email=None), "/email", "null", id="email-null"),
    pytest.param(new_user_body(password=12345678901), "/password", "invalid_string", id="password-number"),
    pytest.param(new_user_body(role="Boss"), "/role", "invalid_choice", id="role-unknown"),
    pytest.param(new_user_body(role="operator"), "/role", "invalid_choice", id="role-wrong-case"),
    pytest.param(new_user_body(role=1), "/role", "invalid_choice", id="role-number"),
    pytest.param(new_user_body(name=5), "/name", "invalid_string", id="name-number"),
    pytest.param(new_user_body(surname=False), "/surname", "invalid_string", id="surname-boolean"),
    pytest.param(new_user_body(name="x" * 101), "/name", "max_length", id="name-too-long"),
    pytest.param(new_user_body(company_guid="nope"), "/company_guid", "invalid_uuid", id="company-bad"),
    pytest.param(new_user_body(company_guid=7), "/company_guid", "invalid_uuid", id="company-number"),
    pytest.param(new_user_body(is_active=True), "/is_active", "unknown_field", id="is-active"),
    pytest.param(new_user_body(is_staff=True), "/is_staff", "unknown_field", id="is-staff"),
    pytest.param(new_user_body(is_superuser=True), "/is_superuser", "unknown_field", id="is-superuser"),
    pytest.param(new_user_body(guid=RANDOM_GUID), "/guid", "unknown_field", id="guid"),
    pytest.param(new_user_body(pin="1234"), "/pin", "unknown_field", id="pin"),
]


@pytest.mark.parametrize(("body", "pointer", "code"), CREATE_ERRORS)
def test_create_refuses_invalid_bodies_with_a_pointer(body, pointer, code, as_user, make_user, problem):
    client = as_user(make_user(Role.SYSTEM_ADMIN))
    before = snapshot()

    response = client.post(LIST, body, format="json")

    error = problem(response, 422, "validation_error")
    assert (pointer, code) in [(item["pointer"], item["code"]) for item in error["errors"]], error
    assert snapshot() == before


PATCH_ERRORS = [
    pytest.param({"is_active": "true"}, "/is_active", "invalid_boolean", id="boolean-as-string"),
    pytest.param({"is_active": 1}, "/is_active", "invalid_boolean", id="boolean-as-number"),
    pytest.param({"name": 12}, "/name", "invalid_string", id="name-number"),
    pytest.param({"email": "nope"}, "/email", "invalid_email", id="email-invalid"),
    pytest.param({"email": None}, "/email", "null", id="email-null"),
    pytest.param({"role": "Admin"}, "/role", "invalid_choice", id="role-unknown"),
    pytest.param({"password": None}, "/password", "null", id="password-null"),
    pytest.param({"company_guid": RANDOM_GUID}, "/company_guid", "unknown_field", id="company-not-patchable"),
    pytest.param({"guid": RANDOM_GUID}, "/guid", "unknown_field", id="guid"),
    pytest.param({"created_at": "2026-01-01T00:00:00Z"}, "/created_at", "unknown_field", id="created-at"),
    pytest.param({"is_staff": True}, "/is_staff", "unknown_field", id="is-staff"),
]


@pytest.mark.parametrize(("changes", "pointer", "code"), PATCH_ERRORS)
def test_patch_refuses_invalid_bodies_and_changes_nothing(changes, pointer, code, as_user, make_user, problem):
    target = make_user(Role.OPERATOR)
    client = as_user(make_user(Role.COMPANY_ADMIN))
    before = snapshot()

    response = client.patch(detail(target.guid), changes, format="json")

    body = problem(response, 422, "validation_error")
    assert (pointer, code) in [(error["pointer"], error["code"]) for error in body["errors"]], body
    assert snapshot() == before


@pytest.mark.parametrize(
    ("raw", "content_type", "status", "code"),
    [
        pytest.param('{"email": "a@example.com",', "application/json", 400, "invalid_json", id="truncated"),
        pytest.param("{email: 1}", "application/json", 400, "invalid_json", id="unquoted-key"),
        pytest.param("[]", "application/json", 400, "body_not_object", id="array"),
        pytest.param("null", "application/json", 400, "body_not_object", id="null"),
        pytest.param("email=a@example.com", "text/plain", 415, "unsupported_media_type", id="text"),
    ],
)
@pytest.mark.parametrize("method", ["POST", "PATCH"])
def test_malformed_bodies_write_nothing(method, raw, content_type, status, code, as_user, make_user, problem):
    target = make_user(Role.OPERATOR)
    path = LIST if method == "POST" else detail(target.guid)
    client = as_user(make_user(Role.COMPANY_ADMIN))
    before = snapshot()

    response = client.generic(method, path, raw, content_type=content_type)

    problem(response, status, code)
    assert snapshot() == before


# --- Delete -----------------------------------------------------------------------------------


def test_delete_deactivates_keeps_the_row_and_refuses_the_user(as_user, make_user, problem, login):
    target = make_user(Role.PROJECT_MANAGER)
    their_client = as_user(target)  # a token issued before the deactivation
    admin = as_user(make_user(Role.COMPANY_ADMIN))

    response = admin.delete(detail(target.guid))

    assert response.status_code == 204
    assert response.content == b""
    target.refresh_from_db()
    assert target.is_active is False
    assert target.deleted_at is not None
    assert User.objects.filter(pk=target.pk).exists()
    problem(their_client.get("/api/v1/auth/me"), 401)
    assert login(target.email, PASSWORD) == 401
    shown = admin.get(detail(target.guid))
    assert shown.status_code == 200
    assert shown.json()["is_active"] is False


def test_a_deactivated_user_can_be_reactivated_by_patch(as_user, make_user, login):
    target = make_user(Role.OPERATOR)
    admin = as_user(make_user(Role.COMPANY_ADMIN))
    admin.delete(detail(target.guid))

    response = admin.patch(detail(target.guid), {"is_active": True}, format="json")

    assert response.status_code == 200
    assert response.json()["is_active"] is True
    target.refresh_from_db()
    assert (target.is_active, target.deleted_at) == (True, None)
    assert login(target.email, PASSWORD) == 200


def test_deleting_twice_keeps_the_first_timestamp(as_user, make_user):
    target = make_user(Role.OPERATOR)
    admin = as_user(make_user(Role.COMPANY_ADMIN))
    admin.delete(detail(target.guid))
    before = snapshot()

    response = admin.delete(detail(target.guid))

    assert response.status_code == 204
    assert snapshot() == before


# --- Paths ------------------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["get", "patch", "delete"])
@pytest.mark.parametrize("segment", ["me", "not-a-uuid", "1", "0d9e6a55-3c1b-4f7a-8e42-6a1f0b2c9d7", RANDOM_GUID])
def test_a_path_that_names_no_user_is_404(method, segment, as_user, make_user, problem):
    client = as_user(make_user(Role.SYSTEM_ADMIN))
    before = snapshot()

    response = getattr(client, method)(detail(segment), {"name": "x"} if method == "patch" else None, format="json")

    problem(response, 404, "not_found")
    assert snapshot() == before


# --- Tenant isolation -------------------------------------------------------------------------


@pytest.mark.parametrize("operation", ["get", "patch", "delete"])
@pytest.mark.parametrize("caller", ["CompanyAdmin", "ProjectManager", "key:sync:read", "key:sync:write"])
def test_another_companys_user_answers_exactly_like_a_random_guid(
    caller, operation, client_as, make_user, other_company
):
    theirs = make_user(Role.OPERATOR, company=other_company, name="Theirs")
    client, _ = client_as(caller)
    before = snapshot()

    def ask(guid):
        if operation == "patch":
            return client.patch(detail(guid), {"name": "Stolen"}, format="json")
        return getattr(client, operation)(detail(guid))

    foreign, missing = ask(theirs.guid), ask(RANDOM_GUID)

    expected = 403 if caller.startswith("key:") else 404
    assert foreign.status_code == missing.status_code == expected
    assert {k: v for k, v in foreign.json().items() if k != "request_id"} == {
        k: v for k, v in missing.json().items() if k != "request_id"
    }
    assert theirs.email.encode() not in foreign.content
    assert snapshot() == before


@pytest.mark.parametrize("role", [Role.COMPANY_ADMIN, *MANAGES_NOBODY])
@pytest.mark.parametrize("path_kind", ["list", "detail"])
def test_naming_another_company_is_403_for_everyone_but_a_system_admin(
    role, path_kind, as_user, make_user, other_company, problem
):
    me = make_user(role)
    path = LIST if path_kind == "list" else detail(me.guid)

    response = as_user(me).get(path, {"company_guid": str(other_company.guid)})

    problem(response, 403, "company_mismatch")


@pytest.mark.parametrize("role", [Role.COMPANY_ADMIN, *MANAGES_NOBODY])
def test_naming_your_own_company_is_allowed(role, as_user, make_user, company):
    me = make_user(role)

    listed = as_user(me).get(LIST, {"company_guid": company.guid.hex})
    shown = as_user(me).get(detail(me.guid), {"company_guid": str(company.guid)})

    assert listed.status_code == 200
    assert str(me.guid) in [row["guid"] for row in listed.json()]
    assert shown.status_code == 200
    assert shown.json()["guid"] == str(me.guid)


def test_a_system_admin_sees_every_company_and_narrows_with_company_guid(
    as_user, make_user, company, other_company, problem
):
    admin = make_user(Role.SYSTEM_ADMIN)
    mine = make_user(Role.OPERATOR)
    theirs = make_user(Role.OPERATOR, company=other_company)
    client = as_user(admin)

    everyone = client.get(LIST)
    narrowed = client.get(LIST, {"company_guid": str(other_company.guid)})
    own = client.get(LIST, {"company_guid": str(company.guid)})
    unknown = client.get(LIST, {"company_guid": RANDOM_GUID})
    foreign = client.get(detail(theirs.guid))

    assert [row["guid"] for row in everyone.json()] == [str(admin.guid), str(mine.guid), str(theirs.guid)]
    assert [row["guid"] for row in narrowed.json()] == [str(theirs.guid)]
    assert [row["guid"] for row in own.json()] == [str(admin.guid), str(mine.guid)]
    problem(unknown, 404, "company_not_found")
    assert foreign.status_code == 200
    assert foreign.json()["company_guid"] == str(other_company.guid)


def test_a_company_admin_cannot_create_a_user_in_another_company(as_user, make_user, other_company, problem):
    client = as_user(make_user(Role.COMPANY_ADMIN))
    before = snapshot()

    response = client.post(LIST, new_user_body(company_guid=str(other_company.guid)), format="json")

    problem(response, 403, "company_mismatch")
    assert snapshot() == before


def test_a_company_admin_may_name_its_own_company_when_creating(as_user, make_user, company):
    response = as_user(make_user(Role.COMPANY_ADMIN)).post(
        LIST, new_user_body(company_guid=str(company.guid).upper()), format="json"
    )

    assert response.status_code == 201
    assert User.objects.get(guid=response.json()["guid"]).company == company


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
    client = as_user(make_user(Role.SYSTEM_ADMIN))
    before = snapshot()

    response = client.post(LIST, new_user_body(company_guid=guid), format="json")

    body = problem(response, 422, "validation_error")
    assert [(error["pointer"], error["code"]) for error in body["errors"]] == [("/company_guid", "company_not_found")]
    assert snapshot() == before
