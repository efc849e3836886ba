"""Upsert semantics of the Ractory sync endpoints.

Every test checks the status, the body and what the database holds afterwards.
"""

from __future__ import annotations

import base64
import datetime as dt
import os
import uuid

import pytest
from django.utils import timezone

from assemblies.models import AuditEvent

from .factories import MODELS, new_guid, row, snapshot, snapshot_all

UTC = dt.UTC
EARLY = "2025-06-01T08:00:00.123456Z"
EARLY_AT = dt.datetime(2025, 6, 1, 8, 0, 0, 123456, tzinfo=UTC)
SENT = "2026-01-02T05:04:05.654321+02:00"
SENT_AT = dt.datetime(2026, 1, 2, 3, 4, 5, 654321, tzinfo=UTC)


def parent_links(plural: str, tree) -> dict:
    return {
        "projects": {},
        "components": {"project_guid": tree.project},
        "assemblies": {"project_guid": tree.project, "component_guid": tree.component},
        "pieces": {"project_guid": tree.project, "component_guid": tree.component, "assembly_guid": tree.assembly},
        "articles": {"project_guid": tree.project, "component_guid": tree.component},
    }[plural]


# --- Inserts ------------------------------------------------------------------------------------


def test_items_are_answered_in_input_order_with_server_guids_for_items_without_one(writer, company):
    existing = writer.project(code="OLD")
    low_guid = "00000000-0000-4000-8000-000000000001"  # sorts before every other guid
    items = [
        writer.item("projects", guid=None, code="NEW-1"),
        writer.item("projects", guid=existing, code="OLD-2"),
        writer.item("projects", guid=low_guid, code="NEW-2"),
        writer.item("projects", guid=None, code="NEW-3"),
    ]

    body = writer.ok("projects", items)

    assert [entry["index"] for entry in body["items"]] == [0, 1, 2, 3]
    assert [entry["action"] for entry in body["items"]] == ["inserted", "updated", "inserted", "inserted"]
    assert {k: body[k] for k in ("inserted", "updated", "unchanged")} == {"inserted": 3, "updated": 1, "unchanged": 0}
    assert set(body) == {"inserted", "updated", "unchanged", "items"}
    generated = [body["items"][0]["guid"], body["items"][3]["guid"]]
    for guid in generated:
        assert str(uuid.UUID(guid)) == guid  # lower case with hyphens
    assert len({*generated, existing, low_guid}) == 4
    assert body["items"][1]["guid"] == existing
    assert body["items"][2]["guid"] == low_guid
    # Each returned guid names the row that item wrote.
    for entry, code in zip(body["items"], ["NEW-1", "OLD-2", "NEW-2", "NEW-3"], strict=True):
        assert row("projects", entry["guid"], company).code == code
    assert MODELS["projects"].objects.filter(company=company).count() == 4


def test_insert_with_a_guid_in_any_spelling_stores_that_guid_and_the_defaults(writer, company):
    guid = uuid.uuid4()
    tree_project = writer.project()
    before = timezone.now()

    body = writer.ok(
        "components", [writer.item("components", guid=guid.hex.upper(), project_guid=tree_project, code="W-1")]
    )

    after = timezone.now()
    assert body == {
        "inserted": 1,
        "updated": 0,
        "unchanged": 0,
        "items": [{"index": 0, "guid": str(guid), "action": "inserted"}],
    }
    stored = row("components", guid, company)
    assert stored.code == "W-1"
    assert stored.quantity == 1  # the column default
    assert stored.designation is None
    assert stored.picture is None
    assert stored.project.guid == uuid.UUID(tree_project)
    assert stored.is_active is True and stored.deleted_at is None
    assert before <= stored.created_at == stored.updated_at <= after


