"""Bad input to the Eryxon MES sync API.

Every refusal is checked three ways where it applies: on the single ``PUT /api-E/sync`` (422 and
nothing written), in a partial ``POST /api-E/bulk-sync`` (the item's exact result, its neighbour
written) and with ``?atomic=true`` (422, item-prefixed field paths, nothing written). Each test
asserts the whole envelope and the database afterwards; the field rules are restated here from
the data model, not read from the serializers under test.
"""

from __future__ import annotations

import datetime as dt
import json

import pytest
from rest_framework.test import APIClient

from assemblies.models import Cell, Job, Operation, Part, Resource
from conftest import access_token_for
from sync.models import SyncRun
from tenants import services
from tenants.roles import Role

from .factories import run_of, sync_directly
from .mes import MODELS, bulk, eryxon_client, failure, put, success

pytestmark = pytest.mark.django_db

JSON = "application/json"
PLURALS = ("cells", "resources", "jobs", "parts", "operations")
SINGULAR = {"cells": "cell", "resources": "resource", "jobs": "job", "parts": "part", "operations": "operation"}
INT32_MAX = 2**31 - 1

# Field messages (docs/errors.md field codes; the wording the API documents in its examples).
REQUIRED = "This field is required."
BLANK = "This field may not be blank."
NULL = "This field may not be null."
UNKNOWN = "Unknown field."
STRING = "Must be a string."
INTEGER = "Must be an integer."
BOOLEAN = "Must be a JSON boolean (true or false)."
NUL = "Null characters are not allowed."
DATE = "Must be a date, YYYY-MM-DD (a full ISO 8601 timestamp is reduced to its UTC date)."
DATETIME = "Must be an ISO 8601 timestamp, e.g. 2026-11-22T10:00:00Z."
COLOR = "Must be a colour #RRGGBB (six hex digits)."
NOT_AN_OBJECT = "Each item must be an object."
NOT_A_LIST = "Must be an array of items."
CELL_REQUIRED = "Send cell_name or cell_external_id."

RESOURCE_TYPES = "tooling, fixture, mold, material, equipment"
RESOURCE_STATUSES = "available, in_use, maintenance"
JOB_STATUSES = "not_started, in_progress, on_hold, completed"
OPERATION_STATUSES = "pending, in_progress, completed, on_hold"


def too_long(limit: int) -> str:
    return f"Ensure this field has no more than {limit} characters."


def at_least(limit: int) -> str:
    return f"Ensure this value is greater than or equal to {limit}."


def at_most(limit: int) -> str:
    return f"Ensure this value is less than or equal to {limit}."


def not_one_of(shown: str, allowed: str) -> str:
    return f'"{shown}" is not one of: {allowed}.'


# --- What is stored before each bad request, and valid items on top of it -----------------------

STORED = {
    "cells": {"external_id": "WC-CUT", "external_source": "SAP", "name": "Cutting", "color": "#3b82f6", "sequence": 1},
    "resources": {"external_id": "TOOL-1", "external_source": "SAP", "name": "Mill", "type": "equipment"},
    "jobs": {"external_id": "SO-1", "external_source": "SAP", "job_number": "JOB-1", "customer": "Acme", "priority": 3},
    "parts": {
        "external_id": "SO-1-10",
        "external_source": "SAP",
        "job_external_id": "SO-1",
        "part_number": "P-A",
        "quantity": 5,
    },
    "operations": {
        "external_id": "SO-1-10-010",
        "external_source": "SAP",
        "part_external_id": "SO-1-10",
        "operation_name": "Cut",
        "cell_name": "Cutting",
        "sequence": 1,
        "estimated_time_minutes": 30,
    },
}

# A valid insert of each entity, given STORED: the bad items are these with one thing wrong.
NEW = {
    "cells": {"external_id": "WC-WELD", "external_source": "SAP", "name": "Welding", "sequence": 2},
    "resources": {"external_id": "TOOL-2", "external_source": "SAP", "name": "Lathe", "type": "tooling"},
    "jobs": {"external_id": "SO-2", "external_source": "SAP", "job_number": "JOB-2"},
    "parts": {"external_id": "SO-1-20", "external_source": "SAP", "job_external_id": "SO-1", "part_number": "P-B"},
    "operations": {
        "external_id": "SO-1-10-020",
        "external_source": "SAP",
        "part_external_id": "SO-1-10",
        "operation_name": "Bend",
        "cell_name": "Cutting",
        "sequence": 2,
    },
}

# Another valid insert: the good neighbour of a bad item in a bulk request.
OTHER = {
    "cells": {"external_id": "WC-PAINT", "external_source": "SAP", "name": "Painting"},
    "resources": {"external_id": "TOOL-3", "external_source": "SAP", "name": "Mold A", "type": "mold"},
    "jobs": {"external_id": "SO-3", "external_source": "SAP", "job_number": "JOB-3"},
    "parts": {"external_id": "SO-1-30", "external_source": "SAP", "job_external_id": "SO-1", "part_number": "P-C"},
    "operations": {
        "external_id": "SO-1-10-030",
        "external_source": "SAP",
        "part_external_id": "SO-1-10",
        "operation_name": "Weld",
        "cell_name": "Cutting",
        "sequence": 3,
    },
}

REMOVE = object()


def changed(item: dict, changes: dict) -> dict:
    result = dict(item)
    for name, value in changes.items():
        if value is REMOVE:
            result.pop(name, None)
        else:
            result[name] = value
    return result


@pytest.fixture
def stored(company):
    """STORED written through the sync service (the requests under test come after); returns the
    rows by entity."""
    for plural, item in STORED.items():
        sync_directly(company, plural, [item])
    return {plural: MODELS[plural].objects.get(company=company) for plural in PLURALS}


def snapshot() -> dict:
    """Every column of every MES row of every company."""
    return {plural: list(model.objects.order_by("id").values()) for plural, model in MODELS.items()}


def external_ids(plural: str, company, **filters) -> set[str]:
    return set(MODELS[plural].objects.filter(company=company, **filters).values_list("external_id", flat=True))


def details(errors, prefix: str = "") -> list[dict]:
    return [{"field": prefix + field, "code": code, "message": message} for field, code, message in errors]


def sentence(errors) -> str:
    """The ``error`` of a bulk result, and the ``message`` of a single PUT's 422."""
    field, _, message = errors[0]
    text = f"{field}: {message}" if field else message
    if len(errors) > 1:
        text += f" (and {len(errors) - 1} more)"
    return text


def invalid(response, errors, prefix: str = "", message: str | None = None) -> dict:
    """A 422 VALIDATION_ERROR envelope carrying exactly ``errors`` [(field, code, message)]."""
    error = failure(response, 422, "VALIDATION_ERROR")
    assert error == {
        "code": "VALIDATION_ERROR",
        "message": message if message is not None else sentence(errors),
        "details": details(errors, prefix),
    }
    return error


def bad_request(response, message: str | None = None, errors=None) -> dict:
    error = failure(response, 400, "BAD_REQUEST")
    if message is not None:
        assert error["message"] == message, error
    if errors is None:
        assert "details" not in error, error
    else:
        assert error["details"] == details(errors), error
    return error


# --- The table of bad items ---------------------------------------------------------------------


def case(case_id: str, plural: str, changes: dict, errors: list[tuple[str, str, str]]):
    return pytest.param(plural, changes, errors, id=case_id)


SERVER_OWNED = {
    "id": 1,
    "guid": "6f1c2b9e-3d4a-4b5c-8d6e-7f8091a2b3c4",
    "created_at": "2024-01-01T00:00:00Z",
    "updated_at": "2024-01-01T00:00:00Z",
    "synced_at": "2024-01-01T00:00:00Z",
    "sync_hash": "0" * 64,
}

CASES = []
for _plural in PLURALS:
    CASES += [
        case(f"{_plural}-no-external_id", _plural, {"external_id": REMOVE}, [("external_id", "required", REQUIRED)]),
        case(
            f"{_plural}-no-external_source",
            _plural,
            {"external_source": REMOVE},
            [("external_source", "required", REQUIRED)],
        ),
        case(f"{_plural}-null-external_id", _plural, {"external_id": None}, [("external_id", "null", NULL)]),
        case(f"{_plural}-blank-external_id", _plural, {"external_id": ""}, [("external_id", "blank", BLANK)]),
        case(
            f"{_plural}-blank-external_source", _plural, {"external_source": ""}, [("external_source", "blank", BLANK)]
        ),
        case(
            f"{_plural}-external_id-256",
            _plural,
            {"external_id": "x" * 256},
            [("external_id", "max_length", too_long(255))],
        ),
        case(
            f"{_plural}-external_source-101",
            _plural,
            {"external_source": "S" * 101},
            [("external_source", "max_length", too_long(100))],
        ),
        case(
            f"{_plural}-external_id-nul",
            _plural,
            {"external_id": "SO\x00-9"},
            [("external_id", "null_character", NUL)],
        ),
        case(
            f"{_plural}-external_id-number",
            _plural,
            {"external_id": 12345},
            [("external_id", "invalid_string", STRING)],
        ),
        case(
            f"{_plural}-external_source-array",
            _plural,
            {"external_source": ["SAP"]},
            [("external_source", "invalid_string", STRING)],
        ),
        case(f"{_plural}-unknown-field", _plural, {"colour": "red"}, [("colour", "unknown_field", UNKNOWN)]),
        case(
            f"{_plural}-company_guid",
            _plural,
            {"company_guid": "6f1c2b9e-3d4a-4b5c-8d6e-7f8091a2b3c4"},
            [("company_guid", "unknown_field", UNKNOWN)],
        ),
        case(
            f"{_plural}-is_active-string",
            _plural,
            {"is_active": "false"},
            [("is_active", "invalid_boolean", BOOLEAN)],
        ),
        case(
            f"{_plural}-deleted_at-bad",
            _plural,
            {"is_active": False, "deleted_at": "yesterday"},
            [("deleted_at", "invalid_datetime", DATETIME)],
        ),
        case(
            f"{_plural}-deleted_at-while-active",
            _plural,
            {"deleted_at": "2024-01-01T00:00:00Z"},
            [("deleted_at", "inconsistent_soft_delete", "deleted_at goes only with is_active: false.")],
        ),
    ]
    CASES += [
        case(f"{_plural}-server-owned-{name}", _plural, {name: value}, [(name, "unknown_field", UNKNOWN)])
        for name, value in SERVER_OWNED.items()
    ]

