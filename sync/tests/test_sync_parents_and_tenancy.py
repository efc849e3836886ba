"""Parent links and tenant isolation of the Ractory sync endpoints."""

from __future__ import annotations

import uuid

import pytest

from assemblies.models import AuditEvent
from sync.models import SyncRun
from tenants.models import Company
from tenants.roles import Role

from .factories import MODELS, SyncClient, new_guid, row, snapshot_all

LINK_PARENTS = {"project_guid": "projects", "component_guid": "components", "assembly_guid": "assemblies"}


def links_of(plural: str, tree) -> dict:
    return {
        "components": {"project_guid": tree.project},
        "assemblies": {"project_guid": tree.project, "component_guid": tree.component},
        "pieces": {"project_guid": tree.project, "component_guid": tree.component, "assembly_guid": tree.assembly},
        "articles": {"project_guid": tree.project, "component_guid": tree.component},
    }[plural]


def tree_guid(tree, link: str) -> str:
    return getattr(tree, link.removesuffix("_guid"))


def everything(*companies) -> dict:
    return {company.pk: snapshot_all(company) for company in companies}


LINKS = [
    ("components", "project_guid"),
    ("assemblies", "project_guid"),
    ("assemblies", "component_guid"),
    ("pieces", "project_guid"),
    ("pieces", "component_guid"),
    ("pieces", "assembly_guid"),
    ("articles", "project_guid"),
    ("articles", "component_guid"),
]


# --- parent_not_found ---------------------------------------------------------------------------


@pytest.mark.parametrize(("plural", "link"), LINKS)
def test_a_parent_of_another_company_is_indistinguishable_from_a_missing_one(
    writer, other_writer, company, other_company, problem, plural, link
):
    tree = writer.tree(pieces=0, articles=0)
    foreign = other_writer.tree(pieces=0, articles=0)
    before = everything(company, other_company)
    answers = {}
    for case, parent in (("missing", new_guid()), ("foreign", tree_guid(foreign, link))):
        item = writer.new(plural, guid=None, **{**links_of(plural, tree), link: parent})
        body = problem(writer.post(plural, [item]), 422, "validation_error")
        assert body["errors"] == [
            {
                "pointer": f"/{plural}/0/{link}",
                "code": "parent_not_found",
                "detail": f"No {link.removesuffix('_guid')} {parent} in this company.",
            }
        ]
        answers[case] = {k: v for k, v in body.items() if k != "request_id"}
        answers[case]["errors"] = [{**e, "detail": e["detail"].replace(parent, "<guid>")} for e in body["errors"]]

    assert answers["missing"] == answers["foreign"]
    assert everything(company, other_company) == before


def test_a_parent_missing_on_update_is_not_found_as_well(writer, company, problem):
    tree = writer.tree(pieces=1, articles=0)
    before = snapshot_all(company)

    response = writer.post("pieces", [writer.item("pieces", guid=tree.pieces[0], assembly_guid=new_guid())])

    body = problem(response, 422, "validation_error")
    assert [(e["pointer"], e["code"]) for e in body["errors"]] == [("/pieces/0/assembly_guid", "parent_not_found")]
    assert snapshot_all(company) == before


# --- parent_inactive ----------------------------------------------------------------------------


@pytest.mark.parametrize(("plural", "link"), LINKS)
def test_a_deleted_parent_is_refused(writer, company, problem, plural, link):
    tree = writer.tree(pieces=0, articles=0)
    parent_plural = LINK_PARENTS[link]
    writer.ok(parent_plural, [writer.item(parent_plural, guid=tree_guid(tree, link), is_active=False)])
    before = snapshot_all(company)
    item = writer.new(plural, guid=None, **links_of(plural, tree))

    response = writer.post(plural, [item])

    body = problem(response, 422, "validation_error")
    # The cascade deleted the parent's descendants too: every link naming a deleted row fails.
    inactive = {name for name in item if name in LINK_PARENTS and not row(LINK_PARENTS[name], item[name]).is_active}
    assert link in inactive
    assert {(e["pointer"], e["code"]) for e in body["errors"]} == {
        (f"/{plural}/0/{name}", "parent_inactive") for name in inactive
    }
    assert snapshot_all(company) == before