def test_insert_stores_every_sent_value(writer, company):
    body = writer.ok(
        "projects",
        [
            writer.item(
                "projects",
                code="P-7",
                due_date="2026-11-22T10:00:00+02:00",
                in_production=True,
                company_name="",
            ),
            writer.item("projects", code="P-8", due_date="2026-11-22T10:00:00"),  # no zone: UTC
        ],
    )

    first, second = (row("projects", entry["guid"], company) for entry in body["items"])
    assert first.code == "P-7"
    assert first.due_date == dt.datetime(2026, 11, 22, 8, 0, tzinfo=UTC)
    assert first.in_production is True
    assert first.company_name == ""  # stored exactly as sent
    assert second.due_date == dt.datetime(2026, 11, 22, 10, 0, tzinfo=UTC)
    assert second.in_production is False
    assert second.company_name is None


def test_an_insert_missing_a_required_field_is_refused(writer, company, problem):
    project = writer.project()
    before = snapshot_all(company)

    response = writer.post(
        "pieces",
        [
            writer.item("pieces", project_guid=project),  # no piece_id, no component_guid
            writer.item("pieces", guid=None, piece_id=None, project_guid=project, component_guid=new_guid()),
        ],
    )

    body = problem(response, 422, "validation_error")
    errors = {(error["pointer"], error["code"]) for error in body["errors"]}
    assert ("/pieces/0/piece_id", "required") in errors
    assert ("/pieces/0/component_guid", "required") in errors
    assert ("/pieces/1/piece_id", "null") in errors
    assert snapshot_all(company) == before


# --- Updates: merge semantics -------------------------------------------------------------------

# plural: (insert fields, update fields, fields the update must keep, a nullable field, a NOT NULL field)
MERGE_CASES = {
    "projects": (
        {"code": "P-1", "company_name": "Kunde", "in_production": True, "due_date": "2026-03-01T00:00:00Z"},
        {"code": "P-2"},
        {"company_name": "Kunde", "in_production": True, "due_date": dt.datetime(2026, 3, 1, tzinfo=UTC)},
        "company_name",
        "in_production",
    ),
    "components": (
        {"code": "C-1", "designation": "Fenster", "quantity": 4},
        {"quantity": 5},
        {"code": "C-1", "designation": "Fenster"},
        "designation",
        "quantity",
    ),
    "assemblies": (
        {"trolley": "T1", "trolley_cell": "TC1", "cell_number": 3},
        {"cell_number": 4},
        {"trolley": "T1", "trolley_cell": "TC1"},
        "trolley",
        "project_guid",
    ),
    "pieces": (
        {"piece_id": "PC-1", "barcode": "B1", "outer_length": 1200, "client": "Kunde"},
        {"outer_length": 1300},
        {"piece_id": "PC-1", "barcode": "B1", "client": "Kunde"},
        "barcode",
        "piece_id",
    ),
    "articles": (
        {"code": "A-1", "designation": "Griff", "quantity": 2.5, "is_extra": True},
        {"quantity": 3},
        {"code": "A-1", "designation": "Griff", "is_extra": True},
        "designation",
        "is_extra",
    ),
}


@pytest.mark.parametrize("plural", list(MERGE_CASES))
def test_update_writes_sent_fields_and_keeps_the_fields_left_out(writer, company, plural):
    first, update, kept, _, _ = MERGE_CASES[plural]
    tree = writer.tree(pieces=0, articles=0)
    links = parent_links(plural, tree)
    guid = writer.ok(plural, [writer.item(plural, **links, **first)])["items"][0]["guid"]
    inserted = row(plural, guid, company)
    count = MODELS[plural].objects.filter(company=company).count()
    before = timezone.now()

    # Only the changed field: no required field, no parent link.
    body = writer.ok(plural, [writer.item(plural, guid=guid, **update)])

    after = timezone.now()
    assert body == {
        "inserted": 0,
        "updated": 1,
        "unchanged": 0,
        "items": [{"index": 0, "guid": guid, "action": "updated"}],
    }
    stored = row(plural, guid, company)
    for name, value in update.items():
        assert getattr(stored, name) == value, name
    for name, value in kept.items():
        assert getattr(stored, name) == value, name
    for link in links:
        parent = link.removesuffix("_guid")
        assert getattr(stored, f"{parent}_id") == getattr(inserted, f"{parent}_id")
    assert stored.created_at == inserted.created_at
    assert before <= stored.updated_at <= after
    assert stored.updated_at > inserted.updated_at
    assert MODELS[plural].objects.filter(company=company).count() == count  # no row was added


