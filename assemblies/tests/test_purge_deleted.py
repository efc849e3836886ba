"""purge_deleted: hard-delete rows soft-deleted before a cut-off, children first.

Trees are written with the ORM (this app may not import ``sync``) and stamped deleted with
explicit times; each test checks the printed counts and which rows are left in every table.
"""

from __future__ import annotations

import datetime as dt
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from assemblies.management.commands import purge_deleted
from assemblies.models import Article, Assembly, Cell, Component, Job, Operation, Part, Piece, Project, Resource

# Every table, in purge order (the order of the report's lines).
MODELS = {
    "pieces": Piece,
    "articles": Article,
    "assemblies": Assembly,
    "components": Component,
    "projects": Project,
    "operations": Operation,
    "parts": Part,
    "jobs": Job,
    "cells": Cell,
    "resources": Resource,
}
# The field that names a row in these tests.
LABEL = {
    Piece: "piece_id",
    Article: "code",
    Assembly: "trolley",
    Component: "code",
    Project: "code",
    Operation: "external_id",
    Part: "external_id",
    Job: "external_id",
    Cell: "external_id",
    Resource: "external_id",
}
NOW = timezone.now()
OLD = NOW - dt.timedelta(days=200)  # before a 90-day cut-off
RECENT = NOW - dt.timedelta(days=10)  # after it


def run(*args) -> tuple[list[str], str]:
    stdout, stderr = StringIO(), StringIO()
    call_command("purge_deleted", *args, stdout=stdout, stderr=stderr)
    return stdout.getvalue().splitlines(), stderr.getvalue()


def report(verb: str, keep: str, **figures: tuple[int, int]) -> list[str]:
    """The expected stdout: one line per table in purge order, then the total."""
    lines = [f"{name}: {verb} {figures.get(name, (0, 0))[0]}, {keep} {figures.get(name, (0, 0))[1]}" for name in MODELS]
    deleted = sum(deleted for deleted, _ in figures.values())
    kept = sum(kept for _, kept in figures.values())
    return [*lines, f"total: {verb} {deleted}, {keep} {kept}"]


def left() -> dict[str, set[str]]:
    """The codes of the rows left in each table."""
    return {name: set(model.objects.values_list(LABEL[model], flat=True)) for name, model in MODELS.items()}


def make(model, company, label: str, **fields):
    now = timezone.now()
    return model.objects.create(company=company, created_at=now, updated_at=now, **{LABEL[model]: label}, **fields)


def tree(company, name: str) -> dict:
    """project → component → assembly → 2 pieces, plus a loose piece and an article."""
    project = make(Project, company, name)
    component = make(Component, company, f"{name}.C", project=project)
    assembly = make(Assembly, company, f"{name}.A", project=project, component=component)
    links = {"project": project, "component": component}
    return {
        "project": project,
        "component": component,
        "assembly": assembly,
        "piece1": make(Piece, company, f"{name}.p1", **links, assembly=assembly),
        "piece2": make(Piece, company, f"{name}.p2", **links, assembly=assembly),
        "loose": make(Piece, company, f"{name}.l", **links),
        "article": make(Article, company, f"{name}.a", **links),
    }


def delete(*rows, at) -> None:
    for row in rows:
        type(row).objects.filter(pk=row.pk).update(is_active=False, deleted_at=at, updated_at=at)


def test_a_tree_deleted_before_the_cut_off_is_purged_in_every_company(company, other_company):
    gone, also_gone = tree(company, "P"), tree(other_company, "Q")
    tree(company, "R")  # active: untouched
    delete(*gone.values(), at=OLD)
    delete(*also_gone.values(), at=OLD - dt.timedelta(days=100))

    with CaptureQueriesContext(connection) as queries:
        stdout, stderr = run("--older-than", "90d")

    assert stdout == report(
        "deleted", "kept", pieces=(6, 0), articles=(2, 0), assemblies=(2, 0), components=(2, 0), projects=(2, 0)
    )
    assert stderr.startswith("Purging rows soft-deleted before ")
    assert left() == {
        "pieces": {"R.p1", "R.p2", "R.l"},
        "articles": {"R.a"},
        "assemblies": {"R.A"},
        "components": {"R.C"},
        "projects": {"R"},
        **{name: set() for name in ("operations", "parts", "jobs", "cells", "resources")},
    }
    assert all(row.is_active for model in MODELS.values() for row in model.objects.all())
    deletes = [query["sql"] for query in queries.captured_queries if query["sql"].startswith("DELETE")]
    tables = [sql.split()[2].strip('"') for sql in deletes]
    # Set-based and children first: one DELETE per table, leaves before parents.
    assert tables == [model._meta.db_table for model in MODELS.values()]


def test_rows_deleted_after_the_cut_off_stay(company):
    rows = tree(company, "P")
    delete(*rows.values(), at=RECENT)

    stdout, _ = run("--older-than", "90d")

    assert stdout == report("deleted", "kept")
    assert left()["pieces"] == {"P.p1", "P.p2", "P.l"} and left()["projects"] == {"P"}
    assert not Project.objects.get().is_active


@pytest.mark.parametrize(
    ("age", "purged", "stays"),
    [("36h", dt.timedelta(hours=40), dt.timedelta(hours=30)), ("1w", dt.timedelta(days=8), dt.timedelta(days=6))],
)
def test_hours_and_weeks_set_the_cut_off(age, purged, stays, company):
    rows = tree(company, "P")
    delete(rows["piece1"], at=NOW - purged)
    delete(rows["piece2"], at=NOW - stays)

    stdout, _ = run("--older-than", age)

    assert stdout == report("deleted", "kept", pieces=(1, 0))
    assert left()["pieces"] == {"P.p2", "P.l"}