# --- parent_mismatch ----------------------------------------------------------------------------


@pytest.fixture
def two_projects(writer):
    """Two trees in one company, plus a second component (with an assembly) in the first project."""
    first = writer.tree(pieces=1, articles=1)
    second = writer.tree(pieces=0, articles=0)
    sibling_component = writer.component(first.project)
    sibling_assembly = writer.assembly(first.project, sibling_component)
    return first, second, sibling_component, sibling_assembly


@pytest.mark.parametrize(
    ("plural", "override", "pointer"),
    [
        ("assemblies", {"component_guid": "second.component"}, "component_guid"),
        ("pieces", {"component_guid": "second.component", "assembly_guid": None}, "component_guid"),
        ("pieces", {"assembly_guid": "sibling_assembly"}, "assembly_guid"),
        ("pieces", {"assembly_guid": "second.assembly"}, "assembly_guid"),
        ("articles", {"component_guid": "second.component"}, "component_guid"),
    ],
    ids=[
        "assembly-component-not-in-project",
        "piece-component-not-in-project",
        "piece-assembly-not-in-component",
        "piece-assembly-of-another-project",
        "article-component-not-in-project",
    ],
)
def test_parents_that_do_not_belong_together_are_a_mismatch(
    writer, company, problem, two_projects, plural, override, pointer
):
    first, second, _, sibling_assembly = two_projects
    names = {
        "second.component": second.component,
        "second.assembly": second.assembly,
        "sibling_assembly": sibling_assembly,
    }
    links = {**links_of(plural, first), **{k: names.get(v, v) for k, v in override.items()}}
    if links.get("assembly_guid") is None:
        links.pop("assembly_guid", None)
    before = snapshot_all(company)

    response = writer.post(plural, [writer.new(plural, **links)])

    body = problem(response, 422, "validation_error")
    assert [(e["pointer"], e["code"]) for e in body["errors"]] == [(f"/{plural}/0/{pointer}", "parent_mismatch")]
    assert snapshot_all(company) == before


def test_mismatches_are_reported_for_every_item_of_a_batch(writer, company, problem, two_projects):
    first, second, _, sibling_assembly = two_projects
    good = writer.new("pieces", **links_of("pieces", first))
    bad_component = writer.new("pieces", project_guid=first.project, component_guid=second.component)
    bad_assembly = writer.new(
        "pieces", project_guid=first.project, component_guid=first.component, assembly_guid=sibling_assembly
    )
    before = snapshot_all(company)

    response = writer.post("pieces", [good, bad_component, bad_assembly])

    body = problem(response, 422, "validation_error")
    assert body["detail"] == "2 items are invalid; nothing was written."
    assert [(e["pointer"], e["code"]) for e in body["errors"]] == [
        ("/pieces/1/component_guid", "parent_mismatch"),
        ("/pieces/2/assembly_guid", "parent_mismatch"),
    ]
    assert snapshot_all(company) == before  # not even the valid item