@pytest.mark.parametrize("plural", list(MERGE_CASES))
def test_null_clears_a_nullable_field_and_only_that_field(writer, company, plural):
    first, _, _, nullable, _ = MERGE_CASES[plural]
    tree = writer.tree(pieces=0, articles=0)
    guid = writer.ok(plural, [writer.item(plural, **parent_links(plural, tree), **first)])["items"][0]["guid"]
    assert getattr(row(plural, guid, company), nullable) is not None

    body = writer.ok(plural, [writer.item(plural, guid=guid, **{nullable: None})])

    assert body["updated"] == 1 and body["items"][0]["action"] == "updated"
    stored = row(plural, guid, company)
    assert getattr(stored, nullable) is None
    for name, value in first.items():
        if name != nullable and name != "due_date":
            assert getattr(stored, name) == value, name


@pytest.mark.parametrize("plural", list(MERGE_CASES))
def test_null_for_a_not_null_field_is_refused_on_update(writer, company, plural, problem):
    first, _, _, _, not_null = MERGE_CASES[plural]
    tree = writer.tree(pieces=0, articles=0)
    guid = writer.ok(plural, [writer.item(plural, **parent_links(plural, tree), **first)])["items"][0]["guid"]
    before = snapshot_all(company)

    response = writer.post(plural, [writer.item(plural, guid=guid, **{not_null: None})])

    body = problem(response, 422, "validation_error")
    assert body["errors"] == [
        {"pointer": f"/{plural}/0/{not_null}", "code": "null", "detail": "This field may not be null."}
    ]
    assert snapshot_all(company) == before


@pytest.mark.parametrize("plural", list(MERGE_CASES))
def test_an_item_equal_to_the_stored_row_is_unchanged_and_not_written(writer, company, plural):
    first, update, _, _, _ = MERGE_CASES[plural]
    tree = writer.tree(pieces=0, articles=0)
    links = parent_links(plural, tree)
    whole, partial, changed = (writer.item(plural, **links, **first) for _ in range(3))
    writer.ok(plural, [whole, partial, changed])
    before = snapshot(plural, company)

    # One row sent again as it was, one with only some of its fields (stored values), one changed.
    partial_again = {"guid": partial["guid"], "company_guid": partial["company_guid"]}
    partial_again.update({name: first[name] for name in update})
    body = writer.ok(plural, [whole, partial_again, writer.item(plural, guid=changed["guid"], **update)])

    assert {k: body[k] for k in ("inserted", "updated", "unchanged")} == {"inserted": 0, "updated": 1, "unchanged": 2}
    assert body["items"] == [
        {"index": 0, "guid": whole["guid"], "action": "unchanged"},
        {"index": 1, "guid": partial["guid"], "action": "unchanged"},
        {"index": 2, "guid": changed["guid"], "action": "updated"},
    ]
    after = snapshot(plural, company)
    for item in (whole, partial):
        key = (company.pk, uuid.UUID(item["guid"]))
        assert after[key] == before[key]  # updated_at included: the row was not written
    key = (company.pk, uuid.UUID(changed["guid"]))
    assert after[key]["updated_at"] > before[key]["updated_at"]
    assert after[key]["created_at"] == before[key]["created_at"]


