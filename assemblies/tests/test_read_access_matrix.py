"""Who may list, read, delete and restore the five entities, and tenant isolation:
another company's rows are 404 exactly like rows that do not exist, and stay unchanged."""

from __future__ import annotations

import pytest

from conftest import without_request_id
from sync.tests.factories import MODELS, new_guid, snapshot_all
from tenants.roles import Role

PLURALS = list(MODELS)
OPERATIONS = ("list", "detail", "delete", "restore")
CALLERS = (
    "SystemAdmin",
    "CompanyAdmin",
    "ProjectManager",
    "Operator",
    "Integration",
    "key sync:read",
    "key sync:write",
    "no credential",
)
R, W = 200, 204
# caller → (list, detail, delete, restore): any active user or key may read; delete and restore
# need a sync:write key or a SystemAdmin, CompanyAdmin, ProjectManager or Integration user
EXPECTED = {
    "SystemAdmin": (R, R, W, W),
    "CompanyAdmin": (R, R, W, W),
    "ProjectManager": (R, R, W, W),
    "Operator": (R, R, 403, 403),
    "Integration": (R, R, W, W),
    "key sync:read": (R, R, 403, 403),
    "key sync:write": (R, R, W, W),
    "no credential": (401, 401, 401, 401),
}
MATRIX = [
    pytest.param(caller, operation, EXPECTED[caller][index], id=f"{caller}-{operation}")
    for caller in CALLERS
    for index, operation in enumerate(OPERATIONS)
]


@pytest.fixture
def make_caller(make_user, make_api_key, as_user, as_key):
    """A client for one of ``CALLERS`` of ``company``."""
    from rest_framework.test import APIClient

    def make(name: str, company):
        if name == "no credential":
            return APIClient()
        if name.startswith("key "):
            return as_key(make_api_key(scopes=[name.removeprefix("key ")], company=company)[1])
        return as_user(make_user(name, company=company))

    return make


def request(client, operation: str, plural: str, guid: str, query: str = ""):
    if operation == "list":
        return client.get(f"/api/v1/{plural}{query}")
    if operation == "detail":
        return client.get(f"/api/v1/{plural}/{guid}{query}")
    if operation == "delete":
        return client.delete(f"/api/v1/{plural}/{guid}{query}")
    return client.post(f"/api/v1/{plural}/{guid}/restore{query}")


@pytest.mark.parametrize("plural", PLURALS)
@pytest.mark.parametrize(("caller", "operation", "status"), MATRIX)
def test_access_matrix(writer, make_caller, company, problem, plural, caller, operation, status):
    tree = writer.tree(pieces=1, articles=1, loose_pieces=1)
    guid = tree.first(plural)
    if operation == "restore":
        assert writer.client.delete(f"/api/v1/{plural}/{guid}").status_code == 204
    client = make_caller(caller, company)
    model = MODELS[plural]
    before = snapshot_all()

    response = request(client, operation, plural, guid)

    if status == 200:
        assert response.status_code == 200, response.content
        body = response.json()
        if operation == "list":
            assert guid in [entry["guid"] for entry in body]
        else:
            assert body["guid"] == guid
            assert body["company_guid"] == str(company.guid)
        assert snapshot_all() == before
    elif status == 204:
        assert response.status_code == 204, response.content
        stored = model.objects.get(company=company, guid=guid)
        assert stored.is_active is (operation == "restore")
        assert (stored.deleted_at is None) is (operation == "restore")
    else:
        body = problem(response, status)
        assert snapshot_all() == before
        if status == 401:
            assert body["code"] == "not_authenticated"
            assert response["WWW-Authenticate"] == 'Bearer realm="ractory"'
        else:
            # the refusal names what is missing: the scope for a key, the allowed roles for a user
            if caller.startswith("key "):
                assert "sync:write" in body["detail"]
            else:
                assert "ProjectManager" in body["detail"]
                assert "Integration" in body["detail"]


# --- cross-company ---------------------------------------------------------------------------------

# Company A's callers (a SystemAdmin narrowed to company A by company_guid counts as one).
A_CALLERS = [caller for caller in CALLERS if caller not in ("no credential",)]


