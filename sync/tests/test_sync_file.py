"""sync_file: a JSON, NDJSON or CSV file through the sync service, in batches.

Each test checks what the command prints (stdout summary, stderr reports) and what the database
holds afterwards: rows and the SyncRun of every batch.
"""

from __future__ import annotations

import base64
import csv
import json
import re
import uuid
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from assemblies.models import Article, Component, Piece, Project
from sync.entities import SYNC_ENTITIES
from sync.models import SyncRun
from sync.services import sync_items
from tenants.caller import Caller
from tenants.roles import Role

SUMMARY = re.compile(
    r"^inserted=(?P<inserted>\d+) updated=(?P<updated>\d+) unchanged=(?P<unchanged>\d+) "
    r"errors=(?P<errors>\d+) batches=(?P<batches>\d+) elapsed=\d+\.\ds(?P<dry_run> dry_run=true)?$"
)


class TtyStringIO(StringIO):
    def isatty(self) -> bool:
        return True


def run(*args, tty: bool = False) -> tuple[str, str]:
    """Run sync_file; returns (stdout, stderr)."""
    stdout, stderr = StringIO(), TtyStringIO() if tty else StringIO()
    call_command("sync_file", *args, stdout=stdout, stderr=stderr)
    return stdout.getvalue(), stderr.getvalue()


def fails(*args) -> tuple[str, str, str]:
    """Run sync_file, which must fail with a one-line CommandError; returns (message, stdout, stderr)."""
    stdout, stderr = StringIO(), StringIO()
    with pytest.raises(CommandError) as raised:
        call_command("sync_file", *args, stdout=stdout, stderr=stderr)
    message = str(raised.value)
    assert message and "\n" not in message, message
    return message, stdout.getvalue(), stderr.getvalue()


def summary(stdout: str) -> dict:
    """The summary: the last stdout line, alone."""
    match = SUMMARY.match(stdout.splitlines()[-1])
    assert match, stdout
    counts = {name: int(value) for name, value in match.groupdict().items() if name != "dry_run"}
    counts["dry_run"] = bool(match["dry_run"])
    return counts


def counts(inserted=0, updated=0, unchanged=0, errors=0, batches=1, dry_run=False) -> dict:
    return dict(
        inserted=inserted, updated=updated, unchanged=unchanged, errors=errors, batches=batches, dry_run=dry_run
    )


def runs() -> list[SyncRun]:
    return list(SyncRun.objects.order_by("id"))


@pytest.fixture
def tree(company) -> dict[str, str]:
    """A project and a component (and an assembly), written through the sync service."""
    caller = Caller(company=company, role=Role.INTEGRATION)
    guids = {"project": str(uuid.uuid4()), "component": str(uuid.uuid4()), "assembly": str(uuid.uuid4())}
    links = {"company_guid": str(company.guid), "project_guid": guids["project"]}
    for plural, item in (
        ("projects", {"guid": guids["project"], "company_guid": str(company.guid), "code": "P-1"}),
        ("components", {"guid": guids["component"], **links, "code": "C-1"}),
        ("assemblies", {"guid": guids["assembly"], **links, "component_guid": guids["component"]}),
    ):
        sync_items(entity=SYNC_ENTITIES[plural], caller=caller, items=[item])
    return guids


@pytest.fixture
def company_guid(company) -> str:
    return str(company.guid)


def piece(tree, number: int, **fields) -> dict:
    """A piece item without company_guid (the command fills it in)."""
    return {
        "guid": str(uuid.uuid5(uuid.NAMESPACE_URL, f"piece-{number}")),
        "project_guid": tree["project"],
        "component_guid": tree["component"],
        "piece_id": f"PC-{number}",
        "outer_length": 1000 + number,
        **fields,
    }


def write_ndjson(path, items) -> str:
    path.write_text("".join(json.dumps(item) + "\n" for item in items))
    return str(path)


def write_csv(path, items) -> str:
    names = list(dict.fromkeys(name for item in items for name in item))
    with path.open("w", newline="") as file:
        writer = csv.DictWriter(file, fieldnames=names)
        writer.writeheader()
        writer.writerows(items)
    return str(path)


WRITERS = {
    "json-array": ("pieces.json", lambda path, items: path.write_text(json.dumps(items, indent=2))),
    "json-wrapper": ("pieces.json", lambda path, items: path.write_text(json.dumps({"pieces": items}))),
    "ndjson": ("pieces.ndjson", write_ndjson),
    "csv": ("pieces.csv", write_csv),
}