CASES += [
    # --- cells
    case("cells-no-name", "cells", {"name": REMOVE}, [("name", "required", REQUIRED)]),
    case("cells-null-name", "cells", {"name": None}, [("name", "null", NULL)]),
    case("cells-blank-name", "cells", {"name": ""}, [("name", "blank", BLANK)]),
    case("cells-name-256", "cells", {"name": "n" * 256}, [("name", "max_length", too_long(255))]),
    case("cells-name-nul", "cells", {"name": "Weld\x00"}, [("name", "null_character", NUL)]),
    case("cells-name-number", "cells", {"name": 7}, [("name", "invalid_string", STRING)]),
    case(
        "cells-description-1001",
        "cells",
        {"description": "d" * 1001},
        [("description", "max_length", too_long(1000))],
    ),
    case("cells-sequence-negative", "cells", {"sequence": -1}, [("sequence", "min_value", at_least(0))]),
    case("cells-sequence-below-int32", "cells", {"sequence": -(2**31) - 1}, [("sequence", "min_value", at_least(0))]),
    case("cells-sequence-beyond-int32", "cells", {"sequence": 2**31}, [("sequence", "max_value", at_most(INT32_MAX))]),
    case("cells-sequence-string", "cells", {"sequence": "2"}, [("sequence", "invalid_integer", INTEGER)]),
    case("cells-sequence-float", "cells", {"sequence": 2.0}, [("sequence", "invalid_integer", INTEGER)]),
    case("cells-sequence-null", "cells", {"sequence": None}, [("sequence", "null", NULL)]),
    case("cells-active-string", "cells", {"active": "yes"}, [("active", "invalid_boolean", BOOLEAN)]),
    case("cells-active-integer", "cells", {"active": 1}, [("active", "invalid_boolean", BOOLEAN)]),
    case("cells-color-name", "cells", {"color": "red"}, [("color", "invalid_color", COLOR)]),
    case("cells-color-5-digits", "cells", {"color": "#12345"}, [("color", "invalid_color", COLOR)]),
    case("cells-color-7-digits", "cells", {"color": "#1234567"}, [("color", "invalid_color", COLOR)]),
    case("cells-color-not-hex", "cells", {"color": "#GGGGGG"}, [("color", "invalid_color", COLOR)]),
    case("cells-color-no-hash", "cells", {"color": "3b82f6"}, [("color", "invalid_color", COLOR)]),
    case("cells-color-number", "cells", {"color": 123456}, [("color", "invalid_color", COLOR)]),
    case("cells-status", "cells", {"status": "available"}, [("status", "unknown_field", UNKNOWN)]),
    case("cells-nested-parts", "cells", {"parts": []}, [("parts", "unknown_field", UNKNOWN)]),
    case(
        "cells-name-taken-case-insensitively",
        "cells",
        {"name": "CUTTING"},
        [("name", "not_unique", "name 'cutting' is already used by another live cell.")],
    ),
    # --- resources
    case(
        "resources-no-name-no-type",
        "resources",
        {"name": REMOVE, "type": REMOVE},
        [("name", "required", REQUIRED), ("type", "required", REQUIRED)],
    ),
    case("resources-no-type", "resources", {"type": REMOVE}, [("type", "required", REQUIRED)]),
    case("resources-null-type", "resources", {"type": None}, [("type", "null", NULL)]),
    case("resources-blank-name", "resources", {"name": ""}, [("name", "blank", BLANK)]),
    case(
        "resources-type-unknown",
        "resources",
        {"type": "robot"},
        [("type", "invalid_choice", not_one_of("robot", RESOURCE_TYPES))],
    ),
    case(
        "resources-type-wrong-case",
        "resources",
        {"type": "Equipment"},
        [("type", "invalid_choice", not_one_of("Equipment", RESOURCE_TYPES))],
    ),
    case(
        "resources-type-number",
        "resources",
        {"type": 3},
        [("type", "invalid_choice", not_one_of("int", RESOURCE_TYPES))],
    ),
    case(
        "resources-status-unknown",
        "resources",
        {"status": "broken"},
        [("status", "invalid_choice", not_one_of("broken", RESOURCE_STATUSES))],
    ),
    case(
        "resources-status-job-value",
        "resources",
        {"status": "not_started"},
        [("status", "invalid_choice", not_one_of("not_started", RESOURCE_STATUSES))],
    ),
    case("resources-status-null", "resources", {"status": None}, [("status", "null", NULL)]),
    case(
        "resources-identifier-101",
        "resources",
        {"identifier": "I" * 101},
        [("identifier", "max_length", too_long(100))],
    ),
    case("resources-location-256", "resources", {"location": "L" * 256}, [("location", "max_length", too_long(255))]),
    case(
        "resources-description-1001",
        "resources",
        {"description": "d" * 1001},
        [("description", "max_length", too_long(1000))],
    ),
    case("resources-location-nul", "resources", {"location": "Bay\x003"}, [("location", "null_character", NUL)]),
    case("resources-active-integer", "resources", {"active": 0}, [("active", "invalid_boolean", BOOLEAN)]),
    # --- jobs
    case("jobs-no-job_number", "jobs", {"job_number": REMOVE}, [("job_number", "required", REQUIRED)]),
    case("jobs-null-job_number", "jobs", {"job_number": None}, [("job_number", "null", NULL)]),
    case("jobs-blank-job_number", "jobs", {"job_number": ""}, [("job_number", "blank", BLANK)]),
    case("jobs-job_number-256", "jobs", {"job_number": "J" * 256}, [("job_number", "max_length", too_long(255))]),
    case("jobs-job_number-nul", "jobs", {"job_number": "JOB\x00-2"}, [("job_number", "null_character", NUL)]),
    case("jobs-job_number-number", "jobs", {"job_number": 5}, [("job_number", "invalid_string", STRING)]),
    case("jobs-customer-256", "jobs", {"customer": "C" * 256}, [("customer", "max_length", too_long(255))]),
    case("jobs-customer-nul-non-ascii", "jobs", {"customer": "Müller\x00"}, [("customer", "null_character", NUL)]),
    case(
        "jobs-job_number-lone-surrogate",
        "jobs",
        {"job_number": "JOB-\ud800"},
        [("job_number", "invalid_character", "Surrogate characters are not allowed: U+D800.")],
    ),
    case("jobs-customer-boolean", "jobs", {"customer": True}, [("customer", "invalid_string", STRING)]),
    case("jobs-notes-10001", "jobs", {"notes": "n" * 10_001}, [("notes", "max_length", too_long(10_000))]),
    case("jobs-notes-number", "jobs", {"notes": 12}, [("notes", "invalid_string", STRING)]),
    case("jobs-priority-string", "jobs", {"priority": "5"}, [("priority", "invalid_integer", INTEGER)]),
    case("jobs-priority-integral-float", "jobs", {"priority": 5.0}, [("priority", "invalid_integer", INTEGER)]),
    case("jobs-priority-float", "jobs", {"priority": 5.5}, [("priority", "invalid_integer", INTEGER)]),
    case("jobs-priority-boolean", "jobs", {"priority": True}, [("priority", "invalid_integer", INTEGER)]),
    case("jobs-priority-nan", "jobs", {"priority": float("nan")}, [("priority", "invalid_integer", INTEGER)]),
    case("jobs-priority-infinity", "jobs", {"priority": float("inf")}, [("priority", "invalid_integer", INTEGER)]),
    case("jobs-priority-null", "jobs", {"priority": None}, [("priority", "null", NULL)]),
    case("jobs-priority-negative", "jobs", {"priority": -1}, [("priority", "min_value", at_least(0))]),
    case("jobs-priority-beyond-int32", "jobs", {"priority": 2**31}, [("priority", "max_value", at_most(INT32_MAX))]),
    case("jobs-priority-int64", "jobs", {"priority": 2**63}, [("priority", "max_value", at_most(INT32_MAX))]),
    case(
        "jobs-status-unknown",
        "jobs",
        {"status": "done"},
        [("status", "invalid_choice", not_one_of("done", JOB_STATUSES))],
    ),
    case(
        "jobs-status-upper-case",
        "jobs",
        {"status": "NOT_STARTED"},
        [("status", "invalid_choice", not_one_of("NOT_STARTED", JOB_STATUSES))],
    ),
    case(
        "jobs-status-operation-value",
        "jobs",
        {"status": "pending"},
        [("status", "invalid_choice", not_one_of("pending", JOB_STATUSES))],
    ),
    case("jobs-status-null", "jobs", {"status": None}, [("status", "null", NULL)]),
    case("jobs-due_date-dmy", "jobs", {"due_date": "31/12/2024"}, [("due_date", "invalid_date", DATE)]),
    case("jobs-due_date-feb-30", "jobs", {"due_date": "2024-02-30"}, [("due_date", "invalid_date", DATE)]),
    case("jobs-due_date-integer", "jobs", {"due_date": 20241231}, [("due_date", "invalid_date", DATE)]),
    case("jobs-due_date-basic-format", "jobs", {"due_date": "20241231"}, [("due_date", "invalid_date", DATE)]),
    case("jobs-due_date-iso-week", "jobs", {"due_date": "2024-W01-1"}, [("due_date", "invalid_date", DATE)]),
    case("jobs-due_date-month-13", "jobs", {"due_date": "2024-13-01"}, [("due_date", "invalid_date", DATE)]),
    case("jobs-due_date-blank", "jobs", {"due_date": ""}, [("due_date", "invalid_date", DATE)]),
    case("jobs-due_date-hour-25", "jobs", {"due_date": "2024-12-31T25:00:00Z"}, [("due_date", "invalid_date", DATE)]),
    case("jobs-due_date-words", "jobs", {"due_date": "tomorrow"}, [("due_date", "invalid_date", DATE)]),
    case("jobs-nested-operations", "jobs", {"operations": []}, [("operations", "unknown_field", UNKNOWN)]),
    case(
        "jobs-job_number-taken",
        "jobs",
        {"job_number": "JOB-1"},
        [("job_number", "not_unique", "job_number 'JOB-1' is already used by another live job.")],
    ),
    # jobs: nested parts
    case("jobs-parts-object", "jobs", {"parts": {"external_id": "SO-2-10"}}, [("parts", "not_a_list", NOT_A_LIST)]),
    case("jobs-parts-null", "jobs", {"parts": None}, [("parts", "not_a_list", NOT_A_LIST)]),
    case("jobs-parts-string", "jobs", {"parts": "P-1"}, [("parts", "not_a_list", NOT_A_LIST)]),
    case("jobs-part-not-object", "jobs", {"parts": [5]}, [("parts[0]", "not_an_object", NOT_AN_OBJECT)]),
    case(
        "jobs-part-no-external_id",
        "jobs",
        {"parts": [{"part_number": "P-1"}]},
        [("parts[0].external_id", "required", REQUIRED)],
    ),
    case(
        "jobs-part-no-part_number",
        "jobs",
        {"parts": [{"external_id": "SO-2-10"}]},
        [("parts[0].part_number", "required", REQUIRED)],
    ),
    case(
        "jobs-part-unknown-field",
        "jobs",
        {"parts": [{"external_id": "SO-2-10", "part_number": "P-1", "colour": "red"}]},
        [("parts[0].colour", "unknown_field", UNKNOWN)],
    ),
    case(
        "jobs-part-quantity-zero",
        "jobs",
        {
            "parts": [
                {"external_id": "SO-2-10", "part_number": "P-1"},
                {"external_id": "SO-2-20", "part_number": "P-2", "quantity": 0},
            ]
        },
        [("parts[1].quantity", "min_value", at_least(1))],
    ),
    case(
        "jobs-part-other-job",
        "jobs",
        {"parts": [{"external_id": "SO-2-10", "part_number": "P-1", "job_external_id": "SO-1"}]},
        [
            (
                "parts[0].job_external_id",
                "parent_mismatch",
                "Nested in job 'SO-2'; job_external_id must name it or be left out.",
            )
        ],
    ),
    case(
        "jobs-part-number-twice",
        "jobs",
        {"parts": [{"external_id": "SO-2-10", "part_number": "P-1"}, {"external_id": "SO-2-20", "part_number": "P-1"}]},
        [("parts[1].part_number", "not_unique", "part_number 'P-1' is already used by another live part of this job.")],
    ),
    case(
        "jobs-operations-not-array",
        "jobs",
        {"parts": [{"external_id": "SO-2-10", "part_number": "P-1", "operations": {"sequence": 1}}]},
        [("parts[0].operations", "not_a_list", NOT_A_LIST)],
    ),
    case(
        "jobs-operation-unknown-cell",
        "jobs",
        {
            "parts": [
                {
                    "external_id": "SO-2-10",
                    "part_number": "P-1",
                    "operations": [
                        {"external_id": "SO-2-10-010", "operation_name": "Cut", "cell_name": "cutting", "sequence": 1},
                        {"external_id": "SO-2-10-020", "operation_name": "Bend", "cell_name": "Nowhere", "sequence": 2},
                    ],
                }
            ]
        },
        [("parts[0].operations[1].cell_name", "cell_not_found", "No live cell named 'Nowhere' in this company.")],
    ),
    case(
        "jobs-operation-other-part",
        "jobs",
        {
            "parts": [
                {
                    "external_id": "SO-2-10",
                    "part_number": "P-1",
                    "operations": [
                        {
                            "external_id": "SO-2-10-010",
                            "part_external_id": "SO-1-10",
                            "operation_name": "Cut",
                            "cell_name": "Cutting",
                            "sequence": 1,
                        }
                    ],
                }
            ]
        },
        [
            (
                "parts[0].operations[0].part_external_id",
                "parent_mismatch",
                "Nested in part 'SO-2-10'; part_external_id must name it or be left out.",
            )
        ],
    ),
    case(
        "jobs-operation-sequence-zero",
        "jobs",
        {
            "parts": [
                {
                    "external_id": "SO-2-10",
                    "part_number": "P-1",
                    "operations": [
                        {"external_id": "SO-2-10-010", "operation_name": "Cut", "cell_name": "Cutting", "sequence": 0}
                    ],
                }
            ]
        },
        [("parts[0].operations[0].sequence", "min_value", at_least(1))],
    ),
    case(
        "jobs-deleted-with-parts",
        "jobs",
        {"is_active": False, "parts": [{"external_id": "SO-2-10", "part_number": "P-1"}]},
        [("parts", "children_of_deleted", "An item that is deleted (is_active false) carries no nested items.")],
    ),
    # --- parts
    case("parts-no-part_number", "parts", {"part_number": REMOVE}, [("part_number", "required", REQUIRED)]),
    case("parts-null-part_number", "parts", {"part_number": None}, [("part_number", "null", NULL)]),
    case("parts-blank-part_number", "parts", {"part_number": ""}, [("part_number", "blank", BLANK)]),
    case("parts-part_number-256", "parts", {"part_number": "P" * 256}, [("part_number", "max_length", too_long(255))]),
    case("parts-material-256", "parts", {"material": "M" * 256}, [("material", "max_length", too_long(255))]),
    case("parts-notes-nul", "parts", {"notes": "a\x00b"}, [("notes", "null_character", NUL)]),
    case("parts-no-job_external_id", "parts", {"job_external_id": REMOVE}, [("job_external_id", "required", REQUIRED)]),
    case("parts-blank-job_external_id", "parts", {"job_external_id": ""}, [("job_external_id", "blank", BLANK)]),
    case(
        "parts-job_external_id-256",
        "parts",
        {"job_external_id": "J" * 256},
        [("job_external_id", "max_length", too_long(255))],
    ),
    case(
        "parts-job_external_id-number",
        "parts",
        {"job_external_id": 1},
        [("job_external_id", "invalid_string", STRING)],
    ),
    case("parts-quantity-zero", "parts", {"quantity": 0}, [("quantity", "min_value", at_least(1))]),
    case("parts-quantity-negative", "parts", {"quantity": -1}, [("quantity", "min_value", at_least(1))]),
    case("parts-quantity-string", "parts", {"quantity": "25"}, [("quantity", "invalid_integer", INTEGER)]),
    case("parts-quantity-float", "parts", {"quantity": 2.5}, [("quantity", "invalid_integer", INTEGER)]),
    case("parts-quantity-null", "parts", {"quantity": None}, [("quantity", "null", NULL)]),
    case(
        "parts-quantity-beyond-int32",
        "parts",
        {"quantity": 2**31},
        [("quantity", "max_value", at_most(INT32_MAX))],
    ),
    case(
        "parts-status-operation-value",
        "parts",
        {"status": "pending"},
        [("status", "invalid_choice", not_one_of("pending", JOB_STATUSES))],
    ),
    case("parts-server-owned-job_id", "parts", {"job_id": 1}, [("job_id", "unknown_field", UNKNOWN)]),
    case("parts-nested-parts", "parts", {"parts": []}, [("parts", "unknown_field", UNKNOWN)]),
    case(
        "parts-unknown-job",
        "parts",
        {"job_external_id": "SO-404"},
        [("job_external_id", "parent_not_found", "No job with external_id 'SO-404' from 'SAP' in this company.")],
    ),
    case(
        "parts-job-of-another-source",
        "parts",
        {"external_source": "ORACLE"},
        [("job_external_id", "parent_not_found", "No job with external_id 'SO-1' from 'ORACLE' in this company.")],
    ),
    case(
        "parts-part_number-taken-in-job",
        "parts",
        {"part_number": "P-A"},
        [("part_number", "not_unique", "part_number 'P-A' is already used by another live part of this job.")],
    ),
    case(
        "parts-operations-not-array",
        "parts",
        {"operations": "Cut"},
        [("operations", "not_a_list", NOT_A_LIST)],
    ),
    case(
        "parts-operation-not-object",
        "parts",
        {"operations": [["Cut"]]},
        [("operations[0]", "not_an_object", NOT_AN_OBJECT)],
    ),
    case(
        "parts-operation-no-sequence",
        "parts",
        {"operations": [{"external_id": "SO-1-20-010", "operation_name": "Cut", "cell_name": "Cutting"}]},
        [("operations[0].sequence", "required", REQUIRED)],
    ),
    case(
        "parts-operation-other-part",
        "parts",
        {
            "operations": [
                {
                    "external_id": "SO-1-20-010",
                    "part_external_id": "SO-1-10",
                    "operation_name": "Cut",
                    "cell_name": "Cutting",
                    "sequence": 1,
                }
            ]
        },
        [
            (
                "operations[0].part_external_id",
                "parent_mismatch",
                "Nested in part 'SO-1-20'; part_external_id must name it or be left out.",
            )
        ],
    ),
    case(
        "parts-operation-sequence-twice",
        "parts",
        {
            "operations": [
                {"external_id": "SO-1-20-010", "operation_name": "Cut", "cell_name": "Cutting", "sequence": 1},
                {"external_id": "SO-1-20-020", "operation_name": "Bend", "cell_name": "Cutting", "sequence": 1},
            ]
        },
        [
            (
                "operations[1].sequence",
                "not_unique",
                "sequence 1 is already used by another live operation of this part.",
            )
        ],
    ),
    # --- operations
    case(
        "operations-no-operation_name",
        "operations",
        {"operation_name": REMOVE},
        [("operation_name", "required", REQUIRED)],
    ),
    case("operations-blank-operation_name", "operations", {"operation_name": ""}, [("operation_name", "blank", BLANK)]),
    case(
        "operations-operation_name-256",
        "operations",
        {"operation_name": "O" * 256},
        [("operation_name", "max_length", too_long(255))],
    ),
    case(
        "operations-operation_name-nul",
        "operations",
        {"operation_name": "\x00"},
        [("operation_name", "null_character", NUL)],
    ),
    case("operations-no-sequence", "operations", {"sequence": REMOVE}, [("sequence", "required", REQUIRED)]),
    case("operations-null-sequence", "operations", {"sequence": None}, [("sequence", "null", NULL)]),
    case("operations-sequence-zero", "operations", {"sequence": 0}, [("sequence", "min_value", at_least(1))]),
    case("operations-sequence-negative", "operations", {"sequence": -5}, [("sequence", "min_value", at_least(1))]),
    case("operations-sequence-string", "operations", {"sequence": "1"}, [("sequence", "invalid_integer", INTEGER)]),
    case(
        "operations-sequence-beyond-int32",
        "operations",
        {"sequence": 2**40},
        [("sequence", "max_value", at_most(INT32_MAX))],
    ),
    case(
        "operations-estimate-negative",
        "operations",
        {"estimated_time_minutes": -1},
        [("estimated_time_minutes", "min_value", at_least(0))],
    ),
    case(
        "operations-estimate-float",
        "operations",
        {"estimated_time_minutes": 1.5},
        [("estimated_time_minutes", "invalid_integer", INTEGER)],
    ),
    case(
        "operations-estimate-beyond-int32",
        "operations",
        {"estimated_time_minutes": 2**63},
        [("estimated_time_minutes", "max_value", at_most(INT32_MAX))],
    ),
    case(
        "operations-estimate-below-int32",
        "operations",
        {"estimated_time_minutes": -(2**31) - 1},
        [("estimated_time_minutes", "min_value", at_least(0))],
    ),
    case(
        "operations-status-job-value",
        "operations",
        {"status": "not_started"},
        [("status", "invalid_choice", not_one_of("not_started", OPERATION_STATUSES))],
    ),
    case(
        "operations-status-unknown",
        "operations",
        {"status": "started"},
        [("status", "invalid_choice", not_one_of("started", OPERATION_STATUSES))],
    ),
    case(
        "operations-no-part_external_id",
        "operations",
        {"part_external_id": REMOVE},
        [("part_external_id", "required", REQUIRED)],
    ),
    case(
        "operations-unknown-part",
        "operations",
        {"part_external_id": "SO-1-404"},
        [("part_external_id", "parent_not_found", "No part with external_id 'SO-1-404' from 'SAP' in this company.")],
    ),
    case(
        "operations-part-of-another-source",
        "operations",
        {"external_source": "ORACLE"},
        [("part_external_id", "parent_not_found", "No part with external_id 'SO-1-10' from 'ORACLE' in this company.")],
    ),
    case("operations-no-cell", "operations", {"cell_name": REMOVE}, [("cell_name", "required", CELL_REQUIRED)]),
    case("operations-blank-cell_name", "operations", {"cell_name": ""}, [("cell_name", "blank", BLANK)]),
    case(
        "operations-cell_name-256",
        "operations",
        {"cell_name": "c" * 256},
        [("cell_name", "max_length", too_long(255))],
    ),
    case("operations-cell_name-number", "operations", {"cell_name": 1}, [("cell_name", "invalid_string", STRING)]),
    case(
        "operations-unknown-cell_name",
        "operations",
        {"cell_name": "Nowhere"},
        [("cell_name", "cell_not_found", "No live cell named 'Nowhere' in this company.")],
    ),
    case(
        "operations-both-cell-references",
        "operations",
        {"cell_external_id": "WC-CUT"},
        [("cell_external_id", "exclusive_fields", "Send cell_name or cell_external_id, not both.")],
    ),
    case(
        "operations-unknown-cell_external_id",
        "operations",
        {"cell_name": REMOVE, "cell_external_id": "WC-404"},
        [("cell_external_id", "cell_not_found", "No live cell with external_id 'WC-404' from 'SAP'.")],
    ),
    case(
        "operations-null-cell_name",
        "operations",
        {"cell_name": None},
        [("cell_name", "null", NULL)],
    ),
    case("operations-server-owned-cell_id", "operations", {"cell_id": 1}, [("cell_id", "unknown_field", UNKNOWN)]),
    case("operations-server-owned-part_id", "operations", {"part_id": 1}, [("part_id", "unknown_field", UNKNOWN)]),
    case("operations-nested-operations", "operations", {"operations": []}, [("operations", "unknown_field", UNKNOWN)]),
    case(
        "operations-sequence-taken-in-part",
        "operations",
        {"sequence": 1},
        [("sequence", "not_unique", "sequence 1 is already used by another live operation of this part.")],
    ),
]

