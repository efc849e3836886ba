"""DELETE and restore of the five entities: one stamp per cascade, exact restore, 404/409 rules,
audit events and query counts.

Every test compares every column of every row of every production table, of both companies,
before and after the request: the rows the request should change must have changed exactly so,
and every other row must be byte-for-byte the same.
"""

from __future__ import annotations

import re
import uuid

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from assemblies.models import AuditEvent
from sync.tests.factories import MODELS, SyncClient, new_guid, snapshot_all
from tenants.roles import Role

# name, plural, parents (by name): the tree of the brief plus an unrelated project Q.
NODES = [
    ("P", "projects", {}),
    ("Q", "projects", {}),
    ("C1", "components", {"project": "P"}),
    ("C2", "components", {"project": "P"}),
    ("QC", "components", {"project": "Q"}),
    ("A1", "assemblies", {"project": "P", "component": "C1"}),
    ("A2", "assemblies", {"project": "P", "component": "C1"}),
    ("A3", "assemblies", {"project": "P", "component": "C2"}),
    ("QA", "assemblies", {"project": "Q", "component": "QC"}),
    ("p1", "pieces", {"project": "P", "component": "C1", "assembly": "A1"}),
    ("p2", "pieces", {"project": "P", "component": "C1", "assembly": "A1"}),
    ("p3", "pieces", {"project": "P", "component": "C1", "assembly": "A2"}),
    ("l1", "pieces", {"project": "P", "component": "C1", "assembly": None}),
    ("l2", "pieces", {"project": "P", "component": "C1", "assembly": None}),
    ("p4", "pieces", {"project": "P", "component": "C2", "assembly": "A3"}),
    ("l3", "pieces", {"project": "P", "component": "C2", "assembly": None}),
    ("qp", "pieces", {"project": "Q", "component": "QC", "assembly": "QA"}),
    ("ql", "pieces", {"project": "Q", "component": "QC", "assembly": None}),
    ("a1", "articles", {"project": "P", "component": "C1"}),
    ("a2", "articles", {"project": "P", "component": "C1"}),
    ("a3", "articles", {"project": "P", "component": "C2"}),
    ("qa", "articles", {"project": "Q", "component": "QC"}),
]
PLURAL = {name: plural for name, plural, _parents in NODES}
PARENTS = {name: parents for name, _plural, parents in NODES}
ENTITY = {"projects": "project", "components": "component", "assemblies": "assembly", "pieces": "piece"}
ENTITY["articles"] = "article"


def descendants(root: str) -> set[str]:
    """The rows a soft delete of ``root`` cascades to: every row linking to it."""
    return {name for name, parents in PARENTS.items() if root in parents.values()}


def build(writer: SyncClient, guids: dict[str, str]) -> None:
    """Write the tree through the sync API, one request per entity, with the given guids."""
    for plural in MODELS:
        items = []
        for name, node_plural, parents in NODES:
            if node_plural != plural:
                continue
            links = {f"{parent}_guid": guids[value] for parent, value in parents.items() if value is not None}
            items.append(writer.new(plural, guid=guids[name], **links))
        assert writer.ok(plural, items)["inserted"] == len(items)


@pytest.fixture
def client(key, as_key):
    return as_key(key[1])


@pytest.fixture
def tree(writer, other_writer) -> dict[str, str]:
    """Our tree; the other company holds a tree with exactly the same guids."""
    guids = {name: new_guid() for name in PLURAL}
    build(writer, guids)
    build(other_writer, guids)
    return guids


def url(tree: dict, name: str, action: str = "") -> str:
    return f"/api/v1/{PLURAL[name]}/{tree[name]}{action}"


def key_of(tree: dict, name: str, company) -> tuple[str, tuple[int, uuid.UUID]]:
    return PLURAL[name], (company.pk, uuid.UUID(tree[name]))


def changed_columns(old: dict, new: dict) -> set[str]:
    return {column for column in old if old[column] != new[column]}


def assert_only_these_changed(before: dict, after: dict, changed: set[tuple[str, tuple]]) -> None:
    """Every row of every table is unchanged except those in ``changed``, which only changed their
    soft-delete state and ``updated_at``."""
    for plural in MODELS:
        assert set(after[plural]) == set(before[plural]), plural
        for row_key, old in before[plural].items():
            new = after[plural][row_key]
            if (plural, row_key) in changed:
                assert changed_columns(old, new) <= {"is_active", "deleted_at", "updated_at"}, (plural, row_key)
                assert {"is_active", "deleted_at"} <= changed_columns(old, new), (plural, row_key)
                assert new["updated_at"] > old["updated_at"], (plural, row_key)
            else:
                assert new == old, (plural, row_key)


def audit_events():
    return list(AuditEvent.objects.order_by("id").values())


# --- DELETE -----------------------------------------------------------------------------------------

