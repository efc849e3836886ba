"""Entity details: representation, picture, real counts of active children, 404s, include_inactive,
SystemAdmin and ambiguous guids."""

from __future__ import annotations

import base64
import uuid

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from conftest import without_request_id
from sync.tests.factories import MODELS, SyncClient, new_guid, row, snapshot_all
from tenants.roles import Role

from .test_entity_lists import LIST_KEYS, PICTURE, build_full_tree, expected_list_representation, picture_b64

PLURALS = list(MODELS)
DETAIL_EXTRA = {
    "projects": ["component_count", "assembly_count", "piece_count", "article_count"],
    "components": ["picture", "assembly_count", "piece_count", "article_count"],
    "assemblies": ["picture", "piece_count"],
    "pieces": ["picture"],
    "articles": [],
}


# --- representation ---------------------------------------------------------------------------------


@pytest.mark.parametrize("plural", PLURALS)
def test_detail_is_the_list_representation_plus_picture_and_counts(writer, reader, company, plural):
    sent = build_full_tree(writer)
    guid, _item = sent[plural]

    response = reader.get(f"/api/v1/{plural}/{guid}")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert set(body) == set(LIST_KEYS[plural]) | set(DETAIL_EXTRA[plural])
    assert "id" not in body
    listed = next(entry for entry in reader.get(f"/api/v1/{plural}").json() if entry["guid"] == guid)
    assert (
        {key: body[key] for key in LIST_KEYS[plural]} == listed == expected_list_representation(plural, guid, company)
    )
    if "picture" in DETAIL_EXTRA[plural]:
        assert body["picture"] == picture_b64()
        assert base64.b64decode(body["picture"], validate=True) == PICTURE
        assert bytes(row(plural, guid).picture) == PICTURE
    else:
        assert "picture" not in body
    expected_counts = {
        "projects": {"component_count": 1, "assembly_count": 1, "piece_count": 1, "article_count": 1},
        "components": {"assembly_count": 1, "piece_count": 1, "article_count": 1},
        "assemblies": {"piece_count": 1},
        "pieces": {},
        "articles": {},
    }[plural]
    assert {key: body[key] for key in expected_counts} == expected_counts


@pytest.mark.parametrize("plural", ["components", "assemblies", "pieces"])
def test_detail_picture_is_null_without_one_and_always_padded(writer, reader, plural):
    tree = writer.tree(pieces=1, articles=0)
    guid = {"components": tree.component, "assemblies": tree.assembly, "pieces": tree.pieces[0]}[plural]
    assert row(plural, guid).picture is None

    response = reader.get(f"/api/v1/{plural}/{guid}")
    assert response.status_code == 200
    assert response.json()["picture"] is None

    # 4 bytes sent without padding come back padded
    unpadded = base64.b64encode(b"\x00\x01\x02\x03").decode().rstrip("=")
    assert unpadded == "AAECAw"
    writer.ok(plural, [writer.item(plural, guid=guid, picture=unpadded)])
    assert reader.get(f"/api/v1/{plural}/{guid}").json()["picture"] == "AAECAw=="

    writer.ok(plural, [writer.item(plural, guid=guid, picture=None)])  # null clears it
    assert reader.get(f"/api/v1/{plural}/{guid}").json()["picture"] is None


def test_detail_accepts_any_uuid_spelling_and_a_non_uuid_path_is_404(writer, reader, problem):
    tree = writer.tree(pieces=0, articles=0)
    for spelling in (tree.project.upper(), tree.project.replace("-", ""), uuid.UUID(tree.project).hex.upper()):
        response = reader.get(f"/api/v1/projects/{spelling}")
        assert response.status_code == 200
        assert response.json()["guid"] == tree.project
    problem(reader.get("/api/v1/projects/not-a-uuid"), 404)
    problem(reader.get("/api/v1/projects/12345"), 404)


# --- counts -----------------------------------------------------------------------------------------