# Whitespace only is blank, like "": every required string of every entity.
REQUIRED_STRINGS = [
    *((_plural, name) for _plural in PLURALS for name in ("external_id", "external_source")),
    ("cells", "name"),
    ("resources", "name"),
    ("jobs", "job_number"),
    ("parts", "part_number"),
    ("parts", "job_external_id"),
    ("operations", "operation_name"),
    ("operations", "part_external_id"),
    ("operations", "cell_name"),
    ("operations", "cell_external_id"),
]
WHITESPACE = {"spaces": "   ", "tab": "\t", "newline-nbsp": "\n\u00a0"}
for _plural, _field in REQUIRED_STRINGS:
    # cell_external_id replaces cell_name (one of the two), and an insert needs one of them
    _extra = {"cell_name": REMOVE} if _field == "cell_external_id" else {}
    CASES += [
        case(f"{_plural}-{_field}-{label}", _plural, {**_extra, _field: text}, [(_field, "blank", BLANK)])
        for label, text in WHITESPACE.items()
    ]

# UTC offsets Python reads but PostgreSQL cannot store: a 422 for the item, never a 500.
OFFSET = "The UTC offset must be within ±15:59 (whole seconds), e.g. 2026-11-22T10:00:00+02:00."
BEYOND_POSTGRES = {"plus-16": "+16:00", "minus-16": "-16:00", "plus-23-59": "+23:59", "fraction": "+01:00:00.5"}
for _plural in PLURALS:
    CASES += [
        case(
            f"{_plural}-deleted_at-offset-{label}",
            _plural,
            {"is_active": False, "deleted_at": f"2024-06-01T00:00:00{offset}"},
            [("deleted_at", "invalid_datetime", OFFSET)],
        )
        for label, offset in BEYOND_POSTGRES.items()
    ]
