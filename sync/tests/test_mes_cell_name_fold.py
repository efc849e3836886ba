"""Cell names are compared by one fold everywhere (docs/decisions.md).

References by ``cell_name`` and the sync engine's live-uniqueness check fold with
``cell_name_key`` (Unicode case folding); the database's unique index is a backstop on the
ASCII letters only, on SQLite and PostgreSQL alike, so it never refuses a name the engine
accepted. Before, the index used PostgreSQL's locale ``lower()`` (``İ`` → ``i``) while the
engine used ``casefold`` (``İ`` → ``i̇``): ``İx`` then ``ix`` was a 409 "retry" that no retry
could fix. Run these on PostgreSQL too.
"""

from __future__ import annotations

import pytest
from django.db import IntegrityError, transaction

from assemblies.models import Cell, Operation
from sync.models import SyncRun

from .factories import run_of
from .mes import bulk, failure, put, state, success

pytestmark = pytest.mark.django_db

SOURCE = "SAP"

# (first name, second name): names one fold keeps apart, and names it makes equal.
DISTINCT = [
    pytest.param("İx", "ix", id="dotted-capital-I-and-i"),  # PostgreSQL's lower() made these equal
    pytest.param("ix", "İx", id="i-and-dotted-capital-I"),
    pytest.param("Ix", "ıx", id="I-and-dotless-i"),
]
SAME = [
    pytest.param("Straße", "STRASSE", id="sharp-s-and-SS"),
    pytest.param("STRASSE", "straße", id="SS-and-sharp-s"),
    pytest.param("ΣΑΣ", "σας", id="capital-sigma-and-final-sigma"),
    pytest.param("σας", "ΣΑΣ", id="final-sigma-and-capital-sigma"),
    pytest.param("ΣΑΣ", "σασ", id="capital-and-small-sigma"),
    pytest.param("\u212ailn", "kiln", id="kelvin-sign-and-k"),
    pytest.param("Cutting", "cUTTING", id="ascii"),
]


def cell(external_id: str, name: str) -> dict:
    return {"external_id": external_id, "external_source": SOURCE, "name": name}


def live_names(company) -> list[tuple[str, str]]:
    return sorted(Cell.objects.filter(company=company, is_active=True).values_list("external_id", "name"))


def operation(external_id: str, cell_name: str) -> dict:
    """A job with one part and one operation naming its cell by ``cell_name``."""
    return {
        "external_id": "SO-1",
        "external_source": SOURCE,
        "job_number": "JOB-1",
        "parts": [
            {
                "external_id": "SO-1-10",
                "part_number": "P-1",
                "operations": [
                    {"external_id": external_id, "operation_name": "Op", "sequence": 1, "cell_name": cell_name}
                ],
            }
        ],
    }


@pytest.mark.parametrize(("first", "second"), DISTINCT)
def test_names_the_fold_keeps_apart_are_two_cells_in_two_requests(client, company, first, second):
    success(put(client, "cells", cell("WC-1", first)), 201)

    response = put(client, "cells", cell("WC-2", second))

    assert success(response, 201)["action"] == "created"
    assert live_names(company) == [("WC-1", first), ("WC-2", second)]
    assert run_of(response).status == "succeeded"
    # … and each name finds its own cell
    success(put(client, "jobs", operation("OP-1", second)), 201)
    assert Operation.objects.get(company=company).cell.external_id == "WC-2"
    success(put(client, "jobs", operation("OP-1", first)), 200)
    assert Operation.objects.get(company=company).cell.external_id == "WC-1"


@pytest.mark.parametrize(("first", "second"), DISTINCT)
def test_names_the_fold_keeps_apart_are_two_cells_in_one_request(client, company, first, second):
    data = success(bulk(client, "cells", {"cells": [cell("WC-1", first), cell("WC-2", second)]}))

    assert (data["created"], data["errors"]) == (2, 0)
    assert live_names(company) == [("WC-1", first), ("WC-2", second)]


@pytest.mark.parametrize(("first", "second"), SAME)
def test_names_the_fold_makes_equal_are_a_clean_422_every_time(client, company, first, second):
    success(put(client, "cells", cell("WC-1", first)), 201)
    before = state(company)

    for _attempt in range(2):  # a retry gets the same answer: never a 409 "retry"
        response = put(client, "cells", cell("WC-2", second))
        error = failure(response, 422, "VALIDATION_ERROR")
        assert error["details"] == [
            {
                "field": "name",
                "code": "not_unique",
                "message": f"name {second.casefold()!r} is already used by another live cell.",
            }
        ]
        assert state(company) == before
        assert (run_of(response).status, run_of(response).errors) == ("failed", 1)
    # The stored cell is found by either spelling.
    success(put(client, "jobs", operation("OP-1", second)), 201)
    assert Operation.objects.get(company=company).cell.external_id == "WC-1"


@pytest.mark.parametrize(("first", "second"), SAME)
def test_names_the_fold_makes_equal_in_one_request_refuse_the_later_item(client, company, first, second):
    data = success(bulk(client, "cells", {"cells": [cell("WC-1", first), cell("WC-2", second)]}))

    assert (data["created"], data["errors"]) == (1, 1)
    assert data["results"][1]["details"] == [
        {
            "field": "name",
            "code": "not_unique",
            "message": f"name {second.casefold()!r} is already used by another live cell.",
        }
    ]
    assert live_names(company) == [("WC-1", first)]
    runs = SyncRun.objects.filter(endpoint="POST /api-cells/bulk-sync")
    assert [(run.status, run.inserted, run.errors) for run in runs] == [("partial", 1, 1)]


def test_a_deleted_cells_name_may_be_taken_by_another_spelling(client, company):
    success(put(client, "cells", cell("WC-1", "Straße")), 201)
    success(put(client, "cells", {**cell("WC-1", "Straße"), "is_active": False}), 200)

    success(put(client, "cells", cell("WC-2", "STRASSE")), 201)

    assert live_names(company) == [("WC-2", "STRASSE")]


@pytest.mark.parametrize(
    ("first", "second", "refused"),
    [
        pytest.param("Ab", "aB", True, id="ascii-case"),
        pytest.param("İx", "ix", False, id="beyond-ascii"),
        pytest.param("Straße", "STRASSE", False, id="sharp-s"),
    ],
)
def test_the_database_index_folds_ascii_letters_only_on_every_database(company, first, second, refused):
    """The backstop: the same on SQLite and PostgreSQL, and never finer-grained than the engine."""
    Cell.objects.create(company=company, external_source=SOURCE, external_id="WC-1", name=first)

    if refused:
        with pytest.raises(IntegrityError), transaction.atomic():
            Cell.objects.create(company=company, external_source=SOURCE, external_id="WC-2", name=second)
        assert live_names(company) == [("WC-1", first)]
    else:
        Cell.objects.create(company=company, external_source=SOURCE, external_id="WC-2", name=second)
        assert live_names(company) == [("WC-1", first), ("WC-2", second)]