def build_counted_tree(writer: SyncClient) -> dict:
    """P → C1 (A1: 3 pieces, A2: 2 pieces, 1 loose piece, 2 articles), C2 (A3: 1 piece, 1 article)."""
    p = writer.project(code="P")
    c1 = writer.component(p, code="C1")
    c2 = writer.component(p, code="C2")
    a1, a2 = writer.assembly(p, c1), writer.assembly(p, c1)
    a3 = writer.assembly(p, c2)
    return {
        "p": p,
        "c1": c1,
        "c2": c2,
        "a1": a1,
        "a2": a2,
        "a3": a3,
        "a1_pieces": writer.pieces(p, c1, a1, count=3),
        "a2_pieces": writer.pieces(p, c1, a2, count=2),
        "loose": writer.pieces(p, c1, None, count=1),
        "a3_pieces": writer.pieces(p, c2, a3, count=1),
        "c1_articles": writer.articles(p, c1, count=2),
        "c2_articles": writer.articles(p, c2, count=1),
    }


def counts(reader, plural: str, guid: str, **query) -> dict:
    response = reader.get(f"/api/v1/{plural}/{guid}", query)
    assert response.status_code == 200, response.content
    return {key: value for key, value in response.json().items() if key.endswith("_count")}


def test_detail_counts_are_real_counts_of_active_children(writer, reader, other_writer):
    t = build_counted_tree(writer)
    # Noise that must never be counted: another project of the company, and another company
    # using the very same guids.
    build_counted_tree(writer)
    theirs = build_counted_tree(other_writer)
    assert theirs["p"] != t["p"]

    assert counts(reader, "projects", t["p"]) == {
        "component_count": 2,
        "assembly_count": 3,
        "piece_count": 7,
        "article_count": 3,
    }
    assert counts(reader, "components", t["c1"]) == {"assembly_count": 2, "piece_count": 6, "article_count": 2}
    assert counts(reader, "components", t["c2"]) == {"assembly_count": 1, "piece_count": 1, "article_count": 1}
    assert counts(reader, "assemblies", t["a1"]) == {"piece_count": 3}
    assert counts(reader, "assemblies", t["a2"]) == {"piece_count": 2}
    assert counts(reader, "pieces", t["loose"][0]) == {}
    assert counts(reader, "articles", t["c1_articles"][0]) == {}

    # Deleted children are not counted.
    assert reader.delete(f"/api/v1/pieces/{t['a1_pieces'][0]}").status_code == 204
    assert reader.delete(f"/api/v1/articles/{t['c1_articles'][0]}").status_code == 204
    assert reader.delete(f"/api/v1/assemblies/{t['a2']}").status_code == 204  # and its 2 pieces

    assert counts(reader, "projects", t["p"]) == {
        "component_count": 2,
        "assembly_count": 2,
        "piece_count": 4,
        "article_count": 2,
    }
    assert counts(reader, "components", t["c1"]) == {"assembly_count": 1, "piece_count": 3, "article_count": 1}
    assert counts(reader, "components", t["c2"]) == {"assembly_count": 1, "piece_count": 1, "article_count": 1}
    assert counts(reader, "assemblies", t["a1"]) == {"piece_count": 2}
    assert counts(reader, "assemblies", t["a2"], include_inactive="true") == {"piece_count": 0}

    # Deleting the component empties it; the project keeps counting the rest.
    assert reader.delete(f"/api/v1/components/{t['c2']}").status_code == 204
    assert counts(reader, "projects", t["p"]) == {
        "component_count": 1,
        "assembly_count": 1,
        "piece_count": 3,
        "article_count": 1,
    }
    assert counts(reader, "components", t["c2"], include_inactive="true") == {
        "assembly_count": 0,
        "piece_count": 0,
        "article_count": 0,
    }
    # the other company's tree is untouched and counted on its own
    assert counts(other_writer.client, "projects", theirs["p"]) == {
        "component_count": 2,
        "assembly_count": 3,
        "piece_count": 7,
        "article_count": 3,
    }