# A date field takes a full timestamp too (reduced to its UTC date): the same offsets are refused.
CASES += [
    case(
        f"jobs-due_date-offset-{label}",
        "jobs",
        {"due_date": f"2024-06-01T00:00:00{offset}"},
        [("due_date", "invalid_datetime", OFFSET)],
    )
    for label, offset in BEYOND_POSTGRES.items()
]


def expected_external_id(item: dict, errors) -> str | None:
    """A bulk result names the item's external_id when it was a valid one."""
    if any(field == "external_id" for field, _, _ in errors):
        return None
    return item.get("external_id")


@pytest.mark.parametrize("plural, changes, errors", CASES)
def test_a_bad_single_item_is_a_422_and_writes_nothing(client, company, key, stored, plural, changes, errors):
    before = snapshot()
    response = put(client, plural, changed(NEW[plural], changes))
    invalid(response, errors)
    assert snapshot() == before
    run = run_of(response)
    assert (run.status, run.entity, run.endpoint, run.atomic, run.item_count, run.errors, run.inserted) == (
        "failed",
        SINGULAR[plural],
        f"PUT /api-{plural}/sync",
        True,
        1,
        1,
        0,
    )
    assert (run.company_id, run.actor_api_key_id) == (company.id, key[0].id)


@pytest.mark.parametrize("plural, changes, errors", CASES)
def test_a_bad_item_of_a_partial_bulk_is_reported_and_its_neighbour_written(
    client, company, stored, plural, changes, errors
):
    before = snapshot()
    bad = changed(NEW[plural], changes)
    data = success(bulk(client, plural, {plural: [OTHER[plural], bad]}))
    written = MODELS[plural].objects.get(company=company, external_id=OTHER[plural]["external_id"])
    assert data == {
        "total": 2,
        "created": 1,
        "updated": 0,
        "unchanged": 0,
        "errors": 1,
        "results": [
            {"index": 0, "external_id": OTHER[plural]["external_id"], "id": str(written.guid), "action": "created"},
            {
                "index": 1,
                "external_id": expected_external_id(bad, errors),
                "id": None,
                "action": "error",
                "error": sentence(errors),
                "details": details(errors),
            },
        ],
    }
    after = snapshot()
    assert [row for row in after[plural] if row["id"] != written.id] == before[plural]
    assert {name: table for name, table in after.items() if name != plural} == {
        name: table for name, table in before.items() if name != plural
    }
    runs = SyncRun.objects.filter(endpoint=f"POST /api-{plural}/bulk-sync")
    assert [(r.status, r.atomic, r.item_count, r.inserted, r.errors) for r in runs] == [("partial", False, 2, 1, 1)]


@pytest.mark.parametrize("plural, changes, errors", CASES)
def test_a_bad_item_of_an_atomic_bulk_refuses_the_whole_request(client, company, stored, plural, changes, errors):
    before = snapshot()
    bad = changed(NEW[plural], changes)
    response = bulk(client, plural, {plural: [OTHER[plural], bad]}, "atomic=true")
    invalid(response, errors, prefix=f"{plural}[1].", message="1 item is invalid; nothing was written.")
    assert snapshot() == before
    run = run_of(response)
    assert (run.status, run.endpoint, run.atomic, run.item_count, run.errors, run.inserted) == (
        "failed",
        f"POST /api-{plural}/bulk-sync",
        True,
        2,
        1,
        0,
    )


def test_the_base_items_of_the_table_are_valid(client, company, stored):
    """The bad items are NEW with one thing wrong: NEW and OTHER themselves are accepted."""
    for plural in PLURALS:
        assert success(put(client, plural, NEW[plural]), 201)["action"] == "created"
        data = success(bulk(client, plural, {plural: [OTHER[plural]]}, "atomic=true"))
        assert (data["created"], data["errors"]) == (1, 0)
        assert external_ids(plural, company) == {
            STORED[plural]["external_id"],
            NEW[plural]["external_id"],
            OTHER[plural]["external_id"],
        }


# --- Values at their limits are accepted, and stored as the spec says ----------------------------


def test_strings_and_numbers_at_their_limits_are_accepted(client, company, stored):
    item = {
        "external_id": "E" * 255,
        "external_source": "S" * 100,
        "job_number": "J" * 255,
        "customer": "C" * 255,
        "priority": INT32_MAX,
        "notes": "n" * 10_000,
    }
    success(put(client, "jobs", item), 201)
    job = Job.objects.get(company=company, external_id="E" * 255)
    assert (job.external_source, job.job_number, job.priority, len(job.notes)) == (
        "S" * 100,
        "J" * 255,
        INT32_MAX,
        10_000,
    )
    part = {**NEW["parts"], "quantity": 1, "part_number": "P" * 255}
    success(put(client, "parts", part), 201)
    assert Part.objects.get(company=company, external_id="SO-1-20").quantity == 1
    operation = {**NEW["operations"], "sequence": 1_000, "estimated_time_minutes": 0}
    success(put(client, "operations", operation), 201)
    assert Operation.objects.get(company=company, external_id="SO-1-10-020").estimated_time_minutes == 0
    success(put(client, "cells", {**NEW["cells"], "sequence": 0, "color": None}), 201)
    cell = Cell.objects.get(company=company, external_id="WC-WELD")
    assert (cell.sequence, cell.color) == (0, None)


def test_a_colour_is_stored_lower_case(client, company):
    success(put(client, "cells", {**NEW["cells"], "color": "#ABCDEF"}), 201)
    assert Cell.objects.get(company=company).color == "#abcdef"
    data = success(bulk(client, "cells", {"cells": [{**OTHER["cells"], "color": "#A1b2C3"}]}))
    assert data["results"][0]["action"] == "created"
    assert Cell.objects.get(company=company, external_id="WC-PAINT").color == "#a1b2c3"


@pytest.mark.parametrize(
    "sent, stored_date",
    [
        ("2024-12-31T23:30:00-02:00", dt.date(2025, 1, 1)),
        ("2024-12-31T23:30:00Z", dt.date(2024, 12, 31)),
        ("2025-01-01T00:30:00+02:00", dt.date(2024, 12, 31)),
        ("2024-12-31T23:30:00", dt.date(2024, 12, 31)),  # no zone: UTC
        ("2024-02-29", dt.date(2024, 2, 29)),
    ],
)
def test_a_due_date_timestamp_is_reduced_to_its_utc_date(client, company, sent, stored_date):
    success(put(client, "jobs", {**NEW["jobs"], "due_date": sent}), 201)
    assert Job.objects.get(company=company).due_date == stored_date