# --- parent_immutable ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("plural", "changes", "pointers"),
    [
        ("components", {"project_guid": "second.project"}, ["project_guid"]),
        ("assemblies", {"component_guid": "sibling_component"}, ["component_guid"]),
        (
            "assemblies",
            {"project_guid": "second.project", "component_guid": "second.component"},
            ["project_guid", "component_guid"],
        ),
        ("pieces", {"component_guid": "sibling_component", "assembly_guid": None}, ["component_guid"]),
        ("pieces", {"project_guid": "second.project"}, ["project_guid"]),
        ("articles", {"component_guid": "sibling_component"}, ["component_guid"]),
        (
            "articles",
            {"project_guid": "second.project", "component_guid": "second.component"},
            ["project_guid", "component_guid"],
        ),
    ],
)
def test_the_project_and_component_of_an_existing_row_cannot_change(
    writer, company, problem, two_projects, plural, changes, pointers
):
    first, second, sibling_component, _ = two_projects
    names = {
        "second.project": second.project,
        "second.component": second.component,
        "sibling_component": sibling_component,
    }
    guid = {
        "components": first.component,
        "assemblies": first.assembly,
        "pieces": first.pieces[0],
        "articles": first.articles[0],
    }[plural]
    before = snapshot_all(company)

    response = writer.post(plural, [writer.item(plural, guid=guid, **{k: names.get(v) for k, v in changes.items()})])

    body = problem(response, 422, "validation_error")
    assert [(e["pointer"], e["code"]) for e in body["errors"]] == [
        (f"/{plural}/0/{name}", "parent_immutable") for name in pointers
    ]
    assert snapshot_all(company) == before


def test_naming_the_same_parents_again_in_another_spelling_is_not_a_change(writer, company, two_projects):
    first, *_ = two_projects
    before = snapshot_all(company)
    spelled = {name: uuid.UUID(value).hex.upper() for name, value in links_of("pieces", first).items()}

    body = writer.ok("pieces", [writer.item("pieces", guid=first.pieces[0], **spelled)])

    assert body["items"] == [{"index": 0, "guid": first.pieces[0], "action": "unchanged"}]
    assert snapshot_all(company) == before


def test_a_pieces_assembly_may_change_within_its_component_or_to_null(writer, company, problem, two_projects):
    first, second, sibling_component, sibling_assembly = two_projects
    piece = first.pieces[0]
    other_assembly = writer.assembly(first.project, first.component)

    body = writer.ok("pieces", [writer.item("pieces", guid=piece, assembly_guid=other_assembly)])
    assert body["items"] == [{"index": 0, "guid": piece, "action": "updated"}]
    assert row("pieces", piece, company).assembly.guid == uuid.UUID(other_assembly)

    body = writer.ok("pieces", [writer.item("pieces", guid=piece, assembly_guid=None)])
    assert body["items"] == [{"index": 0, "guid": piece, "action": "updated"}]
    stored = row("pieces", piece, company)
    assert stored.assembly_id is None
    assert (stored.project.guid, stored.component.guid) == (uuid.UUID(first.project), uuid.UUID(first.component))

    body = writer.ok("pieces", [writer.item("pieces", guid=piece, assembly_guid=first.assembly)])
    assert body["updated"] == 1
    assert row("pieces", piece, company).assembly.guid == uuid.UUID(first.assembly)

    # ... but not to an assembly of another component.
    before = snapshot_all(company)
    response = writer.post("pieces", [writer.item("pieces", guid=piece, assembly_guid=sibling_assembly)])
    body = problem(response, 422, "validation_error")
    assert [(e["pointer"], e["code"]) for e in body["errors"]] == [("/pieces/0/assembly_guid", "parent_mismatch")]
    assert snapshot_all(company) == before


# --- Tenant isolation ---------------------------------------------------------------------------