# --- Formats ------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", WRITERS)
def test_each_format_inserts_its_items_and_records_one_run(kind, tree, company, company_guid, tmp_path):
    name, write = WRITERS[kind]
    path = tmp_path / name
    items = [piece(tree, n, profile_code=f"RA-{n}") for n in range(3)]
    write(path, items)

    stdout, stderr = run("pieces", str(path), "--company", company_guid)

    assert summary(stdout) == counts(inserted=3)
    assert len(stdout.splitlines()) == 1
    assert stderr == ""  # no TTY: no progress bar, and no bad rows
    stored = {str(row.guid): row for row in Piece.objects.all()}
    assert set(stored) == {item["guid"] for item in items}
    for item in items:
        row = stored[item["guid"]]
        assert (row.company_id, row.piece_id, row.outer_length, row.profile_code) == (
            company.pk,
            item["piece_id"],
            item["outer_length"],
            item["profile_code"],
        )
        assert str(row.component.guid) == tree["component"] and row.assembly_id is None
    [sync_run] = runs()
    assert (sync_run.company, sync_run.entity, sync_run.endpoint, sync_run.status) == (
        company,
        "piece",
        "sync_file",
        "succeeded",
    )
    assert (sync_run.actor_user, sync_run.actor_api_key, sync_run.request_id) == (None, None, None)
    assert (sync_run.item_count, sync_run.inserted, sync_run.updated, sync_run.errors) == (3, 3, 0, 0)
    assert (sync_run.dry_run, sync_run.atomic, sync_run.error_summary) == (False, True, None)
    assert re.fullmatch(r"[0-9a-f]{64}", sync_run.request_hash)


def test_the_format_option_overrides_the_extension(tree, company_guid, tmp_path):
    path = tmp_path / "export.txt"
    write_ndjson(path, [piece(tree, 1)])

    assert "from its extension" in fails("pieces", str(path), "--company", company_guid)[0]
    stdout, _ = run("pieces", str(path), "--company", company_guid, "--format", "ndjson")

    assert summary(stdout) == counts(inserted=1)
    assert Piece.objects.count() == 1


def test_a_second_run_of_the_same_file_changes_nothing(tree, company_guid, tmp_path):
    path = write_ndjson(tmp_path / "pieces.ndjson", [piece(tree, n) for n in range(3)])
    run("pieces", path, "--company", company_guid)
    before = list(Piece.objects.order_by("id").values())

    stdout, _ = run("pieces", path, "--company", company_guid)

    assert summary(stdout) == counts(unchanged=3)
    assert list(Piece.objects.order_by("id").values()) == before
    first, second = runs()
    assert (first.inserted, first.unchanged, second.inserted, second.unchanged) == (3, 0, 0, 3)
    assert first.request_hash == second.request_hash  # the same batch: the same hash


def test_csv_cells_are_converted_by_the_field_types(company, company_guid, tree, tmp_path):
    project_guid = str(uuid.uuid4())
    projects = tmp_path / "projects.csv"
    projects.write_text(
        "guid,code,due_date,in_production,company_name\n"
        f"{project_guid},P-9,2026-11-22T10:00:00Z,TRUE,\n"
        f"{uuid.uuid4()},P-10,,false,Müller\n",
        encoding="utf-8",
    )
    components = tmp_path / "components.csv"
    components.write_text(
        "project_guid,code,quantity,picture,designation\n"
        f'{tree["project"]},W-01,4,{base64.b64encode(b"hello").decode()},"Two-sash window, 1200 x 1400"\n'
    )
    articles = tmp_path / "articles.csv"
    articles.write_text(
        "project_guid,component_guid,code,quantity,length,consume_group_priority,is_extra\n"
        f"{tree['project']},{tree['component']},HW-1,2.5,1200,-3,true\n"
    )

    assert summary(run("projects", str(projects), "--company", company_guid)[0]) == counts(inserted=2)
    assert summary(run("components", str(components), "--company", company_guid)[0]) == counts(inserted=1)
    assert summary(run("articles", str(articles), "--company", company_guid)[0]) == counts(inserted=1)

    project = Project.objects.get(guid=project_guid)
    assert (project.code, project.due_date.isoformat(), project.in_production) == (
        "P-9",
        "2026-11-22T10:00:00+00:00",
        True,
    )
    assert project.company_name is None  # empty cell: left out, so the default
    assert Project.objects.get(code="P-10").company_name == "Müller"
    component = Component.objects.get(code="W-01")
    assert (component.quantity, bytes(component.picture), component.designation) == (
        4,
        b"hello",
        "Two-sash window, 1200 x 1400",
    )
    article = Article.objects.get(code="HW-1")
    assert (article.quantity, article.length, article.consume_group_priority, article.is_extra) == (
        2.5,
        1200.0,
        -3,
        True,
    )
    assert isinstance(article.length, float)


