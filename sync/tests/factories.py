"""Helpers of the sync tests: build a project → component → assembly → pieces/articles tree
through the sync engine itself (never by writing rows directly), and read rows back.

The tree builders (``SyncClient.tree``, ``.project``, ``.pieces`` …) and
``sync_directly(company, plural, items)`` write through the sync service, the engine behind the
endpoints, without an HTTP request: they make the rows a test needs before the request it is
about. The requests themselves go through ``SyncClient.post`` / ``.ok``.

``SyncClient`` wraps an authenticated ``APIClient`` and the company its items name:

    writer = SyncClient(as_key(raw_key), company)
    tree = writer.tree(pieces=2, articles=1)
    body = writer.ok("pieces", [writer.item("pieces", guid=tree.pieces[0], outer_length=5)])
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from urllib.parse import urlencode

from django.db import transaction
from django.utils import timezone

from assemblies.models import Article, Assembly, Component, Piece, Project
from sync.entities import MES_ENTITIES, SYNC_ENTITIES
from sync.models import SyncRun
from sync.services import sync_items
from tenants.caller import Caller
from tenants.models import ApiKey
from tenants.roles import Role

SYNC_URL = "/api/v1/sync/{plural}"
RUNS_URL = "/api/v1/sync/runs"

MODELS = {
    "projects": Project,
    "components": Component,
    "assemblies": Assembly,
    "pieces": Piece,
    "articles": Article,
}

# The fields an insert needs besides company_guid and the parent links.
REQUIRED_DATA = {
    "projects": {"code": "P-1"},
    "components": {"code": "C-1"},
    "assemblies": {},
    "pieces": {"piece_id": "PC-1"},
    "articles": {"code": "A-1"},
}


def new_guid() -> str:
    return str(uuid.uuid4())


def sync_url(plural: str, query: dict | None = None) -> str:
    url = SYNC_URL.format(plural=plural)
    return f"{url}?{urlencode(query)}" if query else url


def row(plural: str, guid, company=None):
    """The stored row of ``guid`` (in ``company`` when given), read fresh from the database."""
    queryset = MODELS[plural].objects.filter(guid=guid)
    if company is not None:
        queryset = queryset.filter(company=company)
    return queryset.get()


def rows(plural: str, company=None):
    queryset = MODELS[plural].objects.all()
    if company is not None:
        queryset = queryset.filter(company=company)
    return queryset


def snapshot(plural: str, company=None) -> dict:
    """Every column of every row of ``plural`` (of ``company``), keyed by (company_id, guid)."""
    result = {}
    for values in rows(plural, company).order_by("id").values():
        if isinstance(values.get("picture"), memoryview):
            values["picture"] = bytes(values["picture"])
        result[(values["company_id"], values["guid"])] = values
    return result


def snapshot_all(company=None) -> dict:
    return {plural: snapshot(plural, company) for plural in MODELS}


def sync_directly(company, plural: str, items: list[dict]) -> list[str]:
    """Writes ``items`` of ``plural`` (a Ractory or an MES entity) as an integration of ``company``
    through the sync service, in one transaction as an endpoint does, but with no HTTP request, no
    sync run and no API key. Every item must be written; returns their guids (text)."""
    entity = SYNC_ENTITIES[plural] if plural in SYNC_ENTITIES else MES_ENTITIES[plural]
    with transaction.atomic():
        outcome = sync_items(entity=entity, caller=Caller(company=company, role=Role.INTEGRATION), items=items)
    assert [item.action for item in outcome.items] == ["inserted"] * len(items), outcome.items
    return [str(item.guid) for item in outcome.items]


def freshen_key(api_key: ApiKey) -> None:
    """Mark the key as used just now, so authentication issues no ``last_used_at`` UPDATE."""
    ApiKey.objects.filter(pk=api_key.pk).update(last_used_at=timezone.now())


def run_of(response) -> SyncRun:
    """The sync run that recorded ``response`` (found by its request id)."""
    return SyncRun.objects.get(request_id=response["X-Request-ID"])


@dataclass
class Tree:
    """Guids (strings) of a tree built through the API."""

    company_guid: str
    project: str
    component: str
    assembly: str
    pieces: list[str] = field(default_factory=list)
    articles: list[str] = field(default_factory=list)

    def first(self, plural: str) -> str:
        """The guid of the tree's first row of ``plural``."""
        return {
            "projects": self.project,
            "components": self.component,
            "assemblies": self.assembly,
            "pieces": self.pieces[0],
            "articles": self.articles[0],
        }[plural]