@pytest.mark.parametrize(
    "digits, code, message",
    [("9" * 5000, "max_value", at_most(INT32_MAX)), ("-" + "9" * 5000, "min_value", at_least(0))],
    ids=["huge", "huge-negative"],
)
def test_an_integer_too_long_to_convert_is_a_422_not_a_400(client, company, digits, code, message):
    raw = '{"external_id": "SO-2", "external_source": "SAP", "job_number": "JOB-2", "priority": ' + digits + "}"
    response = client.put("/api-jobs/sync", data=raw, content_type=JSON)
    invalid(response, [("priority", code, message)])
    assert not Job.objects.exists()


# --- MES-owned status: validated, then ignored ----------------------------------------------------


def test_valid_statuses_are_accepted_and_ignored_on_insert(client, company, stored):
    job = {
        **NEW["jobs"],
        "status": "completed",
        "parts": [
            {
                "external_id": "SO-2-10",
                "part_number": "P-1",
                "status": "in_progress",
                "operations": [
                    {
                        "external_id": "SO-2-10-010",
                        "operation_name": "Cut",
                        "cell_name": "Cutting",
                        "sequence": 1,
                        "status": "completed",
                    }
                ],
            }
        ],
    }
    success(put(client, "jobs", job), 201)
    assert Job.objects.get(company=company, external_id="SO-2").status == "not_started"
    assert Part.objects.get(company=company, external_id="SO-2-10").status == "not_started"
    assert Operation.objects.get(company=company, external_id="SO-2-10-010").status == "pending"
    success(put(client, "parts", {**NEW["parts"], "status": "on_hold"}), 201)
    assert Part.objects.get(company=company, external_id="SO-1-20").status == "not_started"
    success(put(client, "operations", {**NEW["operations"], "status": "in_progress"}), 201)
    assert Operation.objects.get(company=company, external_id="SO-1-10-020").status == "pending"


def test_a_status_the_mes_set_is_not_overwritten_by_a_sync(client, company, stored):
    Job.objects.filter(pk=stored["jobs"].pk).update(status="in_progress")
    Part.objects.filter(pk=stored["parts"].pk).update(status="on_hold")
    Operation.objects.filter(pk=stored["operations"].pk).update(status="completed")
    # The status alone is no change: it is not hashed.
    data = success(put(client, "jobs", {**STORED["jobs"], "status": "completed"}), 200)
    assert data["action"] == "unchanged"
    data = success(put(client, "jobs", {**STORED["jobs"], "status": "not_started", "customer": "Acme Ltd"}), 200)
    assert data["action"] == "updated"
    success(put(client, "parts", {**STORED["parts"], "status": "completed", "quantity": 6}), 200)
    success(put(client, "operations", {**STORED["operations"], "status": "pending", "sequence": 5}), 200)
    job, part, operation = (
        MODELS[plural].objects.get(pk=stored[plural].pk) for plural in ("jobs", "parts", "operations")
    )
    assert (job.status, job.customer) == ("in_progress", "Acme Ltd")
    assert (part.status, part.quantity) == ("on_hold", 6)
    assert (operation.status, operation.sequence) == ("completed", 5)


def test_a_resource_status_is_erp_data_and_written(client, company, stored):
    success(put(client, "resources", {**STORED["resources"], "status": "maintenance"}), 200)
    assert Resource.objects.get(pk=stored["resources"].pk).status == "maintenance"
    success(put(client, "resources", NEW["resources"]), 201)
    assert Resource.objects.get(company=company, external_id="TOOL-2").status == "available"  # the default


# --- Required on insert only: an update merges ---------------------------------------------------

UPDATES = {
    "cells": ({"description": "Laser"}, {"name": "Cutting", "description": "Laser", "sequence": 1}),
    "resources": ({"location": "Bay 3"}, {"name": "Mill", "type": "equipment", "location": "Bay 3"}),
    "jobs": ({"customer": "Acme Ltd"}, {"job_number": "JOB-1", "customer": "Acme Ltd", "priority": 3}),
    "parts": (
        {"job_external_id": "SO-1", "material": "Steel"},
        {"part_number": "P-A", "material": "Steel", "quantity": 5},
    ),
    "operations": (
        {"part_external_id": "SO-1-10", "notes": "Slow"},
        {"operation_name": "Cut", "sequence": 1, "notes": "Slow", "estimated_time_minutes": 30},
    ),
}


@pytest.mark.parametrize("plural", PLURALS)
def test_an_update_may_leave_the_insert_required_fields_out(client, stored, plural):
    sent, expected = UPDATES[plural]
    item = {"external_id": STORED[plural]["external_id"], "external_source": "SAP", **sent}
    data = success(put(client, plural, item), 200)
    row = MODELS[plural].objects.get(pk=stored[plural].pk)
    assert data == {"action": "updated", "id": str(row.guid), "external_id": STORED[plural]["external_id"]}
    assert {name: getattr(row, name) for name in expected} == expected
    if plural == "operations":  # no cell named: the stored cell stays (merge)
        assert row.cell_id == stored["cells"].id


@pytest.mark.parametrize(
    "plural, field",
    [("cells", "name"), ("resources", "name"), ("resources", "type"), ("jobs", "job_number"), ("parts", "part_number")]
    + [("operations", "operation_name"), ("operations", "sequence"), ("operations", "cell_name")],
)
def test_an_update_may_not_null_a_required_field(client, stored, plural, field):
    before = snapshot()
    item = {**STORED[plural], field: None}
    invalid(put(client, plural, item), [(field, "null", NULL)])
    data = success(bulk(client, plural, {plural: [item]}))
    assert data["results"][0]["action"] == "error"
    assert data["results"][0]["details"] == details([(field, "null", NULL)])
    assert snapshot() == before


# --- References that do not resolve ---------------------------------------------------------------


@pytest.fixture
def other_client(make_api_key, other_company):
    return eryxon_client(make_api_key(company=other_company)[1])


def test_a_job_of_another_company_looks_exactly_like_a_missing_one(
    client, other_client, company, other_company, stored
):
    success(put(other_client, "jobs", {"external_id": "SO-X", "external_source": "SAP", "job_number": "JOB-X"}), 201)
    before = snapshot()
    theirs = put(client, "parts", {**NEW["parts"], "job_external_id": "SO-X"})
    missing = put(client, "parts", {**NEW["parts"], "job_external_id": "SO-Y"})
    invalid(
        theirs, [("job_external_id", "parent_not_found", "No job with external_id 'SO-X' from 'SAP' in this company.")]
    )
    assert theirs.json() == json.loads(missing.content.decode().replace("SO-Y", "SO-X"))
    data = success(bulk(client, "parts", {"parts": [{**NEW["parts"], "job_external_id": "SO-X"}]}))
    assert data["results"][0]["details"] == [
        {
            "field": "job_external_id",
            "code": "parent_not_found",
            "message": "No job with external_id 'SO-X' from 'SAP' in this company.",
        }
    ]
    assert snapshot() == before
    assert not Part.objects.filter(company=other_company).exists()


def test_a_soft_deleted_job_is_an_inactive_parent(client, company, stored):
    success(put(client, "jobs", {**STORED["jobs"], "is_active": False}), 200)
    before = snapshot()
    message = "The job 'SO-1' is deleted; restore or re-sync it first."
    invalid(put(client, "parts", NEW["parts"]), [("job_external_id", "parent_inactive", message)])
    data = success(bulk(client, "parts", {"parts": [NEW["parts"]]}))
    assert data["results"] == [
        {
            "index": 0,
            "external_id": "SO-1-20",
            "id": None,
            "action": "error",
            "error": f"job_external_id: {message}",
            "details": [{"field": "job_external_id", "code": "parent_inactive", "message": message}],
        }
    ]
    # The job's part went with it (cascade): an operation under it is refused the same way.
    part_message = "The part 'SO-1-10' is deleted; restore or re-sync it first."
    invalid(put(client, "operations", NEW["operations"]), [("part_external_id", "parent_inactive", part_message)])
    assert snapshot() == before


@pytest.fixture
def deleted_cell(client, company):
    success(put(client, "cells", {"external_id": "WC-OLD", "external_source": "SAP", "name": "Old"}), 201)
    success(put(client, "cells", {"external_id": "WC-OLD", "external_source": "SAP", "is_active": False}), 200)
    assert not Cell.objects.get(company=company, external_id="WC-OLD").is_active


@pytest.mark.parametrize(
    "reference, error",
    [
        ({"cell_name": "Old"}, ("cell_name", "cell_not_found", "No live cell named 'Old' in this company.")),
        ({"cell_name": "OLD"}, ("cell_name", "cell_not_found", "No live cell named 'OLD' in this company.")),
        (
            {"cell_external_id": "WC-OLD"},
            ("cell_external_id", "cell_not_found", "No live cell with external_id 'WC-OLD' from 'SAP'."),
        ),
    ],
    ids=["by-name", "by-name-other-case", "by-external-id"],
)
def test_a_soft_deleted_cell_cannot_be_referenced(client, company, stored, deleted_cell, reference, error):
    before = snapshot()
    item = {**changed(NEW["operations"], {"cell_name": REMOVE}), **reference}
    invalid(put(client, "operations", item), [error])
    invalid(
        bulk(client, "operations", {"operations": [item]}, "atomic=true"),
        [error],
        prefix="operations[0].",
        message="1 item is invalid; nothing was written.",
    )
    assert snapshot() == before


def test_a_cell_of_another_company_is_not_found(client, other_client, company, stored):
    success(put(other_client, "cells", {"external_id": "WC-Z", "external_source": "SAP", "name": "Zinc"}), 201)
    before = snapshot()
    invalid(
        put(client, "operations", {**NEW["operations"], "cell_name": "Zinc"}),
        [("cell_name", "cell_not_found", "No live cell named 'Zinc' in this company.")],
    )
    item = {**changed(NEW["operations"], {"cell_name": REMOVE}), "cell_external_id": "WC-Z"}
    invalid(
        put(client, "operations", item),
        [("cell_external_id", "cell_not_found", "No live cell with external_id 'WC-Z' from 'SAP'.")],
    )
    assert snapshot() == before


def test_a_cell_name_two_live_cells_fold_to_is_ambiguous(client, company, stored):
    # Stored past the sync engine: distinct for the ASCII-only index, equal under casefold.
    Cell.objects.create(company=company, external_source="SAP", external_id="WC-S1", name="Strasse")
    straße = Cell.objects.create(company=company, external_source="SAP", external_id="WC-S2", name="Straße")
    before = snapshot()
    message = "2 live cells are named 'STRASSE'; name the cell by cell_external_id."
    item = {**NEW["operations"], "cell_name": "STRASSE"}
    invalid(put(client, "operations", item), [("cell_name", "cell_ambiguous", message)])
    data = success(bulk(client, "operations", {"operations": [OTHER["operations"], item]}))
    assert data["results"][1] == {
        "index": 1,
        "external_id": "SO-1-10-020",
        "id": None,
        "action": "error",
        "error": f"cell_name: {message}",
        "details": [{"field": "cell_name", "code": "cell_ambiguous", "message": message}],
    }
    assert external_ids("operations", company) == {"SO-1-10-010", "SO-1-10-030"}
    assert snapshot()["cells"] == before["cells"]
    # By external id the same cell is found.
    by_key = {**changed(NEW["operations"], {"cell_name": REMOVE}), "cell_external_id": "WC-S2"}
    success(put(client, "operations", by_key), 201)
    assert Operation.objects.get(company=company, external_id="SO-1-10-020").cell_id == straße.id