def test_an_empty_csv_cell_leaves_the_stored_value(tree, company_guid, tmp_path):
    guid = str(uuid.uuid4())
    path = tmp_path / "pieces.csv"
    path.write_text(
        f"guid,project_guid,component_guid,piece_id,barcode,outer_length\n"
        f"{guid},{tree['project']},{tree['component']},PC-1,4000001,1200\n"
    )
    run("pieces", str(path), "--company", company_guid)
    path.write_text(f"guid,piece_id,barcode,outer_length\n{guid},,,1300\n")

    stdout, _ = run("pieces", str(path), "--company", company_guid)

    assert summary(stdout) == counts(updated=1)
    stored = Piece.objects.get(guid=guid)
    assert (stored.piece_id, stored.barcode, stored.outer_length) == ("PC-1", "4000001", 1300)


def test_a_csv_cell_that_does_not_convert_gets_the_apis_type_error(tree, company_guid, tmp_path):
    path = tmp_path / "pieces.csv"
    write_csv(path, [piece(tree, 1, outer_length="12.5", is_active="yes")])

    message, _, stderr = fails("pieces", str(path), "--company", company_guid)

    assert stderr.splitlines() == [
        f"{path}:2: /outer_length invalid_integer: Must be an integer.",
        f"{path}:2: /is_active invalid_boolean: Must be a JSON boolean (true or false).",
    ]
    assert message == "Batch 1 (lines 2-2) has 1 bad row; nothing was written and the command stopped."
    assert Piece.objects.count() == 0


# --- company_guid -------------------------------------------------------------------------------


def test_items_without_company_guid_get_the_company_option(tree, company, company_guid, tmp_path):
    path = write_ndjson(tmp_path / "pieces.ndjson", [piece(tree, 1), piece(tree, 2, company_guid=company_guid.upper())])

    stdout, _ = run("pieces", path, "--company", company_guid)

    assert summary(stdout) == counts(inserted=2)
    assert set(Piece.objects.values_list("company_id", flat=True)) == {company.pk}


def test_an_item_naming_another_company_stops_the_command(tree, other_company, company, company_guid, tmp_path):
    path = write_ndjson(
        tmp_path / "pieces.ndjson",
        [piece(tree, 1), piece(tree, 2), piece(tree, 3, company_guid=str(other_company.guid))],
    )

    message, _, _ = fails("pieces", path, "--company", company_guid)

    assert message.startswith(f"{path}:3: the item names company {other_company.guid}, not --company {company.guid}")
    assert "refused as a whole" in message
    assert Piece.objects.count() == 0
    [sync_run] = runs()
    assert (sync_run.status, sync_run.company, sync_run.endpoint, sync_run.inserted) == (
        "failed",
        company,
        "sync_file",
        0,
    )


# --- Batches ------------------------------------------------------------------------------------


def test_a_file_runs_in_batches_of_the_batch_size(tree, company, company_guid, tmp_path):
    path = write_ndjson(tmp_path / "pieces.ndjson", [piece(tree, n) for n in range(2500)])

    stdout, _ = run("pieces", path, "--company", company_guid, "--batch-size", "1000")

    assert summary(stdout) == counts(inserted=2500, batches=3)
    assert Piece.objects.filter(company=company).count() == 2500
    recorded = runs()
    assert [(r.item_count, r.inserted, r.status, r.endpoint) for r in recorded] == [
        (1000, 1000, "succeeded", "sync_file"),
        (1000, 1000, "succeeded", "sync_file"),
        (500, 500, "succeeded", "sync_file"),
    ]
    assert len({r.request_hash for r in recorded}) == 3


