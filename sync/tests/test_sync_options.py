"""Request options of the Ractory sync endpoints: ``dry_run``, ``atomic=false``
and ``Idempotency-Key``."""

from __future__ import annotations

import base64
import datetime as dt
import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from assemblies.models import AuditEvent
from sync.models import IdempotencyRecord, SyncRun

from .factories import MODELS, SyncClient, new_guid, row, snapshot_all

UTC = dt.UTC
EARLY = "2025-06-01T08:00:00.123456Z"
SENT = "2026-01-02T05:04:05.654321+02:00"
SENT_AT = dt.datetime(2026, 1, 2, 3, 4, 5, 654321, tzinfo=UTC)


def instant(value):
    return None if value is None else dt.datetime.fromisoformat(value.replace("Z", "+00:00"))


def links(tree) -> dict:
    return {"project_guid": tree.project, "component_guid": tree.component}


def state(company) -> tuple:
    """Everything a sync could write: every row of every entity, and the audit trail."""
    return snapshot_all(company), sorted(AuditEvent.objects.values_list("pk", flat=True))


# --- dry_run ------------------------------------------------------------------------------------


@pytest.fixture
def mixed_batch(writer):
    """A tree and a batch that inserts, updates, leaves one row unchanged, soft-deletes one,
    reactivates one and moves one to no assembly."""
    tree = writer.tree(pieces=5, articles=0)
    p0, p1, p2, p3, p4 = tree.pieces
    writer.ok("pieces", [writer.item("pieces", guid=p3, is_active=False, deleted_at=EARLY)])
    batch = [
        writer.new("pieces", guid=None, piece_id="NEW", **links(tree)),
        writer.item("pieces", guid=p0, outer_length=5, barcode="B-0"),
        writer.item("pieces", guid=p1, piece_id="PC-1"),  # as stored
        writer.item("pieces", guid=p2, is_active=False, deleted_at=SENT),
        writer.item("pieces", guid=p3),
        writer.item("pieces", guid=p4, assembly_guid=None),
    ]
    return tree, batch


def test_dry_run_reports_what_the_request_would_do_and_writes_nothing(writer, company, mixed_batch):
    tree, batch = mixed_batch
    p0, p1, p2, p3, p4 = tree.pieces
    before = state(company)

    body = writer.ok("pieces", batch, query={"dry_run": "true"})

    assert state(company) == before
    assert {k: body[k] for k in ("inserted", "updated", "unchanged", "dry_run")} == {
        "inserted": 1,
        "updated": 4,
        "unchanged": 1,
        "dry_run": True,
    }
    assert "errors" not in body
    entries = body["items"]
    assert [(e["index"], e["action"]) for e in entries] == [
        (0, "inserted"),
        (1, "updated"),
        (2, "unchanged"),
        (3, "updated"),
        (4, "updated"),
        (5, "updated"),
    ]
    assert [e["guid"] for e in entries[1:]] == [p0, p1, p2, p3, p4]
    assert uuid.UUID(entries[0]["guid"])
    assert "changes" not in entries[0] and "changes" not in entries[2]
    assert entries[1]["changes"] == {"outer_length": [None, 5], "barcode": [None, "B-0"]}
    deleted = entries[3]["changes"]
    assert set(deleted) == {"is_active", "deleted_at"}
    assert deleted["is_active"] == [True, False]
    assert deleted["deleted_at"][0] is None and instant(deleted["deleted_at"][1]) == SENT_AT
    restored = entries[4]["changes"]
    assert restored["is_active"] == [False, True]
    assert instant(restored["deleted_at"][0]) == instant(EARLY) and restored["deleted_at"][1] is None
    assert entries[5]["changes"] == {"assembly_guid": [tree.assembly, None]}
    assert not MODELS["pieces"].objects.filter(piece_id="NEW").exists()