def test_a_guid_of_another_company_creates_an_unrelated_row_and_never_touches_theirs(
    writer, other_writer, company, other_company
):
    theirs = other_writer.tree(pieces=1, articles=1)
    other_writer.ok("projects", [other_writer.item("projects", guid=theirs.project, company_name="Theirs")])
    their_rows = snapshot_all(other_company)
    their_audit = AuditEvent.objects.filter(company=other_company).count()
    mine = writer.tree(pieces=0, articles=0)

    # The same guids, synced by us: inserts in our company.
    body = writer.ok("projects", [writer.item("projects", guid=theirs.project, code="MINE")])
    assert body["items"] == [{"index": 0, "guid": theirs.project, "action": "inserted"}]
    body = writer.ok(
        "pieces",
        [writer.item("pieces", guid=theirs.pieces[0], piece_id="MINE", **links_of("pieces", mine))],
    )
    assert body["items"] == [{"index": 0, "guid": theirs.pieces[0], "action": "inserted"}]

    # A dry run compares with our row, not theirs.
    body = writer.ok(
        "projects", [writer.item("projects", guid=theirs.project, code="MINE-2")], query={"dry_run": "true"}
    )
    assert body["items"][0]["changes"] == {"code": ["MINE", "MINE-2"]}

    # Updating and soft-deleting our rows with those guids.
    writer.ok("projects", [writer.item("projects", guid=theirs.project, company_name="Ours")])
    writer.ok("pieces", [writer.item("pieces", guid=theirs.pieces[0], outer_length=7)])
    writer.ok("projects", [writer.item("projects", guid=theirs.project, is_active=False)])

    ours = row("projects", theirs.project, company)
    assert (ours.code, ours.company_name, ours.is_active) == ("MINE", "Ours", False)
    assert row("pieces", theirs.pieces[0], company).outer_length == 7
    assert snapshot_all(other_company) == their_rows
    assert AuditEvent.objects.filter(company=other_company).count() == their_audit
    assert MODELS["projects"].objects.filter(guid=theirs.project).count() == 2


@pytest.mark.parametrize("caller", ["api_key", "company_admin", "integration_user"])
@pytest.mark.parametrize("named", ["other", "unknown", "one-item-of-many"])
def test_naming_another_company_is_forbidden_for_a_non_system_admin(
    writer, other_writer, company, other_company, make_user, as_user, problem, caller, named
):
    if caller != "api_key":
        role = Role.COMPANY_ADMIN if caller == "company_admin" else Role.INTEGRATION
        writer = SyncClient(as_user(make_user(role)), company)
    project = writer.project()
    other_writer.project()
    before = everything(company, other_company)
    target = {"other": str(other_company.guid), "unknown": new_guid(), "one-item-of-many": str(other_company.guid)}
    items = [writer.new("components", project_guid=project, company_guid=target[named])]
    if named == "one-item-of-many":
        items = [writer.new("components", project_guid=project), *items, writer.new("components", project_guid=project)]

    response = writer.post("components", items)

    body = problem(response, 403, "company_mismatch")
    assert target[named] in body["detail"]
    assert everything(company, other_company) == before


def test_naming_your_own_company_in_another_spelling_is_allowed(writer, company):
    body = writer.ok("projects", [writer.new("projects", company_guid=company.guid.hex.upper())])

    assert body["inserted"] == 1
    assert row("projects", body["items"][0]["guid"]).company_id == company.pk


@pytest.fixture
def system_admin(make_user, as_user, company):
    user = make_user(Role.SYSTEM_ADMIN)
    return user, as_user(user)


def test_a_system_admin_syncs_into_the_company_its_items_name(system_admin, company, other_company):
    user, client = system_admin
    admin = SyncClient(client, other_company)  # items name the other company
    before_own = snapshot_all(company)

    tree = admin.tree(pieces=2, articles=1)
    admin.ok("components", [admin.item("components", guid=tree.component, is_active=False)])

    for plural, guids in (("projects", [tree.project]), ("pieces", tree.pieces), ("articles", tree.articles)):
        for guid in guids:
            assert row(plural, guid).company_id == other_company.pk
    assert row("pieces", tree.pieces[0]).is_active is False
    assert snapshot_all(company) == before_own
    event = AuditEvent.objects.get(target_guid=tree.component)
    assert (event.company_id, event.actor_user_id, event.actor_api_key_id) == (other_company.pk, user.pk, None)
    run = SyncRun.objects.filter(entity="component").latest("started_at")
    assert (run.company_id, run.actor_user_id, run.status) == (other_company.pk, user.pk, "succeeded")


def test_a_system_admins_parents_resolve_in_the_named_company_only(
    system_admin, company, other_company, writer, problem
):
    _, client = system_admin
    own_project = writer.project()  # a project of the admin's own company
    admin = SyncClient(client, other_company)
    before = everything(company, other_company)

    response = admin.post("components", [admin.new("components", project_guid=own_project)])

    body = problem(response, 422, "validation_error")
    assert [(e["pointer"], e["code"]) for e in body["errors"]] == [("/components/0/project_guid", "parent_not_found")]
    assert everything(company, other_company) == before