def test_detail_queries_do_not_grow_with_the_number_of_children(writer, make_user, as_user):
    user = as_user(make_user(Role.OPERATOR))
    measured = []
    for size in (2, 60):
        tree = writer.tree(pieces=size, articles=size, loose_pieces=size)
        with CaptureQueriesContext(connection) as queries:
            response = user.get(f"/api/v1/projects/{tree.project}")
        assert response.status_code == 200
        assert response.json()["piece_count"] == 2 * size
        assert response.json()["article_count"] == size
        measured.append(len(queries.captured_queries))
    assert measured[0] == measured[1], measured


# --- 404s and include_inactive ----------------------------------------------------------------------


@pytest.mark.parametrize("plural", PLURALS)
def test_detail_of_another_companys_guid_or_an_unknown_guid_is_the_same_404(
    writer, other_writer, reader, problem, plural
):
    writer.tree(pieces=1, articles=1)
    theirs = other_writer.tree(pieces=1, articles=1)
    before = snapshot_all()

    other = problem(reader.get(f"/api/v1/{plural}/{theirs.first(plural)}"), 404, "not_found")
    unknown = problem(reader.get(f"/api/v1/{plural}/{new_guid()}"), 404, "not_found")
    inactive_flag = problem(
        reader.get(f"/api/v1/{plural}/{theirs.first(plural)}?include_inactive=true"), 404, "not_found"
    )

    assert without_request_id(other) == without_request_id(unknown) == without_request_id(inactive_flag)
    assert snapshot_all() == before
    # the row exists and its own company reads it
    assert other_writer.client.get(f"/api/v1/{plural}/{theirs.first(plural)}").status_code == 200


@pytest.mark.parametrize("plural", PLURALS)
def test_detail_of_an_inactive_row_is_404_unless_include_inactive(writer, reader, problem, plural):
    tree = writer.tree(pieces=1, articles=1)
    guid = tree.first(plural)
    assert reader.get(f"/api/v1/{plural}/{guid}").json()["is_active"] is True
    assert reader.delete(f"/api/v1/{plural}/{guid}").status_code == 204

    problem(reader.get(f"/api/v1/{plural}/{guid}"), 404, "not_found")
    problem(reader.get(f"/api/v1/{plural}/{guid}?include_inactive=false"), 404, "not_found")

    response = reader.get(f"/api/v1/{plural}/{guid}?include_inactive=true")
    assert response.status_code == 200
    body = response.json()
    stored = row(plural, guid)
    assert body["guid"] == guid
    assert body["is_active"] is False
    assert stored.is_active is False
    assert body["deleted_at"] is not None
    assert body["deleted_at"] == stored.deleted_at.isoformat().replace("+00:00", "Z")


@pytest.mark.parametrize(
    ("query", "pointer"),
    [
        ("include_inactive=maybe", "/query/include_inactive"),
        ("include_inactive=", "/query/include_inactive"),
        ("company_guid=nope", "/query/company_guid"),
        ("limit=5", "/query/limit"),
        ("project_guid=" + "c784add2-cae8-43ed-addd-7bec3308054a", "/query/project_guid"),
        ("other=1", "/query/other"),
    ],
)
def test_detail_bad_query_parameters_are_400(writer, reader, problem, query, pointer):
    tree = writer.tree(pieces=0, articles=0)
    body = problem(reader.get(f"/api/v1/projects/{tree.project}?{query}"), 400)
    assert pointer in [error["pointer"] for error in body["errors"]]


def test_detail_company_guid_of_another_company_is_403_for_non_system_admins(
    writer, reader, problem, company, other_company
):
    tree = writer.tree(pieces=0, articles=0)
    problem(reader.get(f"/api/v1/projects/{tree.project}?company_guid={other_company.guid}"), 403, "company_mismatch")
    own = reader.get(f"/api/v1/projects/{tree.project}?company_guid={company.guid}")
    assert own.status_code == 200
    assert own.json()["guid"] == tree.project