def test_a_child_left_behind_keeps_its_deleted_parents(company):
    rows = tree(company, "P")
    delete(rows["project"], rows["component"], rows["assembly"], rows["piece1"], rows["loose"], rows["article"], at=OLD)
    delete(rows["piece2"], at=RECENT)  # deleted more recently: not purgeable yet

    stdout, stderr = run("--older-than", "90d")

    # piece2 still points at the assembly, the component and the project: all three are kept.
    assert stdout == report(
        "deleted", "kept", pieces=(2, 0), articles=(1, 0), assemblies=(0, 1), components=(0, 1), projects=(0, 1)
    )
    assert "3 rows deleted before the cut-off were kept" in stderr
    assert left() == {
        "pieces": {"P.p2"},
        "articles": set(),
        "assemblies": {"P.A"},
        "components": {"P.C"},
        "projects": {"P"},
        **{name: set() for name in ("operations", "parts", "jobs", "cells", "resources")},
    }


def mes_tree(company, name: str) -> dict:
    """cell ← operation → part → job, and a resource."""
    cell = make(Cell, company, f"{name}.cell", name=f"{name} cell", external_source="SAP")
    job = make(Job, company, f"{name}.job", job_number=name, external_source="SAP")
    part = make(Part, company, f"{name}.part", job=job, part_number="P", external_source="SAP")
    operation = make(
        Operation, company, f"{name}.op", part=part, cell=cell, operation_name="cut", sequence=1, external_source="SAP"
    )
    resource = make(Resource, company, f"{name}.res", name="mill", type="equipment", external_source="SAP")
    return {"cell": cell, "job": job, "part": part, "operation": operation, "resource": resource}


def test_mes_rows_are_purged_children_first_and_a_referenced_cell_is_kept(company):
    gone, stays = mes_tree(company, "M"), mes_tree(company, "N")
    delete(*gone.values(), at=OLD)
    delete(stays["cell"], at=OLD)  # still named by N's active operation

    stdout, stderr = run("--older-than", "90d")

    assert stdout == report(
        "deleted", "kept", operations=(1, 0), parts=(1, 0), jobs=(1, 0), cells=(1, 1), resources=(1, 0)
    )
    assert "1 row deleted before the cut-off was kept" in stderr
    assert left()["cells"] == {"N.cell"} and left()["operations"] == {"N.op"}
    assert left()["jobs"] == {"N.job"} and left()["resources"] == {"N.res"}


def test_an_active_child_keeps_its_deleted_parent(company):
    rows = tree(company, "P")
    other = make(Component, company, "P.C2", project=rows["project"])
    delete(rows["project"], other, at=OLD)  # the first component and all below it stay active

    stdout, _ = run("--older-than", "90d")

    assert stdout == report("deleted", "kept", components=(1, 0), projects=(0, 1))
    assert left()["components"] == {"P.C"}
    assert left()["projects"] == {"P"}
    assert len(left()["pieces"]) == 3


def test_a_later_purge_takes_what_an_earlier_one_kept(company):
    rows = tree(company, "P")
    delete(*[row for key, row in rows.items() if key != "piece2"], at=OLD)
    delete(rows["piece2"], at=RECENT)
    run("--older-than", "90d")

    stdout, _ = run("--older-than", "1w")

    assert stdout == report("deleted", "kept", pieces=(1, 0), assemblies=(1, 0), components=(1, 0), projects=(1, 0))
    assert left() == {name: set() for name in MODELS}


def test_dry_run_counts_and_deletes_nothing(company):
    rows = tree(company, "P")
    delete(*[row for key, row in rows.items() if key != "piece2"], at=OLD)
    delete(rows["piece2"], at=RECENT)
    before = {name: list(model.objects.order_by("id").values()) for name, model in MODELS.items()}

    stdout, stderr = run("--older-than", "90d", "--dry-run")

    assert stdout == report(
        "would delete",
        "would keep",
        pieces=(2, 0),
        articles=(1, 0),
        assemblies=(0, 1),
        components=(0, 1),
        projects=(0, 1),
    )
    assert "Dry run: nothing was deleted." in stderr
    assert {name: list(model.objects.order_by("id").values()) for name, model in MODELS.items()} == before


@pytest.mark.parametrize("age", ["90", "90m", "90 days", "0d", "-5d", "d", "1.5d", "9999999999999999w", "", "90D"])
def test_a_bad_age_is_refused(age, company):
    rows = tree(company, "P")
    delete(*rows.values(), at=OLD)

    with pytest.raises(CommandError) as raised:
        run(f"--older-than={age}")  # one argument, so "-5d" is not read as an option

    message = str(raised.value)
    assert "\n" not in message
    assert message.startswith(f"--older-than {age!r} ")
    assert left()["projects"] == {"P"} and len(left()["pieces"]) == 3


@pytest.mark.django_db(transaction=True)
def test_a_reference_the_purge_does_not_know_rolls_everything_back(company, monkeypatch):
    """A foreign key that still points at a purged row (here: one the purge is made blind to)
    must end in a one-line CommandError with nothing deleted, never in a traceback."""
    rows = tree(company, "P")
    delete(rows["project"], rows["component"], rows["piece1"], at=OLD)  # the assembly stays active
    monkeypatch.setattr(purge_deleted, "references", lambda model: [])

    with pytest.raises(CommandError) as raised:
        run("--older-than", "90d")

    message = str(raised.value)
    assert message.startswith("The purge was rolled back, nothing was deleted: ")
    assert "\n" not in message
    assert len(left()["pieces"]) == 3
    assert left()["components"] == {"P.C"} and left()["projects"] == {"P"}