def test_created_at_never_changes_and_updated_at_moves_with_every_change(writer, company):
    tree = writer.tree(pieces=1, articles=0)
    guid = tree.pieces[0]
    original = row("pieces", guid, company)
    stamps = [original.updated_at]

    for length in (10, 20, 30):
        writer.ok("pieces", [writer.item("pieces", guid=guid, outer_length=length)])
        stored = row("pieces", guid, company)
        assert stored.outer_length == length
        assert stored.created_at == original.created_at
        stamps.append(stored.updated_at)

    assert stamps == sorted(stamps) and len(set(stamps)) == 4


def test_rows_missing_from_a_request_are_never_touched(writer, company):
    tree = writer.tree(pieces=3, articles=2, loose_pieces=1)
    before = snapshot_all(company)

    body = writer.ok("pieces", [writer.item("pieces", guid=tree.pieces[0], outer_length=99)])

    assert body["updated"] == 1
    after = snapshot_all(company)
    changed = {
        (plural, key) for plural in after for key in after[plural] if after[plural][key] != before[plural].get(key)
    }
    assert changed == {("pieces", (company.pk, uuid.UUID(tree.pieces[0])))}
    assert all(values["is_active"] for plural in after for values in after[plural].values())


@pytest.mark.parametrize(
    "spell",
    [str.upper, lambda guid: uuid.UUID(guid).hex, lambda guid: uuid.UUID(guid).hex.upper()],
    ids=["upper", "no-hyphens", "upper-no-hyphens"],
)
@pytest.mark.parametrize("existing", [False, True], ids=["new-guid", "stored-guid"])
def test_duplicate_guids_in_any_spelling_are_refused_on_the_later_item(writer, company, problem, spell, existing):
    tree = writer.tree(pieces=1, articles=0)
    guid = tree.pieces[0] if existing else new_guid()
    links = parent_links("pieces", tree)
    before = snapshot_all(company)

    response = writer.post(
        "pieces",
        [
            writer.item("pieces", guid=guid, piece_id="first", **links),
            writer.item("pieces", piece_id="innocent", **links),
            writer.item("pieces", guid=spell(guid), piece_id="second", **links),
        ],
    )

    body = problem(response, 422, "validation_error")
    assert body["errors"] == [
        {"pointer": "/pieces/2/guid", "code": "duplicate_in_batch", "detail": "Item 0 has the same guid."}
    ]
    assert snapshot_all(company) == before


# --- Soft delete by sync ------------------------------------------------------------------------


@pytest.fixture
def forest(writer):
    """A tree with every kind of descendant, a second component, and an untouched project.

    Returns {name: (plural, guid)}.
    """
    tree = writer.tree(pieces=2, articles=1, loose_pieces=1)
    rows = {
        "project": ("projects", tree.project),
        "component": ("components", tree.component),
        "assembly": ("assemblies", tree.assembly),
        "piece": ("pieces", tree.pieces[0]),
        "piece_b": ("pieces", tree.pieces[1]),
        "loose_piece": ("pieces", tree.pieces[2]),
        "article": ("articles", tree.articles[0]),
    }
    # Deleted earlier, with their own stamp.
    early_piece = writer.pieces(tree.project, tree.component, tree.assembly)[0]
    early_article = writer.articles(tree.project, tree.component)[0]
    writer.ok("pieces", [writer.item("pieces", guid=early_piece, is_active=False, deleted_at=EARLY)])
    writer.ok("articles", [writer.item("articles", guid=early_article, is_active=False, deleted_at=EARLY)])
    rows.update(early_piece=("pieces", early_piece), early_article=("articles", early_article))
    # A second assembly of the same component, and a second component of the same project.
    assembly_2 = writer.assembly(tree.project, tree.component)
    rows["assembly_2"] = ("assemblies", assembly_2)
    rows["assembly_2_piece"] = ("pieces", writer.pieces(tree.project, tree.component, assembly_2)[0])
    component_2 = writer.component(tree.project)
    assembly_c2 = writer.assembly(tree.project, component_2)
    rows.update(
        component_2=("components", component_2),
        component_2_assembly=("assemblies", assembly_c2),
        component_2_piece=("pieces", writer.pieces(tree.project, component_2, assembly_c2)[0]),
        component_2_article=("articles", writer.articles(tree.project, component_2)[0]),
    )
    # Another project: never part of any cascade here.
    other = writer.tree(pieces=1, articles=1)
    rows.update(
        other_project=("projects", other.project),
        other_component=("components", other.component),
        other_assembly=("assemblies", other.assembly),
        other_piece=("pieces", other.pieces[0]),
        other_article=("articles", other.articles[0]),
    )
    return rows