class SyncClient:
    """An authenticated client plus the company its items name."""

    def __init__(self, client, company) -> None:
        self.client = client
        self.company = company

    @property
    def company_guid(self) -> str:
        return str(self.company.guid)

    # --- requests -------------------------------------------------------------------------

    def post(self, plural: str, items, *, query: dict | None = None, **headers):
        return self.client.post(sync_url(plural, query), {plural: items}, format="json", **headers)

    def ok(self, plural: str, items, *, query: dict | None = None, **headers) -> dict:
        """POST and assert 200; returns the body."""
        response = self.post(plural, items, query=query, **headers)
        assert response.status_code == 200, (response.status_code, response.content[:2000])
        assert response["Content-Type"] == "application/json"
        return response.json()

    # --- items ----------------------------------------------------------------------------

    def item(self, plural: str, **fields) -> dict:
        """An item of ``plural`` naming this client's company; ``guid=None`` leaves the guid out."""
        item = {"company_guid": self.company_guid}
        if "guid" not in fields:
            item["guid"] = new_guid()
        elif fields["guid"] is not None:
            item["guid"] = fields["guid"]
        fields.pop("guid", None)
        item.update(fields)
        return item

    def new(self, plural: str, **fields) -> dict:
        """An insert item: the required data fields filled in, overridable by ``fields``."""
        return self.item(plural, **{**REQUIRED_DATA[plural], **fields})

    # --- trees (through the sync service, see the module's docstring) ------------------------

    def project(self, **fields) -> str:
        return sync_directly(self.company, "projects", [self.new("projects", **fields)])[0]

    def component(self, project: str, **fields) -> str:
        return sync_directly(self.company, "components", [self.new("components", project_guid=project, **fields)])[0]

    def assembly(self, project: str, component: str, **fields) -> str:
        item = self.new("assemblies", project_guid=project, component_guid=component, **fields)
        return sync_directly(self.company, "assemblies", [item])[0]

    def pieces(self, project: str, component: str, assembly: str | None = None, count: int = 1, **fields) -> list[str]:
        links = {"project_guid": project, "component_guid": component}
        if assembly is not None:
            links["assembly_guid"] = assembly
        return sync_directly(
            self.company, "pieces", [self.new("pieces", piece_id=f"PC-{n}", **links, **fields) for n in range(count)]
        )

    def articles(self, project: str, component: str, count: int = 1, **fields) -> list[str]:
        links = {"project_guid": project, "component_guid": component}
        return sync_directly(
            self.company, "articles", [self.new("articles", code=f"A-{n}", **links, **fields) for n in range(count)]
        )

    def tree(self, *, pieces: int = 2, articles: int = 1, loose_pieces: int = 0) -> Tree:
        """project → component → assembly → ``pieces`` pieces; ``articles`` articles on the
        component; ``loose_pieces`` pieces of the component without an assembly."""
        project = self.project()
        component = self.component(project)
        assembly = self.assembly(project, component)
        tree = Tree(self.company_guid, project, component, assembly)
        if pieces:
            tree.pieces += self.pieces(project, component, assembly, count=pieces)
        if loose_pieces:
            tree.pieces += self.pieces(project, component, None, count=loose_pieces)
        if articles:
            tree.articles += self.articles(project, component, count=articles)
        return tree