def test_the_real_run_does_what_the_dry_run_said(writer, company, mixed_batch):
    tree, batch = mixed_batch
    dry = writer.ok("pieces", batch, query={"dry_run": "true"})

    real = writer.ok("pieces", batch)

    assert "dry_run" not in real
    for key in ("inserted", "updated", "unchanged"):
        assert real[key] == dry[key]
    assert [(e["index"], e["action"]) for e in real["items"]] == [(e["index"], e["action"]) for e in dry["items"]]
    assert all("changes" not in e for e in real["items"])
    p0, p1, p2, p3, p4 = tree.pieces
    assert (row("pieces", p0).outer_length, row("pieces", p0).barcode) == (5, "B-0")
    assert (row("pieces", p2).is_active, row("pieces", p2).deleted_at) == (False, SENT_AT)
    assert (row("pieces", p3).is_active, row("pieces", p3).deleted_at) == (True, None)
    assert row("pieces", p4).assembly_id is None
    assert row("pieces", real["items"][0]["guid"], company).piece_id == "NEW"


def test_dry_run_of_a_cascading_soft_delete_writes_nothing(writer, company):
    tree = writer.tree(pieces=2, articles=2)
    before = state(company)

    body = writer.ok(
        "projects", [writer.item("projects", guid=tree.project, is_active=False)], query={"dry_run": "TRUE"}
    )

    assert body["dry_run"] is True and body["updated"] == 1
    assert body["items"][0]["changes"]["is_active"] == [True, False]
    assert state(company) == before


def test_dry_run_reports_pictures_by_size(writer, company):
    project = writer.project()
    guid = writer.component(project)

    body = writer.ok(
        "components",
        [writer.item("components", guid=guid, picture=base64.b64encode(b"abc").decode())],
        query={"dry_run": "true"},
    )

    assert body["items"][0]["changes"] == {"picture": [None, "<3 bytes>"]}
    assert row("components", guid, company).picture is None


def test_dry_run_refuses_an_invalid_batch_like_a_real_run(writer, company, problem):
    tree = writer.tree(pieces=1, articles=0)
    batch = [writer.item("pieces", guid=tree.pieces[0], outer_length="12")]
    before = state(company)

    dry = problem(writer.post("pieces", batch, query={"dry_run": "true"}), 422, "validation_error")
    real = problem(writer.post("pieces", batch), 422, "validation_error")

    assert (
        dry["errors"]
        == real["errors"]
        == [{"pointer": "/pieces/0/outer_length", "code": "invalid_integer", "detail": "Must be an integer."}]
    )
    assert state(company) == before


@pytest.mark.parametrize("raw", ["yes", "1", ""])
def test_an_invalid_flag_is_a_400(writer, company, problem, raw):
    body = problem(writer.post("projects", [writer.new("projects")], query={"dry_run": raw}), 400)

    assert body["code"] == "invalid_query_parameter"
    assert not MODELS["projects"].objects.exists()


# --- atomic=false -------------------------------------------------------------------------------