# root, rows deleted separately earlier (each with its own DELETE, in this order)
DELETE_CASES = {
    "project": ("P", ["A2", "a3"]),
    "project-fresh": ("P", []),
    "component": ("C1", ["p1", "A2"]),
    "component-fresh": ("C2", []),
    "assembly": ("A1", ["p2"]),
    "loose-piece": ("l1", []),
    "piece-in-assembly": ("p4", []),
    "article": ("a1", []),
}


@pytest.mark.parametrize(("root", "earlier"), DELETE_CASES.values(), ids=DELETE_CASES.keys())
def test_delete_stamps_the_row_and_every_active_descendant_with_one_timestamp(
    tree, client, key, company, root, earlier
):
    for name in earlier:
        assert client.delete(url(tree, name)).status_code == 204
    before = snapshot_all()
    events_before = audit_events()
    expected = {root} | descendants(root)
    already_gone = {name for name in expected if not before[PLURAL[name]][key_of(tree, name, company)[1]]["is_active"]}
    assert already_gone == ({n for e in earlier for n in {e} | descendants(e)} & expected)
    touched = {key_of(tree, name, company) for name in expected - already_gone}

    start = timezone.now()
    response = client.delete(url(tree, root), HTTP_X_REQUEST_ID="delete-req-1")
    end = timezone.now()

    assert response.status_code == 204
    assert response.content == b""
    after = snapshot_all()
    assert_only_these_changed(before, after, touched)
    stamps = {after[plural][row_key]["deleted_at"] for plural, row_key in touched}
    assert len(stamps) == 1  # ONE timestamp for the whole cascade
    [stamp] = stamps
    assert start <= stamp <= end
    for plural, row_key in touched:
        assert after[plural][row_key]["is_active"] is False
    for name in already_gone:  # deleted earlier: they keep their own stamp
        plural, row_key = key_of(tree, name, company)
        assert after[plural][row_key]["deleted_at"] == before[plural][row_key]["deleted_at"] != stamp

    events = audit_events()
    assert len(events) == len(events_before) + 1
    event = events[-1]
    assert event["company_id"] == company.pk
    assert event["actor_api_key_id"] == key[0].pk
    assert event["actor_user_id"] is None
    assert event["action"] == "soft_delete"
    assert event["entity"] == ENTITY[PLURAL[root]]
    assert event["target_guid"] == uuid.UUID(tree[root])
    assert event["rows_touched"] == len(touched)
    assert event["request_id"] == "delete-req-1" == response["X-Request-ID"]
    assert start <= event["created_at"] <= end


@pytest.mark.parametrize("name", ["P", "C1", "A1", "p1", "l1", "a1"])
def test_deleting_an_inactive_row_is_404_and_restamps_nothing(tree, client, problem, name):
    assert client.delete(url(tree, "P")).status_code == 204  # everything of P is inactive now
    before = snapshot_all()
    events_before = audit_events()

    problem(client.delete(url(tree, name)), 404, "not_found")
    problem(client.delete(url(tree, name) + "?include_inactive=true"), 404, "not_found")

    assert snapshot_all() == before
    assert audit_events() == events_before


def test_deleting_an_unknown_guid_is_404(tree, client, problem):
    before = snapshot_all()
    problem(client.delete(f"/api/v1/projects/{new_guid()}"), 404, "not_found")
    problem(client.delete(f"/api/v1/pieces/{tree['P']}"), 404, "not_found")  # a project's guid as a piece
    assert snapshot_all() == before
    assert audit_events() == []


