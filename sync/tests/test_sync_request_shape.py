"""The shape of a sync request: batch size, wrapper, top-level keys, item kind.

A problem with the request's *shape* is a 400 and a non-object item is a 422; in every case
nothing is written. Bodies are sent as raw JSON text so that any byte sequence can be sent.

The helpers at the top (``to_json``, ``Raw``, ``SyncClient``, ``build_tree``, ``db_state``,
``assert_item_errors``) are also used by the other sync validation test modules.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass

import pytest
from django.test import override_settings

from assemblies.models import Article, Assembly, AuditEvent, Component, Piece, Project
from conftest import assert_problem
from sync.models import IdempotencyRecord
from sync.tests.factories import sync_directly

ENTITIES = ("projects", "components", "assemblies", "pieces", "articles")
MODELS = {"projects": Project, "components": Component, "assemblies": Assembly, "pieces": Piece, "articles": Article}
# Every table a sync request may write (sync runs are recorded on failure too, by design).
WRITTEN_TABLES = (Project, Component, Assembly, Piece, Article, AuditEvent, IdempotencyRecord)


# --- Shared helpers -----------------------------------------------------------------------------


class Raw:
    """A JSON token sent verbatim: ``1e999``, a 5,000-digit integer, ``-Infinity``."""

    def __init__(self, text: str) -> None:
        self.text = text

    def __repr__(self) -> str:
        return f"Raw({self.text[:20]}{'…' if len(self.text) > 20 else ''})"


def to_json(value, *, ensure_ascii: bool = True) -> str:
    """JSON text of ``value``; ``NaN``/``Infinity`` as bare tokens, ``Raw`` values verbatim.

    With ``ensure_ascii`` (the default) every non-ASCII character, NUL and lone surrogate is sent
    as a ``\\uXXXX`` escape; without it, non-ASCII characters travel as raw UTF-8.
    """
    raws: list[str] = []

    def default(obj):
        if isinstance(obj, Raw):
            raws.append(obj.text)
            return f"@@raw{len(raws) - 1}@@"
        raise TypeError(type(obj))

    text = json.dumps(value, default=default, ensure_ascii=ensure_ascii, allow_nan=True)
    for index, raw in enumerate(raws):
        text = text.replace(f'"@@raw{index}@@"', raw, 1)
    return text


class SyncClient:
    """Posts sync bodies as raw JSON text with an API key of ``company``."""

    def __init__(self, client, company) -> None:
        self.client = client
        self.company = company
        self.company_guid = str(company.guid)

    def post(self, plural: str, body, *, query: str = "", ensure_ascii: bool = True):
        text = body if isinstance(body, (str, bytes)) else to_json(body, ensure_ascii=ensure_ascii)
        return self.client.post(f"/api/v1/sync/{plural}{query}", data=text, content_type="application/json")

    def items(self, plural: str, items: list, **kwargs):
        return self.post(plural, {plural: items}, **kwargs)

    def ok(self, plural: str, items: list, **kwargs) -> dict:
        response = self.items(plural, items, **kwargs)
        assert response.status_code == 200, response.content[:2000]
        return response.json()


@dataclass(frozen=True)
class Tree:
    """Guids (as text) of a project, a component of it and an assembly of that component."""

    project: str
    component: str
    assembly: str


def build_tree(sync: SyncClient, label: str = "T") -> Tree:
    """Creates a project → component → assembly chain of ``sync``'s company through the sync
    service: the parents of the items a test sends, not what it tests."""
    company, company_guid = sync.company, sync.company_guid
    [project] = sync_directly(company, "projects", [{"company_guid": company_guid, "code": f"P-{label}"}])
    [component] = sync_directly(
        company, "components", [{"company_guid": company_guid, "project_guid": project, "code": f"C-{label}"}]
    )
    [assembly] = sync_directly(
        company, "assemblies", [{"company_guid": company_guid, "project_guid": project, "component_guid": component}]
    )
    return Tree(project, component, assembly)


def valid_item(plural: str, tree: Tree | None, company_guid: str, /, **fields) -> dict:
    """The smallest item of ``plural`` that inserts a row, plus ``fields``."""
    item: dict = {"company_guid": company_guid}
    if plural != "projects":
        assert tree is not None, "children need a tree"
        item["project_guid"] = tree.project
    if plural in ("assemblies", "pieces", "articles"):
        item["component_guid"] = tree.component
    item.update(
        {
            "projects": {"code": "P-1"},
            "components": {"code": "C-1"},
            "assemblies": {},
            "pieces": {"piece_id": "PC-1"},
            "articles": {"code": "A-1"},
        }[plural]
    )
    item.update(fields)
    return item


def db_state() -> dict:
    """Every row (id, guid, updated_at, state) of every table a sync may write, by table."""
    state = {}
    for model in WRITTEN_TABLES:
        columns = ["id"]
        if hasattr(model, "updated_at"):
            columns += ["guid", "updated_at", "is_active", "deleted_at"]
        state[model._meta.label] = list(model._base_manager.order_by("id").values_list(*columns))
    return state


def row_counts() -> dict[str, int]:
    return {model._meta.label: model._base_manager.count() for model in WRITTEN_TABLES}


def assert_item_errors(response, expected: list[tuple[str, str]], *, status: int = 422, code="validation_error"):
    """A problem document whose ``errors[]`` are exactly ``expected`` (pointer, code), any order.

    Returns the errors by pointer (``{pointer: detail}`` when each pointer appears once).
    """
    body = assert_problem(response, status, code)
    errors = body.get("errors", [])
    for error in errors:
        assert set(error) == {"pointer", "code", "detail"}, error
        assert isinstance(error["detail"], str) and error["detail"], error
    got = sorted((error["pointer"], error["code"]) for error in errors)
    assert got == sorted(expected), body
    return {error["pointer"]: error["detail"] for error in errors}


# --- Fixtures -----------------------------------------------------------------------------------


@pytest.fixture
def sync(make_api_key, as_key, company) -> SyncClient:
    _, raw_key = make_api_key(scopes=("sync:write",))
    return SyncClient(as_key(raw_key), company)


@pytest.fixture
def tree(sync) -> Tree:
    return build_tree(sync)


def many(plural: str, tree: Tree, company_guid: str, count: int) -> list[dict]:
    return [valid_item(plural, tree, company_guid, guid=str(uuid.uuid4())) for _ in range(count)]


# --- Batch size ---------------------------------------------------------------------------------


@pytest.mark.parametrize("plural", ENTITIES)
def test_more_than_1000_items_is_400_batch_too_large(sync, tree, plural):
    before = db_state()

    response = sync.items(plural, many(plural, tree, sync.company_guid, 1001))

    details = assert_item_errors(response, [(f"/{plural}", "max_items")], status=400, code="batch_too_large")
    assert details[f"/{plural}"] == "At most 1000 items."
    assert "1001" in response.json()["detail"]
    assert db_state() == before


@pytest.mark.parametrize("plural", ["projects", "pieces"])
def test_batch_size_is_checked_before_the_items(sync, plural):
    """1001 broken items are still a 400 for their number, not 1001 item errors."""
    before = db_state()

    response = sync.items(plural, [1] * 1001)

    assert_item_errors(response, [(f"/{plural}", "max_items")], status=400, code="batch_too_large")
    assert db_state() == before


@pytest.mark.parametrize("plural", ENTITIES)
def test_exactly_1000_items_are_accepted(sync, tree, plural):
    model = MODELS[plural]
    before = model.objects.count()
    items = many(plural, tree, sync.company_guid, 1000)

    body = sync.ok(plural, items)

    assert (body["inserted"], body["updated"], body["unchanged"]) == (1000, 0, 0)
    assert [entry["index"] for entry in body["items"]] == list(range(1000))
    assert [entry["guid"] for entry in body["items"]] == [item["guid"] for item in items]
    assert model.objects.count() == before + 1000


def test_the_batch_limit_follows_the_setting(sync, tree):
    with override_settings(SYNC_MAX_ITEMS=3):
        before = db_state()
        response = sync.items("pieces", many("pieces", tree, sync.company_guid, 4))
        details = assert_item_errors(response, [("/pieces", "max_items")], status=400, code="batch_too_large")
        assert details["/pieces"] == "At most 3 items."
        assert db_state() == before

        assert sync.ok("pieces", many("pieces", tree, sync.company_guid, 3))["inserted"] == 3


@pytest.mark.parametrize("plural", ENTITIES)
def test_an_empty_array_is_valid_and_returns_zeros(sync, tree, plural):
    before = db_state()

    response = sync.items(plural, [])

    assert response.status_code == 200, response.content
    assert response.json() == {"inserted": 0, "updated": 0, "unchanged": 0, "items": []}
    assert db_state() == before


# --- Body, wrapper and top-level keys ------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    ["[]", '[{"code": "P-1"}]', '"projects"', "42", "1.5", "null", "true", '[{"projects": []}]'],
    ids=["empty-array", "array-of-items", "string", "integer", "float", "null", "true", "wrapped-in-array"],
)
def test_a_body_that_is_not_an_object_is_400(sync, text):
    before = db_state()

    response = sync.post("projects", text)

    body = assert_problem(response, 400, "body_not_object")
    assert body.get("errors", []) == []
    assert db_state() == before


@pytest.mark.parametrize(
    "text",
    ['{"projects": [', '{"projects": []} x', '{"projects": [],}', "{'projects': []}", b'{"projects": ["\xff"]}'],
    ids=["truncated", "trailing-garbage", "trailing-comma", "single-quotes", "not-utf8"],
)
def test_unparseable_json_is_400_invalid_json(sync, text):
    before = db_state()

    response = sync.post("projects", text)

    assert_problem(response, 400, "invalid_json")
    assert db_state() == before


@pytest.mark.parametrize("plural", ENTITIES)
def test_a_missing_wrapper_is_400_missing_wrapper(sync, plural):
    before = db_state()

    response = sync.post(plural, "{}")

    details = assert_item_errors(response, [(f"/{plural}", "required")], status=400, code="missing_wrapper")
    assert details[f"/{plural}"] == "This field is required."
    assert db_state() == before


@pytest.mark.parametrize("wrapper", ["pieces", "project", "Projects", "items", ""])
def test_a_wrapper_named_otherwise_is_an_unknown_top_level_key(sync, wrapper):
    item = {"company_guid": sync.company_guid, "code": "P-1"}
    before = db_state()

    response = sync.post("projects", {wrapper: [item]})

    assert_item_errors(response, [(f"/{wrapper}", "unknown_field")], status=400, code="unknown_top_level_key")
    assert db_state() == before


@pytest.mark.parametrize(
    "value",
    [{}, {"0": {"code": "P-1"}}, "P-1", 1, None, True],
    ids=["empty-object", "object", "string", "integer", "null", "true"],
)
def test_a_wrapper_that_is_not_an_array_is_400(sync, value):
    before = db_state()

    response = sync.post("projects", {"projects": value})

    details = assert_item_errors(response, [("/projects", "not_a_list")], status=400, code="wrapper_not_array")
    assert details["/projects"] == "Must be an array."
    assert db_state() == before


def test_an_unknown_top_level_key_next_to_the_wrapper_is_400(sync):
    item = {"company_guid": sync.company_guid, "code": "P-1"}
    before = db_state()

    response = sync.post("projects", {"projects": [item], "dry_run": True, "company_guid": sync.company_guid})

    assert_item_errors(
        response,
        [("/dry_run", "unknown_field"), ("/company_guid", "unknown_field")],
        status=400,
        code="unknown_top_level_key",
    )
    assert db_state() == before


def test_the_pointer_of_an_unknown_top_level_key_is_escaped(sync):
    response = sync.post("projects", {"projects": [], "a/b~c": 1})

    assert_item_errors(response, [("/a~1b~0c", "unknown_field")], status=400, code="unknown_top_level_key")


# --- Items that are not objects ------------------------------------------------------------------


@pytest.mark.parametrize("plural", ENTITIES)
@pytest.mark.parametrize(
    "value",
    [1, 1.5, "item", None, True, [], [{"code": "P-1"}]],
    ids=["integer", "float", "string", "null", "true", "empty-array", "array"],
)
def test_an_item_that_is_not_an_object_is_422_not_an_object(sync, plural, value):
    before = db_state()

    response = sync.items(plural, [value])

    details = assert_item_errors(response, [(f"/{plural}/0", "not_an_object")])
    assert details[f"/{plural}/0"] == "Each item must be an object."
    assert db_state() == before


def test_non_objects_between_valid_items_are_each_reported_and_nothing_is_written(sync, tree):
    good = [valid_item("pieces", tree, sync.company_guid, piece_id=f"PC-{n}") for n in range(3)]
    before = db_state()

    response = sync.items("pieces", [good[0], "x", good[1], None, good[2], 7])

    body = assert_problem(response, 422, "validation_error")
    assert body["detail"] == "3 items are invalid; nothing was written."
    assert_item_errors(
        response, [("/pieces/1", "not_an_object"), ("/pieces/3", "not_an_object"), ("/pieces/5", "not_an_object")]
    )
    assert db_state() == before