def test_partial_mode_writes_the_valid_items_and_reports_the_invalid_ones(writer, company):
    tree = writer.tree(pieces=2, articles=0)
    p0, p1 = tree.pieces
    new = new_guid()
    missing_component = new_guid()
    batch = [
        writer.new("pieces", guid=new, piece_id="OK-NEW", **links(tree)),
        writer.item("pieces", guid=p0, outer_length="12"),
        writer.item("pieces", guid=p1, outer_length=44),
        writer.new("pieces", guid=None, project_guid=tree.project, component_guid=missing_component),
        writer.new("pieces", guid=new.upper(), piece_id="DUPLICATE", **links(tree)),
        writer.item("pieces", guid=p0, piece_id="PC-0"),  # p0 again: a duplicate of item 1
    ]
    before = row("pieces", p0)

    response = writer.post("pieces", batch, query={"atomic": "false"})

    assert response.status_code == 200, response.content
    body = response.json()
    assert {k: body[k] for k in ("inserted", "updated", "unchanged", "errors")} == {
        "inserted": 1,
        "updated": 1,
        "unchanged": 0,
        "errors": 4,
    }
    assert body["items"] == [
        {"index": 0, "guid": new, "action": "inserted"},
        {
            "index": 1,
            "guid": p0,
            "action": "error",
            "errors": [
                {"pointer": "/pieces/1/outer_length", "code": "invalid_integer", "detail": "Must be an integer."}
            ],
        },
        {"index": 2, "guid": p1, "action": "updated"},
        {
            "index": 3,
            "guid": None,
            "action": "error",
            "errors": [
                {
                    "pointer": "/pieces/3/component_guid",
                    "code": "parent_not_found",
                    "detail": f"No component {missing_component} in this company.",
                }
            ],
        },
        {
            "index": 4,
            "guid": new,
            "action": "error",
            "errors": [
                {"pointer": "/pieces/4/guid", "code": "duplicate_in_batch", "detail": "Item 0 has the same guid."}
            ],
        },
        {
            "index": 5,
            "guid": p0,
            "action": "error",
            "errors": [
                {"pointer": "/pieces/5/guid", "code": "duplicate_in_batch", "detail": "Item 1 has the same guid."}
            ],
        },
    ]
    assert row("pieces", new, company).piece_id == "OK-NEW"
    assert row("pieces", p1, company).outer_length == 44
    stored_p0 = row("pieces", p0, company)
    assert (stored_p0.outer_length, stored_p0.updated_at) == (before.outer_length, before.updated_at)
    assert not MODELS["pieces"].objects.filter(piece_id="DUPLICATE").exists()
    assert MODELS["pieces"].objects.filter(company=company).count() == 3
    run = SyncRun.objects.get(request_id=response["X-Request-ID"])
    assert (run.status, run.inserted, run.updated, run.errors, run.atomic) == ("partial", 1, 1, 4, False)


def test_partial_mode_with_every_item_invalid_writes_nothing(writer, company):
    tree = writer.tree(pieces=1, articles=0)
    before = state(company)

    response = writer.post(
        "pieces",
        [writer.item("pieces", guid=tree.pieces[0], piece_id=None), writer.new("pieces", guid=None)],
        query={"atomic": "false"},
    )

    assert response.status_code == 200, response.content
    body = response.json()
    assert {k: body[k] for k in ("inserted", "updated", "unchanged", "errors")} == {
        "inserted": 0,
        "updated": 0,
        "unchanged": 0,
        "errors": 2,
    }
    assert [e["action"] for e in body["items"]] == ["error", "error"]
    assert body["items"][0]["errors"][0]["code"] == "null"
    assert {e["code"] for e in body["items"][1]["errors"]} == {"required"}
    assert state(company) == before
    run = SyncRun.objects.get(request_id=response["X-Request-ID"])
    assert (run.status, run.errors, run.atomic) == ("failed", 2, False)


def test_partial_mode_soft_deletes_valid_items_with_their_cascade(writer, company):
    tree = writer.tree(pieces=2, articles=1)

    body = writer.ok(
        "components",
        [
            writer.item("components", guid=tree.component, is_active=False, deleted_at=SENT),
            writer.item("components", guid=new_guid(), project_guid=new_guid(), code="X"),
        ],
        query={"atomic": "false"},
    )

    assert [e["action"] for e in body["items"]] == ["updated", "error"]
    for plural, guid in [("assemblies", tree.assembly), ("pieces", tree.pieces[0]), ("articles", tree.articles[0])]:
        stored = row(plural, guid, company)
        assert (stored.is_active, stored.deleted_at) == (False, SENT_AT), plural
    assert AuditEvent.objects.get(target_guid=tree.component).rows_touched == 5


def test_partial_mode_with_dry_run_writes_nothing(writer, company):
    project = writer.project()
    before = state(company)

    body = writer.ok(
        "components",
        [writer.new("components", project_guid=project), writer.new("components", project_guid=new_guid())],
        query={"atomic": "false", "dry_run": "true"},
    )

    assert {k: body[k] for k in ("inserted", "errors", "dry_run")} == {"inserted": 1, "errors": 1, "dry_run": True}
    assert state(company) == before