def test_a_nested_tree_with_one_bad_row_is_refused_whole_and_the_next_job_written(client, company, stored):
    bad = {
        "external_id": "SO-2",
        "external_source": "SAP",
        "job_number": "JOB-2",
        "parts": [
            {"external_id": "SO-2-10", "part_number": "P-1"},
            {
                "external_id": "SO-2-20",
                "part_number": "P-2",
                "operations": [
                    {"external_id": "SO-2-20-010", "operation_name": "Cut", "cell_name": "Cutting", "sequence": 1},
                    {"external_id": "SO-2-20-020", "operation_name": "Bend", "cell_name": "Bending", "sequence": 2},
                ],
            },
        ],
    }
    good = {
        "external_id": "SO-3",
        "external_source": "SAP",
        "job_number": "JOB-3",
        "parts": [{"external_id": "SO-3-10", "part_number": "P-1"}],
    }
    message = "No live cell named 'Bending' in this company."
    data = success(bulk(client, "jobs", {"jobs": [bad, good]}))
    job = Job.objects.get(company=company, external_id="SO-3")
    assert data["results"] == [
        {
            "index": 0,
            "external_id": "SO-2",
            "id": None,
            "action": "error",
            "error": f"parts[1].operations[1].cell_name: {message}",
            "details": [{"field": "parts[1].operations[1].cell_name", "code": "cell_not_found", "message": message}],
        },
        {"index": 1, "external_id": "SO-3", "id": str(job.guid), "action": "created"},
    ]
    assert external_ids("jobs", company) == {"SO-1", "SO-3"}
    assert external_ids("parts", company) == {"SO-1-10", "SO-3-10"}
    assert external_ids("operations", company) == {"SO-1-10-010"}
    assert Part.objects.get(company=company, external_id="SO-3-10").job_id == job.id


# --- Duplicates inside one request ----------------------------------------------------------------


def test_the_later_of_two_items_with_one_key_is_the_error_and_the_first_is_written(client, company):
    first = {"external_id": "SO-2", "external_source": "SAP", "job_number": "JOB-2"}
    again = {"external_id": "SO-2", "external_source": "SAP", "job_number": "JOB-2B", "customer": "B"}
    other_source = {"external_id": "SO-2", "external_source": "ORACLE", "job_number": "JOB-2C"}
    message = "Item 0 has the same external_source and external_id."
    data = success(bulk(client, "jobs", {"jobs": [first, again, other_source]}))
    jobs = {(job.external_source, job.external_id): job for job in Job.objects.filter(company=company)}
    assert data == {
        "total": 3,
        "created": 2,
        "updated": 0,
        "unchanged": 0,
        "errors": 1,
        "results": [
            {"index": 0, "external_id": "SO-2", "id": str(jobs[("SAP", "SO-2")].guid), "action": "created"},
            {
                "index": 1,
                "external_id": "SO-2",
                "id": None,
                "action": "error",
                "error": f"external_id: {message}",
                "details": [{"field": "external_id", "code": "duplicate_in_batch", "message": message}],
            },
            {"index": 2, "external_id": "SO-2", "id": str(jobs[("ORACLE", "SO-2")].guid), "action": "created"},
        ],
    }
    assert set(jobs) == {("SAP", "SO-2"), ("ORACLE", "SO-2")}
    assert (jobs[("SAP", "SO-2")].job_number, jobs[("SAP", "SO-2")].customer) == ("JOB-2", None)


def test_a_later_duplicate_of_an_invalid_item_is_an_error_too(client, company):
    invalid_first = {"external_id": "SO-2", "external_source": "SAP", "job_number": "JOB-2", "priority": -1}
    valid_later = {"external_id": "SO-2", "external_source": "SAP", "job_number": "JOB-2"}
    data = success(bulk(client, "jobs", {"jobs": [invalid_first, valid_later]}))
    assert [(result["action"], result["details"]) for result in data["results"]] == [
        ("error", [{"field": "priority", "code": "min_value", "message": at_least(0)}]),
        (
            "error",
            [
                {
                    "field": "external_id",
                    "code": "duplicate_in_batch",
                    "message": "Item 0 has the same external_source and external_id.",
                }
            ],
        ),
    ]
    assert not Job.objects.exists()


def test_a_duplicate_in_an_atomic_bulk_refuses_the_request(client, company):
    first = {"external_id": "WC-1", "external_source": "SAP", "name": "Cutting"}
    again = {"external_id": "WC-1", "external_source": "SAP", "name": "Bending"}
    response = bulk(client, "cells", {"items": [first, again]}, "atomic=true")
    invalid(
        response,
        [("items[1].external_id", "duplicate_in_batch", "Item 0 has the same external_source and external_id.")],
        message="1 item is invalid; nothing was written.",
    )
    assert not Cell.objects.exists()


def test_one_nested_part_in_two_jobs_of_one_request_fails_the_later_job(client, company):
    jobs = [
        {
            "external_id": f"SO-{number}",
            "external_source": "SAP",
            "job_number": f"JOB-{number}",
            "parts": [{"external_id": "SO-X-10", "part_number": "P-1"}],
        }
        for number in (2, 3)
    ]
    message = "The item at jobs[0].parts[0] has the same external_source and external_id."
    data = success(bulk(client, "jobs", {"jobs": jobs}))
    job = Job.objects.get(company=company)
    assert data["results"] == [
        {"index": 0, "external_id": "SO-2", "id": str(job.guid), "action": "created"},
        {
            "index": 1,
            "external_id": "SO-3",
            "id": None,
            "action": "error",
            "error": f"parts[0].external_id: {message}",
            "details": [{"field": "parts[0].external_id", "code": "duplicate_in_batch", "message": message}],
        },
    ]
    assert job.external_id == "SO-2"
    assert [(part.external_id, part.job_id) for part in Part.objects.filter(company=company)] == [("SO-X-10", job.id)]

    response = bulk(
        client, "jobs", {"jobs": [{**jobs[0], "external_id": "SO-4", "job_number": "JOB-4"}, jobs[1]]}, "atomic=true"
    )
    invalid(
        response,
        [("jobs[1].parts[0].external_id", "duplicate_in_batch", message)],
        message="1 item is invalid; nothing was written.",
    )
    assert external_ids("jobs", company) == {"SO-2"}


def test_one_nested_part_twice_in_a_single_put(client, company):
    job = {
        **NEW["jobs"],
        "parts": [{"external_id": "SO-2-10", "part_number": "P-1"}, {"external_id": "SO-2-10", "part_number": "P-2"}],
    }
    invalid(
        put(client, "jobs", job),
        [
            (
                "parts[1].external_id",
                "duplicate_in_batch",
                "The item at parts[0] has the same external_source and external_id.",
            )
        ],
    )
    assert not Job.objects.exists() and not Part.objects.exists()


# --- Batch size ------------------------------------------------------------------------------------


def jobs_batch(count: int, start: int = 0) -> list[dict]:
    return [
        {"external_id": f"SO-{n}", "external_source": "SAP", "job_number": f"JOB-{n}"}
        for n in range(start, start + count)
    ]


@pytest.mark.parametrize("wrapper", ["jobs", "items"])
@pytest.mark.parametrize("query", ["", "atomic=true", "atomic=false"])
def test_more_items_than_the_limit_is_a_400_and_nothing_is_written(client, settings, wrapper, query):
    settings.SYNC_MAX_ITEMS = 3
    response = bulk(client, "jobs", {wrapper: jobs_batch(4)}, query)
    bad_request(
        response,
        "4 items; at most 3 are accepted per request.",
        [(wrapper, "max_items", "At most 3 items.")],
    )
    assert not Job.objects.exists()


def test_exactly_the_limit_is_accepted(client, company, settings):
    settings.SYNC_MAX_ITEMS = 3
    data = success(bulk(client, "jobs", {"jobs": jobs_batch(3)}))
    assert (data["total"], data["created"]) == (3, 3)
    assert Job.objects.filter(company=company).count() == 3


def test_1001_items_against_the_default_limit_is_a_400(client, settings):
    assert settings.SYNC_MAX_ITEMS == 1000
    response = bulk(client, "jobs", {"jobs": jobs_batch(1001)})
    bad_request(
        response,
        "1001 items; at most 1000 are accepted per request.",
        [("jobs", "max_items", "At most 1000 items.")],
    )
    assert not Job.objects.exists()


# --- Body shapes -----------------------------------------------------------------------------------

SHAPE = '{"jobs": [...]} (or {"items": [...]})'


@pytest.mark.parametrize(
    "body, message, errors",
    [
        ({}, f"The body must be {SHAPE}.", [("jobs", "required", REQUIRED)]),
        (
            {"jobs": [], "items": []},
            f"The body must be {SHAPE}. Send the items under one key, not both.",
            [("items", "two_wrappers", "Send either 'jobs' or 'items'.")],
        ),
        (
            {"job": jobs_batch(1)},
            f"Unknown top-level key 'job'; the body is {SHAPE}.",
            [("job", "unknown_field", "Unknown top-level key.")],
        ),
        (
            {"jobs": jobs_batch(1), "atomic": True},
            f"Unknown top-level key 'atomic'; the body is {SHAPE}.",
            [("atomic", "unknown_field", "Unknown top-level key.")],
        ),
        (
            {"jobs": {"external_id": "SO-1"}},
            "'jobs' must be an array of items.",
            [("jobs", "not_a_list", "Must be an array.")],
        ),
        ({"items": "SO-1"}, "'items' must be an array of items.", [("items", "not_a_list", "Must be an array.")]),
        ({"jobs": None}, "'jobs' must be an array of items.", [("jobs", "not_a_list", "Must be an array.")]),
    ],
    ids=["missing-wrapper", "both-wrappers", "wrong-wrapper", "extra-key", "object", "string", "null"],
)
@pytest.mark.parametrize("query", ["", "atomic=true"])
def test_a_bulk_body_of_the_wrong_shape_is_a_400(client, body, message, errors, query):
    bad_request(bulk(client, "jobs", body, query), message, errors)
    assert not Job.objects.exists()


NOT_AN_OBJECT_BODY = "The request body must be a JSON object."