# root → the forest rows its soft delete must carry along
CASCADE = {
    "project": {
        "component",
        "assembly",
        "piece",
        "piece_b",
        "loose_piece",
        "article",
        "assembly_2",
        "assembly_2_piece",
        "component_2",
        "component_2_assembly",
        "component_2_piece",
        "component_2_article",
    },
    "component": {"assembly", "piece", "piece_b", "loose_piece", "article", "assembly_2", "assembly_2_piece"},
    "assembly": {"piece", "piece_b"},
    "piece": set(),
    "article": set(),
}


@pytest.mark.parametrize("stamp", ["sent", "server"])
@pytest.mark.parametrize("root", list(CASCADE))
def test_is_active_false_soft_deletes_with_the_delete_cascade(writer, company, key, forest, root, stamp):
    plural, guid = forest[root]
    before = snapshot_all(company)
    audit_before = set(AuditEvent.objects.values_list("pk", flat=True))
    item = writer.item(plural, guid=guid, is_active=False)
    if stamp == "sent":
        item["deleted_at"] = SENT
    started = timezone.now()

    response = writer.post(plural, [item])

    finished = timezone.now()
    assert response.status_code == 200, response.content
    assert response.json() == {
        "inserted": 0,
        "updated": 1,
        "unchanged": 0,
        "items": [{"index": 0, "guid": guid, "action": "updated"}],
    }
    stored_root = row(plural, guid, company)
    assert stored_root.is_active is False
    if stamp == "sent":
        assert stored_root.deleted_at == SENT_AT
    else:
        assert started <= stored_root.deleted_at <= finished
    after = snapshot_all(company)
    for name, (row_plural, row_guid) in forest.items():
        key_ = (company.pk, uuid.UUID(row_guid))
        was, now = before[row_plural][key_], after[row_plural][key_]
        if name == root:
            continue
        if name in CASCADE[root]:
            assert now["is_active"] is False, name
            assert now["deleted_at"] == stored_root.deleted_at, name  # exactly the root's stamp
        elif name.startswith("early_"):
            assert now["is_active"] is False and now["deleted_at"] == EARLY_AT, name  # keeps its own stamp
            assert now == was, name
        else:
            assert now == was, name  # not a descendant: untouched
        assert now["created_at"] == was["created_at"]
    events = AuditEvent.objects.exclude(pk__in=audit_before)
    assert [
        (event.action, event.entity, str(event.target_guid), event.rows_touched, event.company_id) for event in events
    ] == [("soft_delete", root, guid, 1 + len(CASCADE[root]), company.pk)]
    event = events.get()
    assert event.actor_api_key_id == key[0].pk and event.actor_user_id is None
    assert event.request_id == response["X-Request-ID"]
    assert started <= event.created_at <= finished
    assert isinstance(event.guid, uuid.UUID)