def test_the_progress_bar_is_drawn_on_a_terminal_only(tree, company_guid, tmp_path):
    path = write_ndjson(tmp_path / "pieces.ndjson", [piece(tree, n) for n in range(3)])

    stdout, stderr = run("pieces", path, "--company", company_guid, "--batch-size", "2", tty=True)

    assert stderr == ("\r[####################..........] 2/3 pieces\r[##############################] 3/3 pieces\n")
    assert summary(stdout) == counts(updated=0, inserted=3, batches=2)
    assert "\r" not in stdout


# --- Bad rows and their lines ---------------------------------------------------------------------


def test_ndjson_bad_rows_are_reported_with_their_physical_line(tree, company_guid, tmp_path):
    path = tmp_path / "pieces.ndjson"
    lines = [
        json.dumps(piece(tree, 1)),
        "",
        "   ",
        json.dumps(piece(tree, 2, outer_length="long")),
        json.dumps(piece(tree, 3)),
        json.dumps([1, 2]),
        "",
    ]
    path.write_text("\n".join(lines))

    message, stdout, stderr = fails("pieces", str(path), "--company", company_guid)

    assert stderr.splitlines() == [
        f"{path}:4: /outer_length invalid_integer: Must be an integer.",
        f"{path}:6: (item) not_an_object: Each item must be an object.",
    ]
    assert summary(stdout) == counts(errors=2)
    assert message == "Batch 1 (lines 1-6) has 2 bad rows; nothing was written and the command stopped."
    assert Piece.objects.count() == 0
    [sync_run] = runs()
    assert (sync_run.status, sync_run.errors, sync_run.item_count) == ("failed", 2, 4)
    assert sync_run.error_summary["errors"][0] == {
        "pointer": "/pieces/1/outer_length",  # as the API records it: the index inside the batch
        "code": "invalid_integer",
        "detail": "Must be an integer.",
    }


def test_csv_bad_rows_are_reported_with_their_physical_line(tree, company_guid, tmp_path):
    path, unknown = tmp_path / "pieces.csv", uuid.uuid4()
    path.write_text(
        "project_guid,component_guid,piece_id,info2,outer_length\n"
        f'{tree["project"]},{tree["component"]},PC-1,"two\nlines",1200\n'
        "\n"
        f"{tree['project']},{tree['component']},,note,-\n"
        f"{tree['project']},{unknown},PC-3,,1\n"
    )

    _, _, stderr = fails("pieces", str(path), "--company", company_guid)

    assert stderr.splitlines() == [
        f"{path}:5: /outer_length invalid_integer: Must be an integer.",
        f"{path}:5: /piece_id required: This field is required.",
        f"{path}:6: /component_guid parent_not_found: No component {unknown} in this company.",
    ]
    assert Piece.objects.count() == 0


@pytest.mark.parametrize(("wrapped", "pointer"), [(False, "/2/outer_length"), (True, "/pieces/2/outer_length")])
def test_json_bad_rows_are_reported_with_their_index_and_line(wrapped, pointer, tree, company_guid, tmp_path):
    path = tmp_path / "pieces.json"
    body = [
        json.dumps(piece(tree, 0)) + ",",
        json.dumps(piece(tree, 1)) + ",",
        "",
        "  " + json.dumps(piece(tree, 2, outer_length=2**40)),
    ]
    opening, closing = ('{"pieces": [', "]}") if wrapped else ("[", "]")
    path.write_text("\n".join([opening, *body, closing]))

    _, _, stderr = fails("pieces", str(path), "--company", company_guid)

    assert stderr.splitlines() == [
        f"{path}:5: {pointer} max_value: Ensure this value is less than or equal to 2147483647."
    ]
    assert Piece.objects.count() == 0


def test_partial_writes_the_good_rows_and_reports_the_bad(tree, company, company_guid, tmp_path):
    path = write_ndjson(
        tmp_path / "pieces.ndjson",
        [piece(tree, 1), piece(tree, 2, piece_id=""), piece(tree, 3), piece(tree, 4, outer_length=None)],
    )

    stdout, stderr = run("pieces", path, "--company", company_guid, "--partial", "--batch-size", "2")

    assert summary(stdout) == counts(inserted=3, errors=1, batches=2)
    assert stderr.splitlines() == [f"{path}:2: /piece_id blank: This field may not be blank."]
    assert sorted(Piece.objects.values_list("piece_id", flat=True)) == ["PC-1", "PC-3", "PC-4"]
    assert [(r.status, r.atomic, r.inserted, r.errors) for r in runs()] == [
        ("partial", False, 1, 1),
        ("succeeded", False, 2, 0),
    ]