def test_partial_mode_still_rejects_a_forbidden_company_as_a_whole(writer, company, other_company, problem):
    project = writer.project()
    before = state(company)

    response = writer.post(
        "components",
        [
            writer.new("components", project_guid=project),
            writer.new("components", project_guid=project, company_guid=str(other_company.guid)),
        ],
        query={"atomic": "false"},
    )

    problem(response, 403, "company_mismatch")
    assert state(company) == before
    assert not MODELS["components"].objects.filter(company=other_company).exists()


def test_partial_mode_still_rejects_a_read_only_key_and_no_credentials(
    make_api_key, as_key, api, company, problem, writer
):
    project = writer.project()
    items = [writer.new("components", project_guid=project)]
    before = state(company)

    read_only = SyncClient(as_key(make_api_key(scopes=["sync:read"])[1]), company)
    problem(read_only.post("components", items, query={"atomic": "false"}), 403)
    anonymous = SyncClient(api, company)
    problem(anonymous.post("components", items, query={"atomic": "false"}), 401)

    assert state(company) == before


@pytest.mark.parametrize(
    ("query", "size", "code"),
    [
        ({"atomic": "false"}, 1001, "batch_too_large"),
        ({"atomic": "false", "verbose": "true"}, 1, "unknown_query_parameter"),
        ({"atomic": "nope"}, 1, "invalid_query_parameter"),
    ],
)
def test_partial_mode_still_rejects_malformed_requests(writer, company, problem, query, size, code):
    project = writer.project()
    before = state(company)

    response = writer.post("components", [writer.new("components", project_guid=project)] * size, query=query)

    problem(response, 400, code)
    assert state(company) == before


# --- Idempotency-Key ----------------------------------------------------------------------------

REPLAYED = "Idempotent-Replayed"


def test_a_retry_with_the_same_key_and_body_replays_the_answer_without_writing(writer, company):
    project = writer.project()
    items = [writer.new("components", guid=None, project_guid=project), writer.new("components", project_guid=project)]

    first = writer.post("components", items, HTTP_IDEMPOTENCY_KEY="order-4711")
    after_first = state(company)
    second = writer.post("components", items, HTTP_IDEMPOTENCY_KEY="order-4711")

    assert first.status_code == second.status_code == 200
    assert REPLAYED not in first
    assert second[REPLAYED] == "true"
    assert second.json() == first.json()
    assert second["Content-Type"] == "application/json"
    assert state(company) == after_first  # the server-guid item was not inserted twice
    assert MODELS["components"].objects.filter(company=company).count() == 2
    record = IdempotencyRecord.objects.get(company=company, key="order-4711")
    assert (record.status_code, record.response_body) == (200, first.json())
    assert record.expires_at - record.created_at == timedelta(hours=24)


def test_the_same_key_with_another_request_is_refused(writer, company, problem):
    project = writer.project()
    items = [writer.new("components", project_guid=project)]
    original = writer.post("components", items, HTTP_IDEMPOTENCY_KEY="k-1")
    assert original.status_code == 200
    after_first = state(company)

    changed_body = [{**items[0], "code": "OTHER"}]
    for plural, body, query in [
        ("components", changed_body, None),
        ("components", items, {"dry_run": "true"}),
        ("projects", [writer.new("projects")], None),
    ]:
        response = writer.post(plural, body, query=query, HTTP_IDEMPOTENCY_KEY="k-1")
        problem(response, 422, "idempotency_key_reused")
        assert REPLAYED not in response

    assert state(company) == after_first
    replay = writer.post("components", items, HTTP_IDEMPOTENCY_KEY="k-1")
    assert replay[REPLAYED] == "true" and replay.json() == original.json()