@pytest.mark.parametrize("target", ["unknown", "inactive"])
def test_a_system_admin_naming_no_active_company_gets_company_not_found(
    system_admin, company, make_company, problem, target
):
    _, client = system_admin
    if target == "unknown":
        guid = new_guid()
    else:
        closed = make_company("Closed Shop")
        Company.objects.filter(pk=closed.pk).update(is_active=False)
        guid = str(closed.guid)
    admin = SyncClient(client, company)
    projects_before = MODELS["projects"].objects.count()

    response = admin.post(
        "projects", [admin.new("projects", company_guid=guid), admin.new("projects", company_guid=guid)]
    )

    body = problem(response, 422, "validation_error")
    assert [(e["pointer"], e["code"]) for e in body["errors"]] == [
        ("/projects/0/company_guid", "company_not_found"),
        ("/projects/1/company_guid", "company_not_found"),
    ]
    assert MODELS["projects"].objects.count() == projects_before


def test_a_system_admin_may_not_mix_companies_in_one_request(system_admin, company, other_company, problem):
    _, client = system_admin
    admin = SyncClient(client, company)
    before = everything(company, other_company)

    response = admin.post(
        "projects",
        [
            admin.new("projects"),
            admin.new("projects", company_guid=str(other_company.guid)),
            admin.new("projects"),
            admin.new("projects", company_guid=str(other_company.guid)),
        ],
    )

    body = problem(response, 422, "validation_error")
    assert [(e["pointer"], e["code"]) for e in body["errors"]] == [
        ("/projects/1/company_guid", "mixed_companies"),
        ("/projects/3/company_guid", "mixed_companies"),
    ]
    assert str(company.guid) in body["errors"][0]["detail"]
    assert everything(company, other_company) == before


# --- Who may sync -------------------------------------------------------------------------------


@pytest.mark.parametrize("role", [Role.SYSTEM_ADMIN, Role.COMPANY_ADMIN, Role.INTEGRATION])
def test_sync_roles_may_write(make_user, as_user, company, role):
    client = SyncClient(as_user(make_user(role)), company)

    body = client.ok("projects", [client.new("projects", code="BY-USER")])

    assert body["inserted"] == 1
    assert row("projects", body["items"][0]["guid"], company).code == "BY-USER"


@pytest.mark.parametrize("role", [Role.PROJECT_MANAGER, Role.OPERATOR])
def test_other_roles_may_not_write(make_user, as_user, company, problem, role):
    client = SyncClient(as_user(make_user(role)), company)

    body = problem(client.post("projects", [client.new("projects")]), 403)

    assert role in body["detail"]
    assert not MODELS["projects"].objects.exists()


def test_a_read_only_key_may_not_write(make_api_key, as_key, company, problem):
    _, raw_key = make_api_key(scopes=["sync:read"])
    client = SyncClient(as_key(raw_key), company)

    body = problem(client.post("projects", [client.new("projects")]), 403)

    assert "sync:write" in body["detail"]
    assert not MODELS["projects"].objects.exists()
    assert not SyncRun.objects.exists()


def test_no_credentials_is_401_and_writes_nothing(api, company, problem):
    client = SyncClient(api, company)

    problem(client.post("projects", [client.new("projects")]), 401, "not_authenticated")

    assert not MODELS["projects"].objects.exists()


def test_a_system_admins_refused_sync_is_recorded_under_the_target_company(
    system_admin, company, other_company, problem
):
    user, client = system_admin
    admin = SyncClient(client, other_company)

    problem(admin.post("projects", [admin.new("projects", code="")]), 422, "validation_error")

    run = SyncRun.objects.get(entity="project")
    assert (run.company_id, run.actor_user_id, run.status, run.errors) == (other_company.pk, user.pk, "failed", 1)