@pytest.mark.parametrize("plural", PLURALS)
@pytest.mark.parametrize("caller", A_CALLERS)
def test_another_companys_rows_are_404_like_missing_ones_and_stay_unchanged(
    writer, other_writer, make_caller, company, problem, plural, caller
):
    writer.tree(pieces=1, articles=1)
    theirs = other_writer.tree(pieces=1, articles=1)
    deleted = other_writer.tree(pieces=1, articles=1)  # their row that is soft-deleted
    deleted_guid = deleted.first(plural)
    assert other_writer.client.delete(f"/api/v1/{plural}/{deleted_guid}").status_code == 204
    client = make_caller(caller, company)
    narrow = f"?company_guid={company.guid}" if caller == "SystemAdmin" else ""
    flag = "&" if narrow else "?"
    statuses = dict(zip(OPERATIONS, EXPECTED[caller], strict=True))
    before = snapshot_all()

    attempts = [
        ("detail", theirs.first(plural), narrow),
        ("detail", deleted_guid, f"{narrow}{flag}include_inactive=true"),
        ("delete", theirs.first(plural), narrow),
        ("delete", deleted_guid, narrow),
        ("restore", deleted_guid, narrow),
        ("restore", theirs.first(plural), narrow),
    ]
    for operation, guid, query in attempts:
        expected = 404 if statuses[operation] in (200, 204) else statuses[operation]
        found = problem(request(client, operation, plural, guid, query), expected)
        missing = problem(request(client, operation, plural, new_guid(), query), expected)
        assert without_request_id(found) == without_request_id(missing), (operation, found, missing)
        if expected == 404:
            assert found["code"] == "not_found"

    # their rows are not listed either
    listed = client.get(f"/api/v1/{plural}{narrow}{flag}include_inactive=true")
    assert listed.status_code == 200
    assert {entry["company_guid"] for entry in listed.json()} == {str(company.guid)}
    assert snapshot_all() == before


@pytest.mark.parametrize(
    ("plural", "parameter", "parent"),
    [
        ("components", "project_guid", "project"),
        ("assemblies", "component_guid", "component"),
        ("pieces", "assembly_guid", "assembly"),
        ("articles", "project_guid", "project"),
    ],
)
@pytest.mark.parametrize("caller", A_CALLERS)
def test_another_companys_parent_in_a_list_filter_is_404_like_a_missing_one(
    writer, other_writer, make_caller, company, problem, plural, parameter, parent, caller
):
    writer.tree(pieces=1, articles=1)
    theirs = other_writer.tree(pieces=1, articles=1)
    client = make_caller(caller, company)
    narrow = f"&company_guid={company.guid}" if caller == "SystemAdmin" else ""
    their_guid = getattr(theirs, parent)
    missing_guid = new_guid()

    found = problem(client.get(f"/api/v1/{plural}?{parameter}={their_guid}{narrow}"), 404, "parent_not_found")
    missing = problem(client.get(f"/api/v1/{plural}?{parameter}={missing_guid}{narrow}"), 404, "parent_not_found")

    assert found["detail"].replace(their_guid, "<guid>") == missing["detail"].replace(missing_guid, "<guid>")
    assert without_request_id({**found, "detail": ""}) == without_request_id({**missing, "detail": ""})


def test_a_system_admin_without_company_guid_reaches_other_companies(
    other_writer, make_user, as_user, company, other_company
):
    theirs = other_writer.tree(pieces=1, articles=1)
    admin = as_user(make_user(Role.SYSTEM_ADMIN, company=company))
    assert admin.get(f"/api/v1/pieces/{theirs.pieces[0]}").json()["company_guid"] == str(other_company.guid)
    assert admin.delete(f"/api/v1/pieces/{theirs.pieces[0]}").status_code == 204
    assert MODELS["pieces"].objects.get(company=other_company, guid=theirs.pieces[0]).is_active is False
    assert admin.post(f"/api/v1/pieces/{theirs.pieces[0]}/restore").status_code == 204
    assert MODELS["pieces"].objects.get(company=other_company, guid=theirs.pieces[0]).is_active is True