def test_a_failed_request_stores_nothing_so_its_key_can_be_used_again(writer, company, problem):
    project = writer.project()
    bad = [writer.new("components", project_guid=project, quantity=-1)]
    good = [writer.new("components", project_guid=project)]

    problem(writer.post("components", bad, HTTP_IDEMPOTENCY_KEY="retry-me"), 422, "validation_error")
    assert not IdempotencyRecord.objects.exists()
    again = writer.post("components", bad, HTTP_IDEMPOTENCY_KEY="retry-me")
    problem(again, 422, "validation_error")
    assert REPLAYED not in again

    response = writer.post("components", good, HTTP_IDEMPOTENCY_KEY="retry-me")

    assert response.status_code == 200 and REPLAYED not in response
    assert response.json()["inserted"] == 1
    assert row("components", good[0]["guid"], company).code == "C-1"
    assert IdempotencyRecord.objects.get(key="retry-me").response_body == response.json()


def test_keys_are_per_company(writer, other_writer, company, other_company):
    mine = writer.post("projects", [writer.new("projects", code="MINE")], HTTP_IDEMPOTENCY_KEY="shared")
    theirs = other_writer.post("projects", [other_writer.new("projects", code="THEIRS")], HTTP_IDEMPOTENCY_KEY="shared")

    assert mine.status_code == theirs.status_code == 200
    assert REPLAYED not in theirs
    assert theirs.json()["inserted"] == 1
    assert MODELS["projects"].objects.get(company=other_company).code == "THEIRS"
    assert IdempotencyRecord.objects.filter(key="shared").count() == 2


def test_an_expired_record_counts_as_absent(writer, company):
    items = [writer.new("projects", guid=None, code="AGAIN")]
    first = writer.post("projects", items, HTTP_IDEMPOTENCY_KEY="old")
    IdempotencyRecord.objects.filter(key="old").update(expires_at=timezone.now() - timedelta(seconds=1))

    second = writer.post("projects", items, HTTP_IDEMPOTENCY_KEY="old")

    assert second.status_code == 200 and REPLAYED not in second
    assert second.json()["items"][0]["guid"] != first.json()["items"][0]["guid"]
    assert MODELS["projects"].objects.filter(code="AGAIN").count() == 2
    record = IdempotencyRecord.objects.get(key="old")
    assert record.response_body == second.json() and record.expires_at > timezone.now()


@pytest.mark.parametrize(
    "idempotency_key",
    ["", "x" * 256, "bad\x01key", "bad\x7fkey", "tab\tkey", "new\nline"],
    ids=["empty", "256-chars", "control", "delete", "tab", "newline"],
)
def test_an_invalid_key_header_is_a_400(writer, company, problem, idempotency_key):
    before = state(company)

    response = writer.post("projects", [writer.new("projects")], HTTP_IDEMPOTENCY_KEY=idempotency_key)

    body = problem(response, 400, "invalid_idempotency_key")
    assert body["errors"][0]["pointer"] == "/headers/Idempotency-Key"
    assert state(company) == before
    assert not IdempotencyRecord.objects.exists()


@pytest.mark.parametrize("idempotency_key", ["x" * 255, "a", "with spaces and ~!@#$%^&*()"])
def test_a_key_of_1_to_255_printable_characters_is_accepted(writer, company, idempotency_key):
    response = writer.post("projects", [writer.new("projects")], HTTP_IDEMPOTENCY_KEY=idempotency_key)

    assert response.status_code == 200, response.content
    assert IdempotencyRecord.objects.get(company=company).key == idempotency_key


def test_dry_run_changes_show_timestamps_in_utc(writer, company):
    project = writer.project()

    body = writer.ok("projects", [writer.item("projects", guid=project, due_date=SENT)], query={"dry_run": "true"})

    assert body["items"][0]["changes"]["due_date"] == [None, "2026-01-02T03:04:05.654321Z"]
    assert row("projects", project, company).due_date is None