# --- restore ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(("root", "earlier"), DELETE_CASES.values(), ids=DELETE_CASES.keys())
def test_restore_brings_back_the_row_and_exactly_the_descendants_deleted_with_it(
    tree, client, key, company, root, earlier
):
    for name in earlier:
        assert client.delete(url(tree, name)).status_code == 204
    before_delete = snapshot_all()
    assert client.delete(url(tree, root)).status_code == 204
    before = snapshot_all()
    stamp = before[PLURAL[root]][key_of(tree, root, company)[1]]["deleted_at"]
    expected = {root} | descendants(root)
    with_root = {
        name for name in expected if before[PLURAL[name]][key_of(tree, name, company)[1]]["deleted_at"] == stamp
    }
    earlier_rows = {n for e in earlier for n in {e} | descendants(e)} & expected
    assert with_root == expected - earlier_rows
    touched = {key_of(tree, name, company) for name in with_root}
    events_before = audit_events()

    start = timezone.now()
    response = client.post(url(tree, root, "/restore"), HTTP_X_REQUEST_ID="restore-req-1")
    end = timezone.now()

    assert response.status_code == 204
    assert response.content == b""
    after = snapshot_all()
    assert_only_these_changed(before, after, touched)
    for plural, row_key in touched:
        assert after[plural][row_key]["is_active"] is True
        assert after[plural][row_key]["deleted_at"] is None
        # back to the state before the delete, but for updated_at
        restored = {column: value for column, value in after[plural][row_key].items() if column != "updated_at"}
        original = {column: value for column, value in before_delete[plural][row_key].items() if column != "updated_at"}
        assert restored == original
    for name in earlier_rows:  # deleted separately earlier: still deleted, own stamp
        plural, row_key = key_of(tree, name, company)
        assert after[plural][row_key]["is_active"] is False
        assert after[plural][row_key]["deleted_at"] == before_delete[plural][row_key]["deleted_at"]

    events = audit_events()
    assert len(events) == len(events_before) + 1
    event = events[-1]
    assert event["action"] == "restore"
    assert event["company_id"] == company.pk
    assert event["actor_api_key_id"] == key[0].pk
    assert event["actor_user_id"] is None
    assert event["entity"] == ENTITY[PLURAL[root]]
    assert event["target_guid"] == uuid.UUID(tree[root])
    assert event["rows_touched"] == len(touched)
    assert event["request_id"] == "restore-req-1"
    assert start <= event["created_at"] <= end

    # The rows deleted earlier can now be restored in turn (their parents are active again).
    for name in reversed(earlier):
        assert client.post(url(tree, name, "/restore")).status_code == 204
    final = snapshot_all()
    for plural in MODELS:
        for row_key, values in final[plural].items():
            assert values["is_active"] is True, (plural, row_key)


@pytest.mark.parametrize(
    ("deleted", "target"),
    [
        (["C1", "P"], "C1"),  # the component deleted first, then its project: the project is inactive
        (["A1"], "p1"),  # a piece deleted with its assembly
        (["C1"], "A1"),
        (["C1"], "a1"),
        (["C1"], "l1"),
        (["P"], "l1"),
        (["P"], "C2"),
        (["p3", "A2"], "p3"),  # deleted separately, then its assembly
    ],
)
def test_restoring_a_row_whose_parent_is_inactive_is_409_and_changes_nothing(tree, client, problem, deleted, target):
    for name in deleted:
        assert client.delete(url(tree, name)).status_code == 204
    before = snapshot_all()
    events_before = audit_events()

    body = problem(client.post(url(tree, target, "/restore")), 409, "parent_inactive")
    assert "restore" in body["detail"]

    assert snapshot_all() == before
    assert audit_events() == events_before


@pytest.mark.parametrize("name", ["P", "C1", "A1", "p1", "a1"])
def test_restoring_an_active_or_unknown_row_is_404(tree, client, problem, name):
    before = snapshot_all()
    problem(client.post(url(tree, name, "/restore")), 404, "not_found")
    problem(client.post(f"/api/v1/{PLURAL[name]}/{new_guid()}/restore"), 404, "not_found")
    assert snapshot_all() == before
    assert audit_events() == []


def test_a_second_restore_is_404(tree, client, problem):
    assert client.delete(url(tree, "C1")).status_code == 204
    assert client.post(url(tree, "C1", "/restore")).status_code == 204
    before = snapshot_all()
    problem(client.post(url(tree, "C1", "/restore")), 404)
    assert snapshot_all() == before
    assert [event["action"] for event in audit_events()] == ["soft_delete", "restore"]


def test_restore_uses_the_exact_stamp_not_a_neighbouring_one(tree, client, company):
    """Two deletes in a row get two different stamps; restoring the second leaves the first."""
    assert client.delete(url(tree, "A1")).status_code == 204
    assert client.delete(url(tree, "C1")).status_code == 204
    snap = snapshot_all()
    a1 = snap["assemblies"][key_of(tree, "A1", company)[1]]["deleted_at"]
    c1 = snap["components"][key_of(tree, "C1", company)[1]]["deleted_at"]
    assert a1 < c1

    assert client.post(url(tree, "C1", "/restore")).status_code == 204

    after = snapshot_all()
    for name in ["C1", "A2", "p3", "l1", "l2", "a1", "a2"]:
        plural, row_key = key_of(tree, name, company)
        assert after[plural][row_key]["is_active"] is True, name
    for name in ["A1", "p1", "p2"]:
        plural, row_key = key_of(tree, name, company)
        assert after[plural][row_key]["is_active"] is False, name
        assert after[plural][row_key]["deleted_at"] == a1