def test_atomic_stops_at_the_first_failing_batch_and_keeps_the_ones_before(tree, company_guid, tmp_path):
    items = [piece(tree, n) for n in range(6)]
    items[3]["outer_length"] = "x"
    items[4]["angle_left"] = True
    path = write_ndjson(tmp_path / "pieces.ndjson", items)

    message, stdout, stderr = fails("pieces", path, "--company", company_guid, "--batch-size", "2")

    assert message == (
        "Batch 2 (lines 3-4) has 1 bad row; nothing of it was written and the command stopped; "
        "the 2 items of the 1 batch before it stay written."
    )
    assert stderr.splitlines() == [f"{path}:4: /outer_length invalid_integer: Must be an integer."]
    assert summary(stdout) == counts(inserted=2, errors=1, batches=2)
    assert sorted(Piece.objects.values_list("piece_id", flat=True)) == ["PC-0", "PC-1"]
    assert [(r.status, r.item_count, r.inserted, r.errors) for r in runs()] == [
        ("succeeded", 2, 2, 0),
        ("failed", 2, 0, 1),
    ]  # the third batch never ran


def test_dry_run_writes_nothing(tree, company_guid, tmp_path):
    path = write_ndjson(tmp_path / "pieces.ndjson", [piece(tree, n) for n in range(3)])

    stdout, stderr = run("pieces", path, "--company", company_guid, "--dry-run", "--batch-size", "2")

    assert summary(stdout) == counts(inserted=3, batches=2, dry_run=True)
    assert stderr == ""
    assert Piece.objects.count() == 0
    # Recorded as the API records a dry-run request: a run with dry_run set, no rows written.
    assert [(r.dry_run, r.status, r.inserted) for r in runs()] == [(True, "succeeded", 2), (True, "succeeded", 1)]


def test_dry_run_checks_every_batch_and_lists_every_bad_row(tree, company_guid, tmp_path):
    items = [piece(tree, n) for n in range(6)]
    items[1]["outer_length"] = "x"
    items[5]["piece_id"] = None
    path = write_ndjson(tmp_path / "pieces.ndjson", items)

    message, stdout, stderr = fails("pieces", path, "--company", company_guid, "--dry-run", "--batch-size", "2")

    assert stderr.splitlines() == [
        f"{path}:2: /outer_length invalid_integer: Must be an integer.",
        f"{path}:6: /piece_id null: This field may not be null.",
    ]
    assert message == "2 bad rows in 2 of 3 batches; nothing was written (dry run)."
    assert summary(stdout) == counts(inserted=2, errors=2, batches=3, dry_run=True)
    assert Piece.objects.count() == 0
    assert [r.status for r in runs()] == ["failed", "succeeded", "failed"]


# --- Refusals -----------------------------------------------------------------------------------


def _bad_files(tmp_path, tree) -> dict[str, tuple[str, list[str], str]]:
    """name → (file name, file lines, the message's expected start, after the path)."""
    good = json.dumps(piece(tree, 1))
    return {
        "malformed ndjson": (
            "p.ndjson",
            [good, good, '{"piece_id": "PC-3",'],
            ":3: not valid JSON at column 21: Expecting property name enclosed in double quotes.",
        ),
        "malformed json": (
            "p.json",
            ["[", good + ",", good, "}"],
            ":4: not valid JSON at column 1: expected ',' or ']'.",
        ),
        "json scalar": ("p.json", ["42"], ":1: the document must be a JSON array or"),
        "json unknown key": ("p.json", ['{"items": []}'], ":1: unknown top-level key 'items'"),
        "json no wrapper": ("p.json", ["{}"], ":1: the object has no 'pieces' key"),
        "json not an array": ("p.json", ['{"pieces": {}}'], ":1: 'pieces' must be an array"),
        "json trailing data": (
            "p.json",
            ["[]", "[]"],
            ":2: not valid JSON at column 1: extra data after the document.",
        ),
        "empty json": ("p.json", [""], ": the file is empty"),
        "csv wrong width": ("p.csv", ["piece_id,outer_length", "PC-1,1", "PC-2"], ":3: 1 cell, but the header"),
        "csv unknown column": ("p.csv", ["piece_id,length", "PC-1,1"], ":1: column 'length' is not a field"),
        "csv duplicate column": ("p.csv", ["piece_id,piece_id", "a,b"], ":1: column 'piece_id' appears twice"),
        "csv bad quoting": ("p.csv", ["piece_id,info2", 'PC-1,"a"b'], ":2: not valid CSV"),
        "empty csv": ("p.csv", [], ": the file is empty"),
    }