# --- SystemAdmin ------------------------------------------------------------------------------------


def same_guid_in_two_companies(writer: SyncClient, other_writer: SyncClient) -> dict[str, str]:
    """One tree whose every guid exists in both companies (two unrelated rows each)."""
    guids = {plural: new_guid() for plural in PLURALS}
    for client, tag in ((writer, "ours"), (other_writer, "theirs")):
        client.ok("projects", [client.new("projects", guid=guids["projects"], code=f"P-{tag}")])
        links = {"project_guid": guids["projects"]}
        client.ok("components", [client.new("components", guid=guids["components"], code=f"C-{tag}", **links)])
        links["component_guid"] = guids["components"]
        client.ok("assemblies", [client.new("assemblies", guid=guids["assemblies"], trolley=f"T-{tag}", **links)])
        client.ok("articles", [client.new("articles", guid=guids["articles"], code=f"A-{tag}", **links)])
        links["assembly_guid"] = guids["assemblies"]
        client.ok("pieces", [client.new("pieces", guid=guids["pieces"], piece_id=f"PC-{tag}", **links)])
    return guids


TAG_FIELD = {
    "projects": "code",
    "components": "code",
    "assemblies": "trolley",
    "pieces": "piece_id",
    "articles": "code",
}


@pytest.mark.parametrize("plural", PLURALS)
def test_system_admin_reads_any_company(writer, other_writer, system_admin, other_company, plural):
    theirs = other_writer.tree(pieces=1, articles=1)
    guid = theirs.first(plural)

    response = system_admin.get(f"/api/v1/{plural}/{guid}")

    assert response.status_code == 200
    assert response.json()["guid"] == guid
    assert response.json()["company_guid"] == str(other_company.guid)


@pytest.mark.parametrize("plural", PLURALS)
def test_system_admin_reading_a_guid_of_two_companies_gets_409_unless_company_guid(
    writer, other_writer, system_admin, reader, problem, company, other_company, plural
):
    guids = same_guid_in_two_companies(writer, other_writer)
    guid = guids[plural]
    before = snapshot_all()

    body = problem(system_admin.get(f"/api/v1/{plural}/{guid}"), 409, "ambiguous_guid")
    assert "company_guid" in body["detail"]

    for named, tag in ((company, "ours"), (other_company, "theirs")):
        response = system_admin.get(f"/api/v1/{plural}/{guid}?company_guid={named.guid}")
        assert response.status_code == 200
        assert response.json()["company_guid"] == str(named.guid)
        assert response.json()[TAG_FIELD[plural]].endswith(tag)

    # a company's own caller sees its row only, never a conflict
    own = reader.get(f"/api/v1/{plural}/{guid}")
    assert own.status_code == 200
    assert own.json()["company_guid"] == str(company.guid)
    assert own.json()[TAG_FIELD[plural]].endswith("ours")
    assert snapshot_all() == before


def test_system_admin_counts_are_those_of_the_company_named(writer, other_writer, system_admin, other_company):
    guids = same_guid_in_two_companies(writer, other_writer)
    other_writer.ok(
        "pieces",
        [
            other_writer.item(
                "pieces",
                guid=None,
                piece_id="extra",
                **{
                    "project_guid": guids["projects"],
                    "component_guid": guids["components"],
                    "assembly_guid": guids["assemblies"],
                },
            )
        ],
    )
    response = system_admin.get(f"/api/v1/projects/{guids['projects']}?company_guid={other_company.guid}")
    assert response.status_code == 200
    assert response.json()["piece_count"] == 2
    assert response.json()["component_count"] == 1
    assembly = system_admin.get(f"/api/v1/assemblies/{guids['assemblies']}?company_guid={other_company.guid}")
    assert assembly.json()["piece_count"] == 2
    ours = writer.client.get(f"/api/v1/assemblies/{guids['assemblies']}")
    assert ours.json()["piece_count"] == 1