@pytest.mark.parametrize(
    "raw, message",
    [
        (b"[]", NOT_AN_OBJECT_BODY),
        (json.dumps(jobs_batch(2)).encode(), NOT_AN_OBJECT_BODY),
        (b'"SO-1"', NOT_AN_OBJECT_BODY),
        (b"42", NOT_AN_OBJECT_BODY),
        (b"null", NOT_AN_OBJECT_BODY),
        (b" \n\t", "The request body is empty; send a JSON object."),
        (b'{"jobs": ["\xff"]}', "The request body is not valid UTF-8."),
        (b'{"jobs": [' + b"[" * 40 + b"]" * 40 + b"]}", "JSON is nested more than 32 levels deep."),
    ],
    ids=["empty-array", "array-of-items", "string", "number", "null", "whitespace", "not-utf8", "too-deep"],
)
@pytest.mark.parametrize("method", ["put", "bulk"])
def test_a_body_that_is_not_a_json_object_is_a_400(client, method, raw, message):
    if method == "put":
        response = client.put("/api-jobs/sync", data=raw, content_type=JSON)
    else:
        response = client.post("/api-jobs/bulk-sync", data=raw, content_type=JSON)
    bad_request(response, message)
    assert not Job.objects.exists()


@pytest.mark.parametrize(
    "raw",
    [b'{"jobs": [', b"{'external_id': 'SO-1'}", b'{"external_id": "SO-1",}', b"not json", b'{"a": 1} trailing'],
    ids=["truncated", "single-quotes", "trailing-comma", "bare-words", "trailing-garbage"],
)
@pytest.mark.parametrize("method", ["put", "bulk"])
def test_malformed_json_is_a_400(client, method, raw):
    url = "/api-jobs/sync" if method == "put" else "/api-jobs/bulk-sync"
    response = getattr(client, "put" if method == "put" else "post")(url, data=raw, content_type=JSON)
    error = bad_request(response)
    assert error["message"].startswith("The request body is not valid JSON (line 1, column "), error
    assert not Job.objects.exists()


@pytest.mark.parametrize("method", ["put", "bulk"])
def test_an_empty_body_is_a_400(client, method):
    # "empty where a body is needed" is invalid_json, 400 (docs/errors.md), like a whitespace body.
    url = "/api-jobs/sync" if method == "put" else "/api-jobs/bulk-sync"
    response = getattr(client, "put" if method == "put" else "post")(url, data=b"", content_type=JSON)
    if method == "put":
        bad_request(response, "The request body is empty; send a JSON object.")
    else:  # DRF hands the view {}: the wrapper is missing, a 400 all the same
        failure(response, 400, "BAD_REQUEST")
    assert not Job.objects.exists()


@pytest.mark.parametrize(
    "content_type", ["text/plain", "application/x-www-form-urlencoded", "application/xml", "text/json"]
)
@pytest.mark.parametrize("method", ["put", "bulk"])
def test_a_body_that_is_not_sent_as_json_is_a_415(client, method, content_type):
    if method == "put":
        response = client.put("/api-jobs/sync", data=json.dumps(NEW["jobs"]), content_type=content_type)
    else:
        response = client.post(
            "/api-jobs/bulk-sync", data=json.dumps({"jobs": [NEW["jobs"]]}), content_type=content_type
        )
    error = failure(response, 415, "UNSUPPORTED_MEDIA_TYPE")
    assert error == {
        "code": "UNSUPPORTED_MEDIA_TYPE",
        "message": "Send the body as JSON with Content-Type: application/json.",
    }
    assert not Job.objects.exists()


def test_items_that_are_not_objects_are_item_errors(client, company):
    body = {"jobs": [5, OTHER["jobs"], "SO-9", None, [NEW["jobs"]]]}
    data = success(bulk(client, "jobs", body))
    job = Job.objects.get(company=company)
    not_object = {
        "id": None,
        "external_id": None,
        "action": "error",
        "error": NOT_AN_OBJECT,
        "details": [{"field": "", "code": "not_an_object", "message": NOT_AN_OBJECT}],
    }
    assert data == {
        "total": 5,
        "created": 1,
        "updated": 0,
        "unchanged": 0,
        "errors": 4,
        "results": [
            {"index": 0, **not_object},
            {"index": 1, "external_id": "SO-3", "id": str(job.guid), "action": "created"},
            {"index": 2, **not_object},
            {"index": 3, **not_object},
            {"index": 4, **not_object},
        ],
    }
    job.delete()
    response = bulk(client, "jobs", body, "atomic=true")
    invalid(
        response,
        [(f"jobs[{index}]", "not_an_object", NOT_AN_OBJECT) for index in (0, 2, 3, 4)],
        message="4 items are invalid; nothing was written.",
    )
    assert not Job.objects.exists()


def test_a_bulk_body_sent_to_the_single_put_is_an_item_with_unknown_fields(client):
    response = put(client, "jobs", {"jobs": [NEW["jobs"]]})
    invalid(
        response,
        [
            ("jobs", "unknown_field", UNKNOWN),
            ("external_id", "required", REQUIRED),
            ("external_source", "required", REQUIRED),
            ("job_number", "required", REQUIRED),
        ],
    )
    assert not Job.objects.exists()


@pytest.mark.parametrize(
    "method, path",
    [
        ("get", "/api-jobs/sync"),
        ("post", "/api-jobs/sync"),
        ("put", "/api-jobs/bulk-sync"),
        ("delete", "/api-jobs/sync"),
    ],
)
def test_a_wrong_method_is_a_405(client, method, path):
    response = client.generic(method.upper(), path, data=json.dumps(NEW["jobs"]), content_type=JSON)
    failure(response, 405, "METHOD_NOT_ALLOWED")
    assert not Job.objects.exists()


def test_an_unknown_entity_is_a_404(client):
    failure(put(client, "widgets", NEW["jobs"]), 404, "NOT_FOUND")
    failure(bulk(client, "widgets", {"widgets": [NEW["jobs"]]}), 404, "NOT_FOUND")


# --- Query parameters ------------------------------------------------------------------------------


@pytest.mark.parametrize("query", ["foo=1", "dry_run=true", "company_guid=6f1c2b9e-3d4a-4b5c-8d6e-7f8091a2b3c4"])
def test_an_unknown_query_parameter_is_a_400(client, query):
    name = query.split("=")[0]
    for response in (
        client.put(f"/api-jobs/sync?{query}", data=json.dumps(NEW["jobs"]), content_type=JSON),
        bulk(client, "jobs", {"jobs": [NEW["jobs"]]}, query),
    ):
        bad_request(
            response,
            f"Unknown query parameter '{name}'.",
            [(f"query.{name}", "unknown_parameter", "Unknown query parameter.")],
        )
    assert not Job.objects.exists()


@pytest.mark.parametrize("value", ["maybe", "", "yes!", "TRUE1"])
def test_atomic_must_be_true_or_false(client, value):
    response = bulk(client, "jobs", {"jobs": [NEW["jobs"]]}, f"atomic={value}")
    bad_request(
        response,
        "Query parameter 'atomic' must be true or false.",
        [("query.atomic", "invalid", "Must be true or false.")],
    )
    assert not Job.objects.exists()


# --- Credentials and permissions -------------------------------------------------------------------


def send(client: APIClient, method: str):
    if method == "put":
        return put(client, "jobs", NEW["jobs"])
    return bulk(client, "jobs", {"jobs": [NEW["jobs"]]})


@pytest.fixture
def bad_credential(request, make_api_key, make_user):
    """(client carrying the credential named by the test's parameter, the 401's message)."""
    kind = request.param
    return _client_with(kind, make_api_key, make_user), CREDENTIALS[kind]


def _client_with(kind: str, make_api_key, make_user) -> APIClient:
    api_key, raw = make_api_key()
    if kind == "none":
        return APIClient()
    if kind == "malformed-key":
        return eryxon_client("rfk_nonsense")
    if kind == "unknown-key":
        return eryxon_client("rfk_zzzzzzzzzzzz_" + "x" * 43)
    if kind == "wrong-secret":
        return eryxon_client(raw[:-4] + ("AAAA" if not raw.endswith("AAAA") else "BBBB"))
    if kind == "revoked-key":
        services.revoke_api_key(api_key=api_key)
        return eryxon_client(raw)
    if kind == "disabled-key":
        services.update_api_key(api_key=api_key, changes={"is_active": False})
        return eryxon_client(raw)
    if kind == "expired-key":
        type(api_key).objects.filter(pk=api_key.pk).update(expires_at=dt.datetime(2020, 1, 1, tzinfo=dt.UTC))
        return eryxon_client(raw)
    if kind == "inactive-company":
        services.deactivate_company(company=api_key.company)
        return eryxon_client(raw)
    if kind == "garbage-jwt":
        return eryxon_client("not-a-jwt")
    if kind == "bad-key-with-good-jwt":
        client = APIClient()
        user = make_user(Role.COMPANY_ADMIN)
        client.credentials(
            HTTP_X_API_KEY="rfk_zzzzzzzzzzzz_" + "x" * 43, HTTP_AUTHORIZATION=f"Bearer {access_token_for(user)}"
        )
        return client
    raise AssertionError(kind)


INVALID_KEY = "Invalid API key."
CREDENTIALS = {  # the credential → the 401's message
    "none": "Authentication credentials were not provided.",
    "malformed-key": INVALID_KEY,
    "unknown-key": INVALID_KEY,
    "wrong-secret": INVALID_KEY,
    "revoked-key": "This API key has been revoked.",
    "disabled-key": "This API key is disabled.",
    "expired-key": "This API key has expired.",
    "inactive-company": "The company of this API key is inactive.",
    "garbage-jwt": "The token is invalid or expired.",
    "bad-key-with-good-jwt": "Send one credential: X-API-Key and Authorization name different ones.",
}


@pytest.mark.parametrize("bad_credential", list(CREDENTIALS), indirect=True)
@pytest.mark.parametrize("method", ["put", "bulk"])
def test_a_missing_or_bad_credential_is_a_401_and_writes_nothing(bad_credential, method):
    client, message = bad_credential
    response = send(client, method)
    error = failure(response, 401, "UNAUTHORIZED")
    assert error == {"code": "UNAUTHORIZED", "message": message}
    assert response["WWW-Authenticate"] == 'Bearer realm="ractory"'
    assert not Job.objects.exists()
    assert not SyncRun.objects.exists()


def test_no_credential_says_so(api):
    error = failure(send(api, "put"), 401, "UNAUTHORIZED")
    assert error == {"code": "UNAUTHORIZED", "message": "Authentication credentials were not provided."}