def test_one_request_soft_deleting_several_roots_writes_one_audit_event_per_root(writer, company, forest):
    audit_before = set(AuditEvent.objects.values_list("pk", flat=True))
    _, component = forest["component"]
    _, component_2 = forest["component_2"]
    _, unrelated = forest["other_component"]

    body = writer.ok(
        "components",
        [
            writer.item("components", guid=component, is_active=False, deleted_at=SENT),
            writer.item("components", guid=unrelated, code="renamed"),
            writer.item("components", guid=component_2, is_active=False),
        ],
    )

    assert [entry["action"] for entry in body["items"]] == ["updated", "updated", "updated"]
    events = {str(event.target_guid): event.rows_touched for event in AuditEvent.objects.exclude(pk__in=audit_before)}
    assert events == {component: 1 + len(CASCADE["component"]), component_2: 1 + 3}
    assert row("pieces", forest["assembly_2_piece"][1], company).deleted_at == SENT_AT
    stamp_2 = row("components", component_2, company).deleted_at
    assert stamp_2 != SENT_AT
    for name in ("component_2_assembly", "component_2_piece", "component_2_article"):
        plural, guid = forest[name]
        assert row(plural, guid, company).deleted_at == stamp_2, name
    assert row("components", unrelated, company).is_active is True


def test_is_active_false_on_an_inactive_row_is_unchanged_and_restamps_nothing(writer, company, forest):
    _, component = forest["component"]
    writer.ok("components", [writer.item("components", guid=component, is_active=False, deleted_at=SENT)])
    before = snapshot_all(company)
    audit_count = AuditEvent.objects.count()

    body = writer.ok("components", [writer.item("components", guid=component, is_active=False)])

    assert body["unchanged"] == 1 and body["items"][0]["action"] == "unchanged"
    assert snapshot_all(company) == before
    assert AuditEvent.objects.count() == audit_count


def test_an_insert_with_is_active_false_stores_an_inactive_row(writer, company):
    project = writer.project()

    body = writer.ok(
        "components",
        [
            writer.item("components", project_guid=project, code="X", is_active=False, deleted_at=SENT),
            writer.item("components", project_guid=project, code="Y", is_active=False),
        ],
    )

    assert body["inserted"] == 2
    sent, server = (row("components", entry["guid"], company) for entry in body["items"])
    assert (sent.is_active, sent.deleted_at) == (False, SENT_AT)
    assert server.is_active is False and server.deleted_at is not None


@pytest.mark.parametrize("is_active", [True, "omitted"])
def test_deleted_at_with_is_active_true_is_inconsistent(writer, company, problem, is_active):
    tree = writer.tree(pieces=1, articles=0)
    item = writer.item("pieces", guid=tree.pieces[0], deleted_at=SENT)
    if is_active is True:
        item["is_active"] = True
    before = snapshot_all(company)

    response = writer.post("pieces", [item])

    body = problem(response, 422, "validation_error")
    assert [(error["pointer"], error["code"]) for error in body["errors"]] == [
        ("/pieces/0/deleted_at", "inconsistent_soft_delete")
    ]
    assert snapshot_all(company) == before


@pytest.mark.parametrize("is_active", ["omitted", True])
def test_an_item_for_an_inactive_row_reactivates_only_that_row(writer, company, forest, is_active):
    _, component = forest["component"]
    writer.ok("components", [writer.item("components", guid=component, is_active=False, deleted_at=SENT)])
    before = snapshot_all(company)
    item = writer.item("components", guid=component)
    if is_active is True:
        item["is_active"] = True

    body = writer.ok("components", [item])

    assert body == {
        "inserted": 0,
        "updated": 1,
        "unchanged": 0,
        "items": [{"index": 0, "guid": component, "action": "updated"}],
    }
    stored = row("components", component, company)
    assert stored.is_active is True and stored.deleted_at is None
    after = snapshot_all(company)
    for name in CASCADE["component"]:
        plural, guid = forest[name]
        values = after[plural][(company.pk, uuid.UUID(guid))]
        assert (values["is_active"], values["deleted_at"]) == (False, SENT_AT), name  # children stay deleted
    changed = [(p, k) for p in after for k in after[p] if after[p][k] != before[p][k]]
    assert changed == [("components", (company.pk, uuid.UUID(component)))]