@pytest.mark.parametrize(
    "case",
    [
        "malformed ndjson",
        "malformed json",
        "json scalar",
        "json unknown key",
        "json no wrapper",
        "json not an array",
        "json trailing data",
        "empty json",
        "csv wrong width",
        "csv unknown column",
        "csv duplicate column",
        "csv bad quoting",
        "empty csv",
    ],
)
def test_a_malformed_file_writes_nothing(case, tree, company_guid, tmp_path):
    name, lines, expected = _bad_files(tmp_path, tree)[case]
    path = tmp_path / name
    path.write_text("\n".join(lines))

    message, stdout, stderr = fails("pieces", str(path), "--company", company_guid)

    assert message.startswith(f"{path}{expected}"), message
    assert (stdout, stderr) == ("", "")
    assert Piece.objects.count() == 0
    assert runs() == []


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (
            ["widgets", "{path}"],
            "Unknown entity 'widgets'; one of: projects, components, assemblies, pieces, articles, "
            "cells, resources, jobs, parts, operations.",
        ),
        (["pieces", "{missing}"], "Cannot read {missing}: no such file."),
        (["pieces", "{tmp}"], "Cannot read {tmp}: not a file."),
        (["pieces", "{path}", "--format", "xml"], "Unknown --format 'xml'; one of: json, ndjson, csv."),
        (["pieces", "{path}", "--batch-size", "0"], "--batch-size '0' must be an integer from 1 to 1000"),
        (["pieces", "{path}", "--batch-size", "1001"], "--batch-size '1001' must be an integer from 1 to 1000"),
        (["pieces", "{path}", "--batch-size", "ten"], "--batch-size 'ten' must be an integer from 1 to 1000"),
        (["pieces", "{binary}"], "Cannot read {binary}: not UTF-8 text"),
    ],
)
def test_bad_arguments_are_refused_with_one_line(args, expected, tree, company_guid, tmp_path):
    path = write_ndjson(tmp_path / "pieces.ndjson", [piece(tree, 1)])
    binary = tmp_path / "binary.ndjson"
    binary.write_bytes(b'{"piece_id": "\xff"}\n')
    directory = tmp_path / "directory.json"
    directory.mkdir()
    names = {"path": path, "missing": tmp_path / "missing.json", "tmp": directory, "binary": binary}

    message, stdout, _ = fails(*[arg.format(**names) for arg in args], "--company", company_guid)

    assert message.startswith(expected.format(**names)), message
    assert stdout == ""
    assert (Piece.objects.count(), runs()) == (0, [])


@pytest.mark.parametrize(
    ("company_arg", "expected"),
    [
        ("not-a-guid", "--company 'not-a-guid' is not a valid UUID."),
        (str(uuid.UUID(int=7)), f"No company {uuid.UUID(int=7)}."),
    ],
)
def test_an_unknown_company_is_refused(company_arg, expected, tree, tmp_path):
    path = write_ndjson(tmp_path / "pieces.ndjson", [piece(tree, 1)])

    message, _, _ = fails("pieces", path, "--company", company_arg)

    assert message == expected
    assert (Piece.objects.count(), runs()) == (0, [])


def test_a_deactivated_company_is_refused(tree, company, company_guid, tmp_path):
    path = write_ndjson(tmp_path / "pieces.ndjson", [piece(tree, 1)])
    company.is_active = False
    company.save(update_fields=["is_active"])

    message, _, _ = fails("pieces", path, "--company", company_guid)

    assert message == f"Company {company.guid} is deactivated; nothing can be synced for it."
    assert (Piece.objects.count(), runs()) == (0, [])


def test_the_default_batch_size_is_1000_or_sync_max_items_when_lower(tree, company_guid, tmp_path, settings):
    settings.SYNC_MAX_ITEMS = 2
    path = write_ndjson(tmp_path / "pieces.ndjson", [piece(tree, n) for n in range(3)])

    stdout, _ = run("pieces", path, "--company", company_guid)

    assert summary(stdout) == counts(inserted=3, batches=2)
    assert [r.item_count for r in runs()] == [2, 1]
    assert "from 1 to 2" in fails("pieces", path, "--company", company_guid, "--batch-size", "3")[0]