@pytest.mark.parametrize("method", ["put", "bulk"])
def test_a_read_only_key_is_a_403_naming_the_scope(make_api_key, method):
    client = eryxon_client(make_api_key(["sync:read"])[1])
    error = failure(send(client, method), 403, "FORBIDDEN")
    assert error == {"code": "FORBIDDEN", "message": "This API key lacks the scope 'sync:write'."}
    assert not Job.objects.exists()


@pytest.mark.parametrize("role", [Role.OPERATOR, Role.PROJECT_MANAGER])
@pytest.mark.parametrize("method", ["put", "bulk"])
def test_a_user_whose_role_cannot_sync_is_a_403(make_user, as_user, role, method):
    error = failure(send(as_user(make_user(role)), method), 403, "FORBIDDEN")
    assert error == {
        "code": "FORBIDDEN",
        "message": f"Your role {role} may not do this; allowed roles: SystemAdmin, CompanyAdmin, Integration.",
    }
    assert not Job.objects.exists()


@pytest.mark.parametrize("caller", [Role.SYSTEM_ADMIN, Role.COMPANY_ADMIN, Role.INTEGRATION, "key:sync:write"])
def test_the_callers_that_may_sync_are_admitted(client_as, company, caller):
    client, _ = client_as(caller)
    success(send(client, "put"), 201)
    assert external_ids("jobs", company) == {"SO-2"}


# --- A bulk request mixing good and bad items --------------------------------------------------------


def mixed_body() -> dict:
    return {
        "jobs": [
            {"external_id": "SO-2", "external_source": "SAP", "job_number": "JOB-2"},
            {"external_id": "SO-1", "external_source": "SAP", "customer": "Acme Ltd"},
            {"external_id": "SO-4", "external_source": "SAP", "job_number": "JOB-4", "due_date": "31/12/2024"},
            {"external_id": "SO-5", "external_source": "SAP", "colour": "red"},
            {
                "external_id": "SO-6",
                "external_source": "SAP",
                "job_number": "JOB-6",
                "parts": [
                    {
                        "external_id": "SO-6-10",
                        "part_number": "P-1",
                        "operations": [
                            {
                                "external_id": "SO-6-10-010",
                                "operation_name": "Cut",
                                "cell_name": "cutting",
                                "sequence": 1,
                            }
                        ],
                    }
                ],
            },
            {
                "external_id": "SO-7",
                "external_source": "SAP",
                "job_number": "JOB-7",
                "parts": [
                    {
                        "external_id": "SO-7-10",
                        "part_number": "P-1",
                        "operations": [
                            {
                                "external_id": "SO-7-10-010",
                                "operation_name": "Cut",
                                "cell_name": "Nowhere",
                                "sequence": 1,
                            }
                        ],
                    }
                ],
            },
            {"external_id": "SO-9", "external_source": "SAP", "job_number": "JOB-9"},
            {"external_id": "SO-8", "external_source": "SAP", "job_number": "JOB-1"},
        ]
    }


MIXED_ERRORS = {
    2: [("due_date", "invalid_date", DATE)],
    3: [("colour", "unknown_field", UNKNOWN), ("job_number", "required", REQUIRED)],
    5: [("parts[0].operations[0].cell_name", "cell_not_found", "No live cell named 'Nowhere' in this company.")],
    7: [("job_number", "not_unique", "job_number 'JOB-1' is already used by another live job.")],
}


@pytest.fixture
def mixed(client, stored):
    success(put(client, "jobs", {"external_id": "SO-9", "external_source": "SAP", "job_number": "JOB-9"}), 201)
    return stored


def test_a_partial_bulk_writes_the_good_items_and_reports_the_bad_ones(client, company, mixed):
    before = snapshot()
    response = bulk(client, "jobs", mixed_body())
    data = success(response)
    jobs = {job.external_id: job for job in Job.objects.filter(company=company)}
    assert set(jobs) == {"SO-1", "SO-2", "SO-6", "SO-9"}
    expected = []
    actions = {0: "created", 1: "updated", 4: "created", 6: "unchanged"}
    for index, item in enumerate(mixed_body()["jobs"]):
        if index in MIXED_ERRORS:
            errors = MIXED_ERRORS[index]
            expected.append(
                {
                    "index": index,
                    "external_id": item["external_id"],
                    "id": None,
                    "action": "error",
                    "error": sentence(errors),
                    "details": details(errors),
                }
            )
        else:
            job = jobs[item["external_id"]]
            expected.append(
                {"index": index, "external_id": item["external_id"], "id": str(job.guid), "action": actions[index]}
            )
    assert data == {"total": 8, "created": 2, "updated": 1, "unchanged": 1, "errors": 4, "results": expected}
    assert (jobs["SO-1"].customer, jobs["SO-1"].job_number, jobs["SO-1"].priority) == ("Acme Ltd", "JOB-1", 3)
    assert external_ids("parts", company) == {"SO-1-10", "SO-6-10"}
    assert external_ids("operations", company) == {"SO-1-10-010", "SO-6-10-010"}
    assert Operation.objects.get(external_id="SO-6-10-010").cell_id == mixed["cells"].id
    after = snapshot()
    assert after["cells"] == before["cells"] and after["resources"] == before["resources"]
    unchanged_before = [row for row in before["jobs"] if row["external_id"] == "SO-9"]
    assert [row for row in after["jobs"] if row["external_id"] == "SO-9"] == unchanged_before
    run = run_of(response)
    assert (run.status, run.entity, run.endpoint, run.atomic, run.item_count) == (
        "partial",
        "job",
        "POST /api-jobs/bulk-sync",
        False,
        8,
    )
    assert (run.inserted, run.updated, run.unchanged, run.errors) == (2, 1, 1, 4)
    assert run.error_summary["total"] == 5
    assert [error["pointer"] for error in run.error_summary["errors"]] == [
        "/jobs/2/due_date",
        "/jobs/3/colour",
        "/jobs/3/job_number",
        "/jobs/5/parts/0/operations/0/cell_name",
        "/jobs/7/job_number",
    ]


@pytest.mark.parametrize("wrapper", ["jobs", "items"])
def test_the_same_request_atomic_is_a_422_and_writes_nothing(client, company, mixed, wrapper):
    before = snapshot()
    counts = {plural: MODELS[plural].objects.count() for plural in PLURALS}
    response = bulk(client, "jobs", {wrapper: mixed_body()["jobs"]}, "atomic=true")
    error = failure(response, 422, "VALIDATION_ERROR")
    assert error == {
        "code": "VALIDATION_ERROR",
        "message": "4 items are invalid; nothing was written.",
        "details": [
            detail
            for index, errors in MIXED_ERRORS.items()
            for detail in details(errors, prefix=f"{wrapper}[{index}].")
        ],
    }
    assert [detail["field"] for detail in error["details"]][0] == f"{wrapper}[2].due_date"
    assert {plural: MODELS[plural].objects.count() for plural in PLURALS} == counts
    assert snapshot() == before
    run = run_of(response)
    assert (run.status, run.endpoint, run.atomic, run.item_count, run.errors, run.inserted, run.updated) == (
        "failed",
        "POST /api-jobs/bulk-sync",
        True,
        8,
        4,
        0,
        0,
    )


def test_a_partial_bulk_whose_items_all_fail_is_a_failed_run(client, company):
    body = {"resources": [{"external_id": "T-1", "external_source": "SAP", "name": "X", "type": "robot"}, 7]}
    response = bulk(client, "resources", body)
    data = success(response)
    assert (data["total"], data["created"], data["errors"]) == (2, 0, 2)
    assert [result["action"] for result in data["results"]] == ["error", "error"]
    assert not Resource.objects.exists()
    run = run_of(response)
    assert (run.status, run.entity, run.endpoint, run.atomic, run.errors) == (
        "failed",
        "resource",
        "POST /api-resources/bulk-sync",
        False,
        2,
    )


# --- Sync runs of refused requests ------------------------------------------------------------------


def test_a_refused_single_put_is_recorded_as_a_failed_run(client, company, key):
    response = put(client, "jobs", {**NEW["jobs"], "due_date": "2024-02-30"})
    invalid(response, [("due_date", "invalid_date", DATE)])
    run = run_of(response)
    assert (run.company_id, run.actor_api_key_id, run.actor_user_id) == (company.id, key[0].id, None)
    assert (run.entity, run.endpoint, run.status, run.atomic, run.dry_run, run.item_count) == (
        "job",
        "PUT /api-jobs/sync",
        "failed",
        True,
        False,
        1,
    )
    assert (run.inserted, run.updated, run.unchanged, run.errors) == (0, 0, 0, 1)
    assert run.error_summary == {
        "total": 1,
        "errors": [{"pointer": "/due_date", "code": "invalid_date", "detail": DATE}],
    }
    assert not Job.objects.exists()


def test_a_refused_request_of_a_jwt_user_names_the_user(make_user, as_user, company):
    user = make_user(Role.INTEGRATION)
    response = put(as_user(user), "cells", {"external_id": "WC-1", "external_source": "SAP"})
    invalid(response, [("name", "required", REQUIRED)])
    run = run_of(response)
    assert (run.actor_user_id, run.actor_api_key_id, run.entity, run.endpoint, run.status) == (
        user.id,
        None,
        "cell",
        "PUT /api-cells/sync",
        "failed",
    )
    assert not Cell.objects.exists()


# --- Idempotency-Key -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value", ["k" * 256, "", "clé", "tab\there"], ids=["too-long", "empty", "non-ascii", "control"]
)
@pytest.mark.parametrize("method", ["put", "bulk"])
def test_a_bad_idempotency_key_is_a_400(client, method, value):
    if method == "put":
        response = put(client, "jobs", NEW["jobs"], HTTP_IDEMPOTENCY_KEY=value)
    else:
        response = bulk(client, "jobs", {"jobs": [NEW["jobs"]]}, HTTP_IDEMPOTENCY_KEY=value)
    bad_request(
        response,
        "Idempotency-Key must be 1 to 255 printable ASCII characters.",
        [("headers.Idempotency-Key", "invalid", "1 to 255 printable ASCII characters.")],
    )
    assert not Job.objects.exists()


def test_an_idempotency_key_reused_for_another_body_is_a_422_and_writes_nothing(client, company):
    success(put(client, "jobs", NEW["jobs"], HTTP_IDEMPOTENCY_KEY="sync-42"), 201)
    before = snapshot()
    response = put(client, "jobs", OTHER["jobs"], HTTP_IDEMPOTENCY_KEY="sync-42")
    error = failure(response, 422, "VALIDATION_ERROR")
    assert error == {
        "code": "VALIDATION_ERROR",
        "message": "This Idempotency-Key was used for a different request; use a new key.",
    }
    assert snapshot() == before
    assert external_ids("jobs", company) == {"SO-2"}
    run = run_of(response)
    assert (run.status, run.endpoint, run.idempotency_key) == ("failed", "PUT /api-jobs/sync", "sync-42")