def test_reactivating_a_row_whose_parent_is_deleted_is_refused(writer, company, forest, problem):
    _, component = forest["component"]
    _, piece = forest["piece"]
    writer.ok("components", [writer.item("components", guid=component, is_active=False)])
    before = snapshot_all(company)

    response = writer.post("pieces", [writer.item("pieces", guid=piece)])

    body = problem(response, 422, "validation_error")
    codes = {(error["pointer"], error["code"]) for error in body["errors"]}
    assert codes == {("/pieces/0/component_guid", "parent_inactive"), ("/pieces/0/assembly_guid", "parent_inactive")}
    assert snapshot_all(company) == before


# --- Pictures -----------------------------------------------------------------------------------


@pytest.mark.parametrize("plural", ["components", "assemblies", "pieces"])
def test_pictures_round_trip_are_kept_when_left_out_and_cleared_by_null(writer, company, plural):
    tree = writer.tree(pieces=0, articles=0)
    links = parent_links(plural, tree)
    picture = os.urandom(999) + b"\x00\xff"  # 1001 bytes: base64 ends in "="
    other_picture = os.urandom(10)
    encoded = base64.b64encode(picture).decode()
    assert encoded.endswith("=")
    first = writer.new(plural, **links, picture=encoded.rstrip("="))  # padding is optional
    second = writer.new(plural, **links)
    writer.ok(plural, [first, second])
    assert bytes(row(plural, first["guid"], company).picture) == picture
    assert row(plural, second["guid"], company).picture is None

    # An update leaving the picture out keeps it, also when another item of the batch sends one.
    body = writer.ok(
        plural,
        [
            writer.item(plural, guid=first["guid"], **links),
            writer.item(plural, guid=second["guid"], picture=base64.b64encode(other_picture).decode()),
        ],
    )
    assert [entry["action"] for entry in body["items"]] == ["unchanged", "updated"]
    assert bytes(row(plural, first["guid"], company).picture) == picture
    assert bytes(row(plural, second["guid"], company).picture) == other_picture

    body = writer.ok(plural, [writer.item(plural, guid=first["guid"], picture=encoded)])
    assert body["items"][0]["action"] == "unchanged"  # the same bytes

    body = writer.ok(plural, [writer.item(plural, guid=first["guid"], picture=None)])
    assert body["items"][0]["action"] == "updated"
    assert row(plural, first["guid"], company).picture is None
    assert bytes(row(plural, second["guid"], company).picture) == other_picture


def test_a_tombstone_may_name_its_deleted_parents(writer, company, forest):
    """An ERP that deletes a component and then sends full tombstones of its pieces is not refused."""
    _, component = forest["component"]
    _, piece = forest["piece"]
    _, project = forest["project"]
    writer.ok("components", [writer.item("components", guid=component, is_active=False)])
    stamped = row("pieces", piece, company).deleted_at
    before = snapshot_all(company)

    body = writer.ok(
        "pieces",
        [writer.item("pieces", guid=piece, project_guid=project, component_guid=component, is_active=False)],
    )

    assert body["items"][0]["action"] == "unchanged"
    assert snapshot_all(company) == before
    assert row("pieces", piece, company).deleted_at == stamped


def test_a_new_deleted_at_on_a_deleted_row_keeps_the_stamp_its_descendants_share(writer, company, forest):
    _, component = forest["component"]
    _, piece = forest["piece"]
    writer.ok("components", [writer.item("components", guid=component, is_active=False, deleted_at=SENT)])
    before = snapshot_all(company)

    body = writer.ok(
        "components", [writer.item("components", guid=component, is_active=False, deleted_at="2026-03-03T03:03:03Z")]
    )

    assert body["items"][0]["action"] == "unchanged"
    assert snapshot_all(company) == before
    assert row("components", component, company).deleted_at == SENT_AT == row("pieces", piece, company).deleted_at