# --- actors -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", [Role.SYSTEM_ADMIN, Role.COMPANY_ADMIN, Role.PROJECT_MANAGER, Role.INTEGRATION])
def test_audit_events_name_the_user_who_deleted_and_restored(tree, make_user, as_user, company, role):
    user = make_user(role)
    caller = as_user(user)
    query = f"?company_guid={company.guid}" if role == Role.SYSTEM_ADMIN else ""  # the guid is in both companies

    deleted = caller.delete(url(tree, "C2") + query)
    restored = caller.post(url(tree, "C2", "/restore") + query)

    assert deleted.status_code == restored.status_code == 204
    events = audit_events()
    assert [event["action"] for event in events] == ["soft_delete", "restore"]
    for event, response in zip(events, (deleted, restored), strict=True):
        assert event["actor_user_id"] == user.pk
        assert event["actor_api_key_id"] is None
        assert event["company_id"] == company.pk
        assert event["entity"] == "component"
        assert event["target_guid"] == uuid.UUID(tree["C2"])
        assert event["rows_touched"] == 1 + len(descendants("C2"))  # A3, p4, l3, a3
        assert event["request_id"] == response["X-Request-ID"]
    assert len(descendants("C2")) == 4


# --- SystemAdmin and guids present in two companies ---------------------------------------------------


def test_system_admin_delete_and_restore_of_a_guid_of_two_companies(
    tree, make_user, as_user, problem, company, other_company
):
    admin = as_user(make_user(Role.SYSTEM_ADMIN))
    before = snapshot_all()

    problem(admin.delete(url(tree, "C1")), 409, "ambiguous_guid")
    assert snapshot_all() == before
    assert audit_events() == []

    assert admin.delete(url(tree, "C1") + f"?company_guid={other_company.guid}").status_code == 204
    after = snapshot_all()
    theirs = {key_of(tree, name, other_company) for name in {"C1"} | descendants("C1")}
    assert_only_these_changed(before, after, theirs)
    [event] = audit_events()
    assert event["company_id"] == other_company.pk

    # only their row is inactive now, so a restore without company_guid is not ambiguous
    assert admin.post(url(tree, "C1", "/restore")).status_code == 204
    restored = snapshot_all()
    assert_only_these_changed(after, restored, theirs)
    for plural, row_key in theirs:
        assert restored[plural][row_key]["is_active"] is True

    # both deleted: the restore must name the company
    assert admin.delete(url(tree, "C1") + f"?company_guid={company.guid}").status_code == 204
    assert admin.delete(url(tree, "C1") + f"?company_guid={other_company.guid}").status_code == 204
    both = snapshot_all()
    problem(admin.post(url(tree, "C1", "/restore")), 409, "ambiguous_guid")
    assert snapshot_all() == both
    assert admin.post(url(tree, "C1", "/restore") + f"?company_guid={company.guid}").status_code == 204
    ours = {key_of(tree, name, company) for name in {"C1"} | descendants("C1")}
    assert_only_these_changed(both, snapshot_all(), ours)


def test_same_guid_in_another_company_is_untouched_by_a_delete(tree, client, other_company):
    assert client.delete(url(tree, "P")).status_code == 204
    for plural, rows in snapshot_all(other_company).items():
        assert rows, plural
        for values in rows.values():
            assert values["is_active"] is True
            assert values["deleted_at"] is None


# --- query counts -----------------------------------------------------------------------------------


def statements(queries) -> list[str]:
    return [re.sub(r"^\d+ times: ", "", query["sql"]) for query in queries.captured_queries]


@pytest.mark.parametrize(("root_plural", "root_of"), [("projects", "project"), ("components", "component")])
def test_delete_and_restore_queries_do_not_grow_with_the_descendants(writer, make_user, as_user, root_plural, root_of):
    caller = as_user(make_user(Role.COMPANY_ADMIN))
    measured = {"delete": [], "restore": []}
    updates = {"delete": [], "restore": []}
    for size in (10, 200):
        small = writer.tree(pieces=size, articles=size, loose_pieces=size)
        root = getattr(small, root_of)
        with CaptureQueriesContext(connection) as queries:
            assert caller.delete(f"/api/v1/{root_plural}/{root}").status_code == 204
        measured["delete"].append(len(queries.captured_queries))
        updates["delete"].append([sql for sql in statements(queries) if sql.lstrip().upper().startswith("UPDATE")])
        assert MODELS["pieces"].objects.filter(component__guid=small.component, is_active=False).count() == 2 * size

        with CaptureQueriesContext(connection) as queries:
            assert caller.post(f"/api/v1/{root_plural}/{root}/restore").status_code == 204
        measured["restore"].append(len(queries.captured_queries))
        updates["restore"].append([sql for sql in statements(queries) if sql.lstrip().upper().startswith("UPDATE")])
        assert MODELS["pieces"].objects.filter(component__guid=small.component, is_active=True).count() == 2 * size

    assert measured["delete"][0] == measured["delete"][1], measured
    assert measured["restore"][0] == measured["restore"][1], measured
    tables = 5 if root_plural == "projects" else 4  # the root's table plus one per descendant table
    for action in ("delete", "restore"):
        for found in updates[action]:
            assert len(found) == tables, found
