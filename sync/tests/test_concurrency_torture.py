"""Concurrency torture. PostgreSQL only.

Three tests, from the most targeted to the widest:

- ``test_children_written_while_their_parent_dies_*``: deterministic. A sync of 200 children
  under a parent is held at its write by a row lock the test owns (on one stored, deleted child,
  which a cascade skips), after it has read the parent; the parent is then deleted (DELETE, an
  ``is_active: false`` sync, an MES job tombstone); the lock is released once the killer has
  finished or waits too. Whatever the engine locks, no active child may stay under the dead parent.
- ``test_children_racing_their_parents_death``: the same two requests released together by a
  barrier, ``TORTURE_ROUNDS`` rounds (scheduling decides who wins; the invariant must hold anyway).
- ``test_torture``: ``TORTURE_THREADS`` writers for ``TORTURE_SECONDS`` on a small shared set of
  keys (so they collide a lot): overlapping Ractory syncs (tombstones, partial mode), DELETEs and
  restores at every level, MES bulk syncs and PUTs (nested trees, parts by job, operations by part
  and cell, tombstones, cells tombstoned under their operations, reorders) and idempotent retries
  sent concurrently and sequentially. A monitor checks the parent links while they run (and stops
  everything at the first violation); afterwards every invariant is checked on the database and on
  every response. ``TORTURE_SEED`` replays a run's choices (scheduling aside); it is printed.

Requests go through the real stack in process (Django's test client: middleware, authentication,
rate limiting, DRF, the exception handler), one client and one database connection per thread. A
gunicorn would add processes to start and stop and nothing these invariants depend on: the
isolation under test is PostgreSQL's, between connections, and every thread has its own.
"""

from __future__ import annotations

import json
import logging
import os
import random
import threading
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from django.db import connection, connections, transaction
from rest_framework.test import APIClient

from assemblies.models import Article, Assembly, Component, Job, Operation, Part, Piece, Project
from sync.entities import MES_ENTITIES
from sync.models import SyncRun

from .factories import freshen_key
from .invariants import (
    duplicate_live_business_keys,
    duplicate_natural_keys,
    live_children_of_dead_parents,
    orphans,
    parent_links,
)
from .ordering import CONCURRENT_WRITERS

pytestmark = CONCURRENT_WRITERS

SOURCE = "TORTURE"
REPLAYED = "Idempotent-Replayed"
# A generous bound for one lock wait or one request; never reached unless something hangs.
HANG_SECONDS = 60

TORTURE_SECONDS = float(os.environ.get("TORTURE_SECONDS", "30"))
TORTURE_THREADS = int(os.environ.get("TORTURE_THREADS", "6"))
TORTURE_ROUNDS = int(os.environ.get("TORTURE_ROUNDS", "6"))
KEEP_GOING = bool(os.environ.get("TORTURE_KEEP_GOING"))
CHILDREN = 200


def torture_seed() -> int:
    seed = int(os.environ.get("TORTURE_SEED") or random.SystemRandom().randrange(2**32))
    print(f"TORTURE_SEED={seed}")  # shown with a failure: rerun with it
    return seed


def fresh_guid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


@pytest.fixture(autouse=True)
def no_rate_limit(settings):
    # Rate limiting has its own tests; here it would only turn the torture into 429s.
    settings.RATE_LIMIT_PER_MINUTE = 10**9
    settings.RATE_LIMIT_COMPANY_PER_MINUTE = 10**9


class InThread:
    """Run ``job`` in a thread of its own (so with its own database connection), now."""

    def __init__(self, job: Callable[[], object]):
        self.job = job
        self.result: object = None
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        try:
            self.result = self.job()
        except BaseException as error:  # noqa: BLE001 - reported to the test by join()
            self.error = error
        finally:
            connections.close_all()

    @property
    def done(self) -> bool:
        return not self.thread.is_alive()

    def join(self):
        self.thread.join(HANG_SECONDS)
        assert not self.thread.is_alive(), f"{self.job} still running after {HANG_SECONDS} s"
        if self.error is not None:
            raise self.error
        return self.result


def lock_waiters() -> int:
    """Backends of this database waiting for a lock (row, table or advisory)."""
    with connections["default"].cursor() as cursor:
        cursor.execute("SELECT pg_stat_clear_snapshot()")  # else one snapshot per transaction
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
        )
        return cursor.fetchone()[0]


def wait_until(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + HANG_SECONDS
    while not condition():
        assert time.monotonic() < deadline, f"waited {HANG_SECONDS} s for {what}"
        time.sleep(0.01)


def json_body(response):
    if not response.content:
        return None
    try:
        return json.loads(response.content)
    except ValueError:
        return response.content[:500].decode("utf-8", "replace")


# --- One parent dying while its children are written ---------------------------------------------


@dataclass
class Scene:
    """A parent with one stored child that is deleted already (the gate: a cascade skips it, a
    sync reactivating it must lock it), a sync of ``CHILDREN`` children under that parent (the gate
    among them) and a request killing the parent, each request sent by a client of its own."""

    parent_model: type
    parent_guid: str
    child_model: type
    gate_guid: str
    write: Callable
    kill: Callable

    @property
    def link(self) -> str:
        return next(
            f.name for child, f in parent_links() if child is self.child_model and f.related_model is self.parent_model
        )


def _ractory(writer: APIClient, company) -> tuple[str, str, Callable]:
    """A project with one deleted component; the sync of 200 components that reactivates it."""
    company_guid = str(company.guid)
    project, gate = str(uuid.uuid4()), str(uuid.uuid4())

    def post(plural, items):
        return writer.post(f"/api/v1/sync/{plural}", {plural: items}, format="json")

    assert post("projects", [{"company_guid": company_guid, "guid": project, "code": "P"}]).status_code == 200
    component = {"company_guid": company_guid, "project_guid": project, "code": "C"}
    assert post("components", [{**component, "guid": gate}]).status_code == 200
    assert writer.delete(f"/api/v1/components/{gate}").status_code == 204
    items = [{**component, "guid": gate}] + [{**component, "guid": str(uuid.uuid4())} for _ in range(CHILDREN - 1)]
    return project, gate, lambda: post("components", items)


def project_deleted(writer, killer, company) -> Scene:
    project, gate, write = _ractory(writer, company)
    return Scene(Project, project, Component, gate, write, lambda: killer.delete(f"/api/v1/projects/{project}"))


def project_tombstoned(writer, killer, company) -> Scene:
    project, gate, write = _ractory(writer, company)
    tombstone = {"company_guid": str(company.guid), "guid": project, "is_active": False}
    return Scene(
        Project,
        project,
        Component,
        gate,
        write,
        lambda: killer.post("/api/v1/sync/projects", {"projects": [tombstone]}, format="json"),
    )


def job_tombstoned(writer, killer, company) -> Scene:
    job = f"J-{uuid.uuid4().hex[:8]}"

    def bulk(client, plural, items):
        return client.post(f"/api-{plural}/bulk-sync", {plural: items}, format="json")

    assert bulk(writer, "jobs", [{"external_id": job, "external_source": SOURCE, "job_number": job}]).status_code == 200
    part = {"external_source": SOURCE, "job_external_id": job}
    gate = f"{job}-P0"
    assert bulk(writer, "parts", [{**part, "external_id": gate, "part_number": "PN-0"}]).status_code == 200
    assert bulk(writer, "parts", [{**part, "external_id": gate, "is_active": False}]).status_code == 200
    items = [{**part, "external_id": f"{job}-P{n}", "part_number": f"PN-{n}"} for n in range(CHILDREN)]
    return Scene(
        Job,
        str(Job.objects.get(company=company, external_id=job).guid),
        Part,
        str(Part.objects.get(company=company, external_id=gate).guid),
        lambda: bulk(writer, "parts", items),
        lambda: bulk(killer, "jobs", [{"external_id": job, "external_source": SOURCE, "is_active": False}]),
    )


PARENT_DEATHS = {
    "project DELETE vs component sync": project_deleted,
    "project tombstone sync vs component sync": project_tombstoned,
    "MES job tombstone vs parts bulk-sync": job_tombstoned,
}


@pytest.fixture
def two_clients(make_api_key):
    """``two_clients(company)``: two clients of ``company``, each with a key of its own."""

    def clients(company):
        return [_client(make_api_key(company=company)[1]) for _ in range(2)]

    return clients


def _client(raw_key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_X_API_KEY=raw_key)
    return client


def _write_counts(response) -> dict[str, int]:
    """inserted / updated / refused (parent_inactive) items of the children's sync."""
    body = json_body(response)
    if response.status_code == 422:  # Ractory, atomic: refused as a whole
        codes = [error["code"] for error in body["errors"]]
        return {"inserted": 0, "updated": 0, "refused": len(codes) if set(codes) == {"parent_inactive"} else -1}
    if "data" in body:  # MES bulk, partial
        results = body["data"]["results"]
        refused = [r for r in results if [d["code"] for d in r.get("details", [])] == ["parent_inactive"]]
        return {"inserted": body["data"]["created"], "updated": body["data"]["updated"], "refused": len(refused)}
    return {"inserted": body["inserted"], "updated": body["updated"], "refused": 0}


def assert_parent_death_outcome(name: str, scene: Scene, company, write, kill, where: str) -> None:
    """Either the children were written and then cascaded with their parent, or the sync saw the
    parent dead and refused them all; never an active child under the dead parent."""
    assert write.status_code in (200, 422), (where, "write", write.status_code, write.content[:500])
    assert kill.status_code in (200, 204), (where, "kill", kill.status_code, kill.content[:500])
    violations = live_children_of_dead_parents(company)
    assert not violations, f"{where}: {name}: the write answered {write.status_code}, the kill " + (
        f"{kill.status_code}:\n" + "\n".join(violations)
    )

    counts = _write_counts(write)
    assert counts in (
        {"inserted": CHILDREN - 1, "updated": 1, "refused": 0},  # written (the gate reactivated)
        {"inserted": 0, "updated": 0, "refused": CHILDREN},  # the parent seen dead
    ), (where, counts)
    parent = scene.parent_model.objects.get(company=company, guid=scene.parent_guid)
    assert not parent.is_active, where
    children = list(scene.child_model.objects.filter(**{scene.link: parent}).values("is_active", "deleted_at"))
    if counts["refused"]:
        assert children == [{"is_active": False, "deleted_at": children[0]["deleted_at"]}], where  # the gate only
        assert children[0]["deleted_at"] < parent.deleted_at, where  # deleted before, kept its stamp
    else:  # every child written, then cascaded with the parent's stamp (restorable with it)
        assert len(children) == CHILDREN, where
        assert {(c["is_active"], c["deleted_at"]) for c in children} == {(False, parent.deleted_at)}, where


@pytest.mark.parametrize("name", PARENT_DEATHS)
def test_children_written_while_their_parent_dies_never_stay_active(name, two_clients, company):
    writer, killer = two_clients(company)
    scene = PARENT_DEATHS[name](writer, killer, company)

    with transaction.atomic():
        # The gate: the sync has read its parents and waits at its write on this row.
        scene.child_model.objects.select_for_update().filter(company=company, guid=scene.gate_guid).get()
        writing = InThread(scene.write)
        wait_until(lambda: lock_waiters() >= 1 or writing.done, "the sync to wait at its write")
        assert not writing.done, ("the sync did not wait at the gate", writing.join().content[:500])
        killing = InThread(scene.kill)
        # Unlocked parents: the kill commits now. Locked ones: it waits for the sync.
        wait_until(lambda: killing.done or lock_waiters() >= 2, "the kill to finish or to wait")
    write, kill = writing.join(), killing.join()

    assert_parent_death_outcome(name, scene, company, write, kill, "held at the write")


def test_children_racing_their_parents_death(two_clients, make_company):
    """The requests of every ``PARENT_DEATHS`` case released together, ``TORTURE_ROUNDS`` times each
    (each round in a company of its own, so a round sees only its own rows)."""
    failed: Counter = Counter()
    last_failure = None
    for round_number in range(TORTURE_ROUNDS):
        for name, prepare in PARENT_DEATHS.items():
            company = make_company()
            writer, killer = two_clients(company)
            scene = prepare(writer, killer, company)
            barrier = threading.Barrier(2)

            def released(request, barrier=barrier):
                def job():
                    barrier.wait(HANG_SECONDS)
                    return request()

                return job

            writing, killing = InThread(released(scene.write)), InThread(released(scene.kill))
            write, kill = writing.join(), killing.join()
            try:
                assert_parent_death_outcome(name, scene, company, write, kill, f"round {round_number}")
            except AssertionError as failure:
                failed[name] += 1
                last_failure = failure
    assert not failed, f"failed rounds: {dict(failed)} of {TORTURE_ROUNDS} each; the last: {last_failure}"


# --- The torture --------------------------------------------------------------------------------


@dataclass
class Keys:
    """The shared keys every writer works on: two small Ractory trees and three MES jobs."""

    company_guid: str
    projects: list[str]
    components: dict[str, str]  # component → project
    assemblies: dict[str, str]  # assembly → component
    pieces: dict[str, str]  # piece → component
    articles: dict[str, str]  # article → component

    JOBS = 3
    PARTS = 4  # per job
    OPERATIONS = 3  # per part
    CELLS = (("WC-CUT", "Cut"), ("WC-BEND", "Bend"), ("WC-PAINT", "Paint"))

    @classmethod
    def build(cls, rng: random.Random, company_guid: str) -> Keys:
        projects = [fresh_guid(rng) for _ in range(2)]
        components = {fresh_guid(rng): project for project in projects for _ in range(2)}
        assemblies = {fresh_guid(rng): component for component in components for _ in range(2)}
        pieces = {fresh_guid(rng): component for component in components for _ in range(60)}
        articles = {fresh_guid(rng): component for component in components for _ in range(20)}
        return cls(company_guid, projects, components, assemblies, pieces, articles)

    def __post_init__(self):
        self.by_component: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
        for plural in ("assemblies", "pieces", "articles"):
            for guid, component in getattr(self, plural).items():
                self.by_component[component][plural].append(guid)

    def guids(self, plural: str) -> list[str]:
        return self.projects if plural == "projects" else list(getattr(self, plural))

    # --- Ractory items ----------------------------------------------------------------------

    def item(self, plural: str, guid: str, rng: random.Random, *, tombstone: bool = False) -> dict:
        item = {"company_guid": self.company_guid, "guid": guid}
        if plural == "projects":
            item.update(code=f"P-{rng.randrange(9)}", in_production=rng.random() < 0.5)
        else:
            component = guid if plural == "components" else getattr(self, plural)[guid]
            item["project_guid"] = self.components[component]
            if plural != "components":
                item["component_guid"] = component
            if plural == "components":
                item.update(code=f"C-{rng.randrange(9)}", quantity=rng.randrange(1, 5))
            elif plural == "assemblies":
                item.update(cell_number=rng.randrange(1, 9))
            elif plural == "pieces":
                assembly = rng.choice([*self.by_component[component]["assemblies"], None])
                item.update(assembly_guid=assembly, piece_id=f"PC-{guid[:4]}", outer_length=rng.randrange(100, 3000))
            else:
                item.update(code=f"A-{guid[:4]}", quantity=rng.randrange(1, 20) + 0.5)
        if tombstone:
            item["is_active"] = False
        return item

    def batch(self, plural: str, rng: random.Random, tombstones: float) -> list[dict]:
        """Items of ``plural``: of one component, one project or all, some of them tombstones."""
        if plural == "projects":
            guids = rng.sample(self.projects, rng.randint(1, 2))
        elif plural == "components":
            project = rng.choice(self.projects)
            guids = [g for g, p in self.components.items() if p == project or rng.random() < 0.3]
        else:
            component = rng.choice(list(self.components))
            guids = list(self.by_component[component][plural])
            if rng.random() < 0.3:  # a project's worth
                project = self.components[component]
                guids = [g for g, c in getattr(self, plural).items() if self.components[c] == project]
            if rng.random() < 0.4:
                guids = rng.sample(guids, max(1, len(guids) // 2))
        rng.shuffle(guids)
        return [self.item(plural, guid, rng, tombstone=rng.random() < tombstones) for guid in guids]

    # --- MES items --------------------------------------------------------------------------

    @staticmethod
    def job_id(j: int) -> str:
        return f"J{j}"

    @staticmethod
    def part_id(j: int, p: int) -> str:
        return f"J{j}-P{p}"

    @staticmethod
    def operation_id(j: int, p: int, o: int) -> str:
        return f"J{j}-P{p}-O{o}"

    def cell(self, rng: random.Random, *, tombstone: bool) -> dict:
        external_id, name = rng.choice(self.CELLS)
        item = {"external_id": external_id, "external_source": SOURCE, "name": name, "sequence": rng.randrange(5)}
        if tombstone:
            item = {"external_id": external_id, "external_source": SOURCE, "is_active": False}
        return item

    def operations(self, j: int, p: int, rng: random.Random, *, top: bool, tombstones: float = 0.0) -> list[dict]:
        """Operations of one part: all of them (maybe reordered, a valid swap) or some."""
        numbers = list(range(self.OPERATIONS))
        sequences = [o + 1 for o in numbers]
        if rng.random() < 0.3:
            rng.shuffle(sequences)
        if rng.random() < 0.3:
            numbers = rng.sample(numbers, rng.randint(1, self.OPERATIONS))
        items = []
        for o in numbers:
            item = {"external_id": self.operation_id(j, p, o)}
            if top:
                item.update(external_source=SOURCE, part_external_id=self.part_id(j, p))
            if rng.random() < tombstones:
                item["is_active"] = False
            else:
                item.update(
                    operation_name=rng.choice(["Cut", "Bend", "Weld"]),
                    cell_name=self.CELLS[(p + o + rng.randrange(2)) % len(self.CELLS)][1],
                    sequence=sequences[o],
                )
            items.append(item)
        return items

    def part(self, j: int, p: int, rng: random.Random, *, top: bool, tombstone: bool = False) -> dict:
        item = {"external_id": self.part_id(j, p)}
        if top:
            item.update(external_source=SOURCE, job_external_id=self.job_id(j))
        if tombstone:
            return {**item, "is_active": False}
        item.update(part_number=f"PN-{p}", material=rng.choice(["Steel", "Alu"]), quantity=rng.randint(1, 5))
        if rng.random() < 0.5:
            item["operations"] = self.operations(j, p, rng, top=False)
        return item

    def job(self, j: int, rng: random.Random, *, tombstone: bool = False, nested: bool = True) -> dict:
        item = {"external_id": self.job_id(j), "external_source": SOURCE}
        if tombstone:
            return {**item, "is_active": False}
        item.update(job_number=f"TJ-{j}", customer=rng.choice(["Acme", "Umbrella"]), priority=rng.randrange(3))
        if nested:
            parts = sorted(rng.sample(range(self.PARTS), rng.randint(1, self.PARTS)))
            item["parts"] = [self.part(j, p, rng, top=False) for p in parts]
        return item


@dataclass
class Exchange:
    """One request sent and what came back."""

    request_id: str
    kind: str  # ractory_sync | delete | restore | mes_bulk | mes_put
    path: str
    plural: str
    items: list | None  # the items of a sync request (a single PUT: its one item)
    atomic: bool
    key: str | None  # Idempotency-Key
    status: int
    body: object
    replayed: bool
    content_type: str

    @property
    def is_sync(self) -> bool:
        return self.kind in ("ractory_sync", "mes_bulk", "mes_put")

    def brief(self, *keys: str) -> str:
        """One line: the request, its status, and what it did to the items named by ``keys``."""
        line = f"[{self.request_id}] {self.kind} {self.path}{' key ' + self.key if self.key else ''} → {self.status}"
        if self.is_sync and self.status in (200, 201) and not unexpected_answer(self):
            for item, (action, guid, external_id) in zip(self.items, reported_outcomes(self), strict=True):
                named = {guid, external_id, *(str(value) for value in item.values())} & set(keys)
                if named:
                    state = "deleted" if item.get("is_active") is False else "active"
                    links = [f"{name} {value}" for name, value in item.items() if name != "guid" and value in keys]
                    line += f"; {item.get('guid') or item['external_id']} {action} {state}"
                    line += f" ({', '.join(links)})" if links else ""
        return line

    def __str__(self) -> str:
        body = json.dumps(self.body)[:600] if not isinstance(self.body, str) else self.body
        key = f" Idempotency-Key {self.key}" if self.key else ""
        return f"[{self.request_id}] {self.kind} {self.path}{key} → {self.status} {body}"


class Journal:
    """Every exchange of the run, from every thread, and the violations seen."""

    def __init__(self, seed: int, company_guid: str):
        self.seed = seed
        self.company_guid = company_guid
        self.exchanges: list[Exchange] = []
        self.problems: list[str] = []
        self.stop = threading.Event()
        self.stopped_early = False
        self._lock = threading.Lock()

    def naming(self, child: str, parent: str, limit: int = 12) -> list[Exchange]:
        """The last ``limit`` exchanges of the writers naming ``child``, ``parent`` or any parent
        the child's items name (a grandparent's DELETE cascades too)."""
        with self._lock:
            exchanges = [e for e in self.exchanges if "-setup-" not in e.request_id]
        keys = {child, parent}
        for exchange in exchanges:
            for item in exchange.items or ():
                if child in (item.get("guid"), item.get("external_id")):
                    keys |= {str(v) for k, v in item.items() if k.endswith(("_guid", "_external_id")) and v}
        keys.discard(self.company_guid)
        named = [e for e in exchanges if any(key in e.path or key in json.dumps(e.items) for key in keys)]
        return named[-limit:]

    def add(self, exchange: Exchange) -> None:
        with self._lock:
            self.exchanges.append(exchange)

    def fail(self, problem: str) -> None:
        """Record ``problem`` and stop every thread (unless ``TORTURE_KEEP_GOING`` is set)."""
        with self._lock:
            self.problems.append(problem)
            if KEEP_GOING:
                return
            self.stopped_early = True
        self.stop.set()


class Sender:
    """One thread's client: sends requests and journals them."""

    def __init__(self, name: str, raw_key: str, journal: Journal):
        self.name = name
        self.raw_key = raw_key
        self.client = _client(raw_key)
        self.journal = journal
        self.count = 0

    def send(self, kind, method, path, *, plural, items=None, body=None, atomic=True, key=None) -> Exchange:
        self.count += 1
        request_id = f"torture-{self.journal.seed}-{self.name}-{self.count}"
        headers = {"HTTP_X_REQUEST_ID": request_id}
        if key is not None:
            headers["HTTP_IDEMPOTENCY_KEY"] = key
        data = json.dumps(body) if body is not None else None
        if method == "DELETE":
            response = self.client.delete(path, **headers)
        elif method == "PUT":
            response = self.client.put(path, data=data, content_type="application/json", **headers)
        else:
            response = self.client.post(path, data=data, content_type="application/json", **headers)
        exchange = Exchange(
            request_id=request_id,
            kind=kind,
            path=path,
            plural=plural,
            items=items,
            atomic=atomic,
            key=key,
            status=response.status_code,
            body=json_body(response),
            replayed=response.get(REPLAYED) == "true",
            content_type=response.get("Content-Type", ""),
        )
        self.journal.add(exchange)
        if exchange.status >= 500:
            self.journal.fail(f"a {exchange.status}: {exchange}")
        return exchange

    # --- request kinds ------------------------------------------------------------------------

    def ractory_sync(self, plural: str, items: list, *, atomic: bool = True, key: str | None = None) -> Exchange:
        path = f"/api/v1/sync/{plural}" + ("" if atomic else "?atomic=false")
        return self.send(
            "ractory_sync", "POST", path, plural=plural, items=items, body={plural: items}, atomic=atomic, key=key
        )

    def delete(self, plural: str, guid: str) -> Exchange:
        return self.send("delete", "DELETE", f"/api/v1/{plural}/{guid}", plural=plural)

    def restore(self, plural: str, guid: str) -> Exchange:
        return self.send("restore", "POST", f"/api/v1/{plural}/{guid}/restore", plural=plural)

    def mes_bulk(self, plural: str, items: list, *, atomic: bool = False, key: str | None = None) -> Exchange:
        path = f"/api-{plural}/bulk-sync" + ("?atomic=true" if atomic else "")
        wrapper = "items" if len(items) % 2 else plural  # Eryxon sends both
        return self.send(
            "mes_bulk", "POST", path, plural=plural, items=items, body={wrapper: items}, atomic=atomic, key=key
        )

    def mes_put(self, plural: str, item: dict, *, key: str | None = None) -> Exchange:
        return self.send("mes_put", "PUT", f"/api-{plural}/sync", plural=plural, items=[item], body=item, key=key)


# What each writer does, by weight. Every action builds its request from the thread's own
# random sequence, so a seed replays the same requests in each thread.
RACTORY_CHILDREN = ("components", "assemblies", "pieces", "articles")
RESTORABLE = {"projects": 3, "components": 4, "assemblies": 4, "pieces": 1, "articles": 1}


def act_ractory_children(sender: Sender, keys: Keys, rng: random.Random) -> None:
    plural = rng.choice(RACTORY_CHILDREN)
    sender.ractory_sync(plural, keys.batch(plural, rng, tombstones=0.05), atomic=rng.random() < 0.5)


def act_ractory_projects(sender: Sender, keys: Keys, rng: random.Random) -> None:
    sender.ractory_sync("projects", keys.batch("projects", rng, tombstones=0.25), atomic=rng.random() < 0.5)


def _weighted_plural(rng: random.Random) -> str:
    return rng.choices(list(RESTORABLE), weights=list(RESTORABLE.values()))[0]


def act_delete(sender: Sender, keys: Keys, rng: random.Random) -> None:
    plural = _weighted_plural(rng)
    sender.delete(plural, rng.choice(keys.guids(plural)))


def act_restore(sender: Sender, keys: Keys, rng: random.Random) -> None:
    plural = _weighted_plural(rng)
    sender.restore(plural, rng.choice(keys.guids(plural)))


def act_mes_job_put(sender: Sender, keys: Keys, rng: random.Random) -> None:
    sender.mes_put("jobs", keys.job(rng.randrange(keys.JOBS), rng, tombstone=rng.random() < 0.15))


def act_mes_jobs(sender: Sender, keys: Keys, rng: random.Random) -> None:
    jobs = rng.sample(range(keys.JOBS), rng.randint(1, keys.JOBS))
    items = [keys.job(j, rng, tombstone=rng.random() < 0.2, nested=rng.random() < 0.7) for j in jobs]
    sender.mes_bulk("jobs", items, atomic=rng.random() < 0.2)


def act_mes_parts(sender: Sender, keys: Keys, rng: random.Random) -> None:
    j = rng.randrange(keys.JOBS)
    parts = rng.sample(range(keys.PARTS), rng.randint(1, keys.PARTS))
    items = [keys.part(j, p, rng, top=True, tombstone=rng.random() < 0.15) for p in parts]
    if rng.random() < 0.3:
        sender.mes_put("parts", items[0])
    else:
        sender.mes_bulk("parts", items, atomic=rng.random() < 0.2)


def act_mes_operations(sender: Sender, keys: Keys, rng: random.Random) -> None:
    j, p = rng.randrange(keys.JOBS), rng.randrange(keys.PARTS)
    items = keys.operations(j, p, rng, top=True, tombstones=0.1)
    if rng.random() < 0.2:
        sender.mes_put("operations", items[0])
    else:
        sender.mes_bulk("operations", items, atomic=rng.random() < 0.2)


def act_mes_cells(sender: Sender, keys: Keys, rng: random.Random) -> None:
    sender.mes_bulk("cells", [keys.cell(rng, tombstone=rng.random() < 0.4)])


def act_idempotent(sender: Sender, keys: Keys, rng: random.Random) -> None:
    """One request sent with one key by two threads at once, then once more, sequentially."""
    key = f"torture-{sender.journal.seed}-{sender.name}-{sender.count}"
    if rng.random() < 0.5:
        plural = rng.choice(RACTORY_CHILDREN)
        items, atomic = keys.batch(plural, rng, tombstones=0.05), rng.random() < 0.5

        def request(by):
            return by.ractory_sync(plural, items, atomic=atomic, key=key)
    else:
        j = rng.randrange(keys.JOBS)
        items = [keys.part(j, p, rng, top=True) for p in range(keys.PARTS)]

        def request(by):
            return by.mes_bulk("parts", items, key=key)

    twins = [Sender(f"{sender.name}.{sender.count}.{n}", sender.raw_key, sender.journal) for n in range(2)]
    barrier = threading.Barrier(2)

    def twin(by):
        def job():
            barrier.wait(HANG_SECONDS)
            return request(by)

        return job

    for running in [InThread(twin(by)) for by in twins]:
        running.join()
    request(sender)


ACTIONS: list[tuple[int, Callable[[Sender, Keys, random.Random], None]]] = [
    (30, act_ractory_children),
    (6, act_ractory_projects),
    (10, act_delete),
    (10, act_restore),
    (5, act_mes_job_put),
    (5, act_mes_jobs),
    (8, act_mes_parts),
    (8, act_mes_operations),
    (3, act_mes_cells),
    (4, act_idempotent),
]


def writer(sender: Sender, keys: Keys, rng: random.Random, deadline: float) -> None:
    actions, weights = zip(*[(action, weight) for weight, action in ACTIONS], strict=True)
    while not sender.journal.stop.is_set() and time.monotonic() < deadline:
        action = rng.choices(actions, weights=weights)[0]
        action(sender, keys, rng)


def monitor(journal: Journal, company) -> None:
    """Checks the parent links while the writers run: the first violation stops the torture
    (``Journal.fail``), naming the requests that touched the first orphan and its parent."""
    while not journal.stop.wait(0.25):
        found = orphans(company)
        if found:
            journal.fail("seen while the writers ran:\n" + orphan_report(journal, found))
            return


def orphan_report(journal: Journal, found: list) -> str:
    """The orphans, and the requests that named the first one or its parents (who wrote it,
    who deleted or restored its parents)."""
    first, row = found[0], found[0].rows[0]
    child, parent = first.key(row), first.parent_key(row)
    requests = "\n  ".join(exchange.brief(child, parent) for exchange in journal.naming(child, parent))
    described = "\n".join(orphan.describe() for orphan in found)
    return f"{described}\nthe last requests naming {child} or its {first.link} {parent}, as they ended:\n  {requests}"


def build(sender: Sender, keys: Keys, rng: random.Random) -> None:
    """Every key of the torture inserted, sequentially, before the writers start."""
    for plural in ("projects", *RACTORY_CHILDREN):
        items = [keys.item(plural, guid, rng) for guid in keys.guids(plural)]
        exchange = sender.ractory_sync(plural, items)
        assert exchange.status == 200 and exchange.body["inserted"] == len(items), str(exchange)
    cells = [{"external_id": e, "external_source": SOURCE, "name": n} for e, n in keys.CELLS]
    assert sender.mes_bulk("cells", cells).body["data"]["created"] == len(cells)
    for j in range(keys.JOBS):
        job = keys.job(j, rng, nested=False)
        job["parts"] = [
            {
                **keys.part(j, p, rng, top=False),
                "operations": [
                    {"external_id": keys.operation_id(j, p, o), "operation_name": "Cut", "cell_name": "Cut"}
                    | {"sequence": o + 1}
                    for o in range(keys.OPERATIONS)
                ],
            }
            for p in range(keys.PARTS)
        ]
        exchange = sender.mes_put("jobs", job)
        assert exchange.status == 201, str(exchange)
    counts = {model: model.objects.filter(company__guid=keys.company_guid).count() for model in (Part, Operation)}
    assert counts == {Part: keys.JOBS * keys.PARTS, Operation: keys.JOBS * keys.PARTS * keys.OPERATIONS}


# --- Checks on the journal ------------------------------------------------------------------------

RACTORY_ITEM_CODES = {"parent_inactive"}  # every key exists, parents never move: only a dead parent
MES_ITEM_CODES = {"parent_inactive", "cell_not_found", "not_unique"}  # + a deleted cell, a reorder race
# concurrent_conflict in Eryxon's envelope (which has no room for the code): documented for the
# live business keys, which only the MES has.
MES_CONCURRENT_CONFLICT = "A concurrent request changed the same rows; retry the request."
MES_ACTIONS = {"created": "inserted", "updated": "updated", "unchanged": "unchanged", "error": "error"}


def _codes_of_problem(body) -> set[str]:
    return {error["code"] for error in body.get("errors", [])}


def _codes_of_envelope(body) -> set[str]:
    return {detail["code"] for detail in body["error"].get("details", [])}


def unexpected_answer(exchange: Exchange) -> str | None:
    """Why the status or body of ``exchange`` is not one its kind may have (None if it may)."""
    try:
        return _unexpected_answer(exchange)
    except (KeyError, TypeError, AttributeError) as error:
        return f"a body without the fields of its kind ({error!r})"


def _unexpected_answer(exchange: Exchange) -> str | None:
    status, body, kind = exchange.status, exchange.body, exchange.kind
    if status >= 500:
        return "a server error"
    if kind in ("ractory_sync", "delete", "restore"):
        if (kind, status) == ("ractory_sync", 200):
            return _ractory_counts(exchange)
        if kind != "ractory_sync" and status == 204:
            return None if body is None else "a 204 with a body"
        if not exchange.content_type.startswith("application/problem+json") or not isinstance(body, dict):
            return "an error that is not a problem document"
        code = body.get("code")
        allowed = {
            "ractory_sync": {422: "validation_error", 409: "request_in_progress" if exchange.key else None},
            "delete": {404: "not_found"},
            "restore": {404: "not_found", 409: "parent_inactive"},
        }[kind]
        if allowed.get(status) != code:
            return f"{status} {code} is not an answer a {kind} may give here"
        if status == 422 and not _codes_of_problem(body) <= RACTORY_ITEM_CODES:
            return f"item codes {_codes_of_problem(body) - RACTORY_ITEM_CODES} cannot happen here"
        return None
    if not isinstance(body, dict) or "success" not in body:
        return "not Eryxon's envelope"
    if status in (200, 201):
        return _mes_counts(exchange)
    if status == 422 and body["error"]["code"] == "VALIDATION_ERROR":
        codes = _codes_of_envelope(body)
        return None if codes <= MES_ITEM_CODES else f"item codes {codes - MES_ITEM_CODES} cannot happen here"
    if status == 409 and exchange.key and "still running" in body["error"]["message"]:
        return None  # request_in_progress
    if status == 409 and body["error"]["message"] == MES_CONCURRENT_CONFLICT:
        return None  # a business key taken between the checks and the write (docs/errors.md)
    return f"{status} {body['error']['code']} is not an answer a {kind} may give here"


def _ractory_counts(exchange: Exchange) -> str | None:
    body, items = exchange.body, exchange.items
    entries = body["items"]
    if [entry["index"] for entry in entries] != list(range(len(items))):
        return "items[] does not list every item in order"
    actions = Counter(entry["action"] for entry in entries)
    counts = {name: body.get(name, 0) for name in ("inserted", "updated", "unchanged", "errors")}
    if exchange.atomic and ("errors" in body or actions["error"]):
        return "an atomic request answered 200 with item errors"
    if sum(counts.values()) != len(items) or any(counts[name] != actions[name.rstrip("s")] for name in counts):
        return f"counts {counts} do not add up to {len(items)} items ({dict(actions)})"
    for item, entry in zip(items, entries, strict=True):
        if entry["guid"] != item["guid"]:
            return f"item {entry['index']} answered guid {entry['guid']}, sent {item['guid']}"
        codes = {error["code"] for error in entry.get("errors", [])}
        if not codes <= RACTORY_ITEM_CODES:
            return f"item codes {codes - RACTORY_ITEM_CODES} cannot happen here"
    return None


def _mes_counts(exchange: Exchange) -> str | None:
    data = exchange.body["data"]
    if exchange.kind == "mes_put":
        expected = 201 if data["action"] == "created" else 200
        if exchange.status != expected or data["action"] not in ("created", "updated", "unchanged"):
            return f"{exchange.status} with action {data['action']}"
        return None if data["external_id"] == exchange.items[0]["external_id"] else "another external_id answered"
    results = data["results"]
    actions = Counter(result["action"] for result in results)
    counts = {name: data[name] for name in ("created", "updated", "unchanged", "errors")}
    if data["total"] != len(exchange.items) or [r["index"] for r in results] != list(range(len(exchange.items))):
        return "results do not list every item in order"
    if sum(counts.values()) != data["total"] or any(counts[name] != actions[name.rstrip("s")] for name in counts):
        return f"counts {counts} do not add up to {data['total']} items ({dict(actions)})"
    for item, result in zip(exchange.items, results, strict=True):
        if result["external_id"] != item["external_id"] or (result["action"] != "error") != bool(result["id"]):
            return f"result {result['index']} does not match its item"
        codes = {detail["code"] for detail in result.get("details", [])}
        if not codes <= MES_ITEM_CODES:
            return f"item codes {codes - MES_ITEM_CODES} cannot happen here"
    return None


def reported_outcomes(exchange: Exchange) -> list[tuple[str, str, str | None]]:
    """(action, guid, external_id) of every top-level item a successful sync answered."""
    if exchange.kind == "ractory_sync":
        return [(entry["action"], entry["guid"], None) for entry in exchange.body["items"]]
    data = exchange.body["data"]
    results = [data] if exchange.kind == "mes_put" else data["results"]
    return [(MES_ACTIONS[result["action"]], result["id"], result["external_id"]) for result in results]


MODELS = {
    "projects": Project,
    "components": Component,
    "assemblies": Assembly,
    "pieces": Piece,
    "articles": Article,
    **{plural: entity.model for plural, entity in MES_ENTITIES.items()},
}


def journal_violations(journal: Journal, company) -> list[str]:
    found: list[str] = []
    answered = [exchange for exchange in journal.exchanges if not unexpected_answer(exchange)]
    for exchange in journal.exchanges:
        reason = unexpected_answer(exchange)
        if reason:
            found.append(f"unexpected answer ({reason}): {exchange}")

    # Each key is inserted once over the whole run (rows are never removed); the rows answered
    # inserted or updated exist, under that guid (and natural key).
    first_insert: dict[tuple, Exchange] = {}
    written: dict[str, dict[str, str | None]] = defaultdict(dict)
    for exchange in answered:
        if not exchange.is_sync or exchange.status not in (200, 201) or exchange.replayed:
            continue
        for action, guid, external_id in reported_outcomes(exchange):
            if action == "inserted":
                key = (exchange.plural, external_id or guid)
                if key in first_insert:
                    found.append(f"{key} inserted twice: {first_insert[key].request_id} and {exchange.request_id}")
                first_insert.setdefault(key, exchange)
            if action in ("inserted", "updated"):
                written[exchange.plural][guid] = external_id
    for plural, rows in written.items():
        stored = dict(
            MODELS[plural]
            .objects.filter(company=company, guid__in=list(rows))
            .values_list("guid", "external_id" if plural in MES_ENTITIES else "guid")
        )
        for guid, external_id in rows.items():
            if uuid.UUID(guid) not in stored:
                found.append(f"{plural} {guid} answered written, but no such row")
            elif external_id is not None and stored[uuid.UUID(guid)] != external_id:
                found.append(f"{plural} {guid} answered as {external_id}, stored as {stored[uuid.UUID(guid)]}")

    found += idempotency_violations(journal)
    found += sync_run_violations(journal, company)
    return found


def idempotency_violations(journal: Journal) -> list[str]:
    """Per key: at most one request ran to a 2xx; every replay is that answer, verbatim."""
    found = []
    by_key: dict[str, list[Exchange]] = defaultdict(list)
    for exchange in journal.exchanges:
        if exchange.key:
            by_key[exchange.key].append(exchange)
    for key, exchanges in by_key.items():
        originals = [e for e in exchanges if not e.replayed and 200 <= e.status < 300]
        if len(originals) > 1:
            found.append(f"key {key} ran {len(originals)} times: " + "; ".join(e.request_id for e in originals))
            continue
        for replay in (e for e in exchanges if e.replayed):
            if not originals:
                found.append(f"key {key} replayed with no original: {replay}")
            elif (replay.status, replay.body) != (originals[0].status, originals[0].body):
                found.append(f"key {key} replay differs from {originals[0].request_id}: {replay}")
        # The sequential retry (the last one sent) follows the two concurrent ones: nothing else
        # runs with its key, so it is never "in progress", and after a 2xx it is a replay.
        last = exchanges[-1]
        if last.status == 409:
            found.append(f"key {key}: a retry sent when no request with the key ran answered 409: {last}")
        if originals and last is not originals[0] and not last.replayed:
            found.append(f"key {key}: a retry after {originals[0].request_id} was not replayed: {last}")
    return found


def sync_run_violations(journal: Journal, company) -> list[str]:
    """One sync run per sync request that ran (replays run nothing), its status and counts those
    of the answer."""
    found = []
    runs = {run.request_id: run for run in SyncRun.objects.filter(company=company)}
    ran = [e for e in journal.exchanges if e.is_sync and not e.replayed]
    if len(runs) != len(ran):
        found.append(f"{len(runs)} sync runs for {len(ran)} sync requests that ran")
    for exchange in ran:
        run = runs.get(exchange.request_id)
        if run is None:
            found.append(f"no sync run for {exchange}")
            continue
        if unexpected_answer(exchange):
            continue  # reported already; its body may not say what the run should
        expected = _expected_run(exchange)
        actual = {name: getattr(run, name) for name in expected}
        if actual != expected:
            found.append(f"sync run {actual} for {exchange} (expected {expected})")
    return found


def _expected_run(exchange: Exchange) -> dict:
    counts = dict.fromkeys(("inserted", "updated", "unchanged", "errors"), 0)
    if exchange.status in (200, 201):
        for action, _, _ in reported_outcomes(exchange):
            counts[action if action != "error" else "errors"] += 1
        if counts["errors"] == 0:
            status = "succeeded"
        else:
            status = "failed" if counts["errors"] == len(exchange.items) else "partial"
    else:
        status = "failed"
        counts.pop("errors")  # a refused request counts its invalid items (a 422) or none (a 409)
    return {"status": status, "item_count": len(exchange.items), "atomic": exchange.atomic, **counts}


def deadlocks() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_stat_clear_snapshot()")
        cursor.execute("SELECT deadlocks FROM pg_stat_database WHERE datname = current_database()")
        return cursor.fetchone()[0]


def test_torture(make_api_key, company, caplog):
    caplog.set_level(logging.WARNING)
    seed = torture_seed()
    journal = Journal(seed, str(company.guid))
    keys = Keys.build(random.Random(seed), str(company.guid))
    assert parent_links()  # the links exist and every one is in the cascade map (or exempt)
    setup_key = make_api_key()
    build(Sender("setup", setup_key[1], journal), keys, random.Random(f"{seed}-setup"))

    senders = []
    for number in range(TORTURE_THREADS):
        api_key, raw = make_api_key()
        freshen_key(api_key)
        senders.append(Sender(f"w{number}", raw, journal))
    deadlocks_before = deadlocks()
    deadline = time.monotonic() + TORTURE_SECONDS

    def guarded(sender: Sender):
        def job():
            try:
                writer(sender, keys, random.Random(f"{seed}-{sender.name}"), deadline)
            except Exception as error:  # a writer's own failure fails the torture
                journal.fail(f"writer {sender.name} raised {error!r}")
                raise

        return job

    watching = InThread(lambda: monitor(journal, company))
    writers = [InThread(guarded(sender)) for sender in senders]
    for running in writers:
        running.thread.join(TORTURE_SECONDS + HANG_SECONDS)
    journal.stop.set()
    watching.join()

    problems = list(journal.problems)
    problems += [f"a writer still runs {HANG_SECONDS} s after the end: hung" for w in writers if not w.done]
    found = orphans(company)
    if found:
        problems.append("left at the end:\n" + orphan_report(journal, found))
    problems += duplicate_natural_keys(company) + duplicate_live_business_keys(company)
    problems += journal_violations(journal, company)
    if deadlocks() != deadlocks_before:
        problems.append(f"{deadlocks() - deadlocks_before} deadlocks (40P01) in pg_stat_database")
    logged = [
        f"{record.levelname} {record.name}: {record.getMessage()}"
        for record in caplog.records
        if record.levelno >= logging.ERROR or "deadlock" in record.getMessage().lower()
    ]
    problems += [f"logged: {line}" for line in logged[:10]]

    statuses = Counter((exchange.kind, exchange.status) for exchange in journal.exchanges)
    summary = (
        f"TORTURE_SEED={seed}: {len(journal.exchanges)} requests by {TORTURE_THREADS} threads"
        f"{' (stopped at the first violation)' if journal.stopped_early else ''}; "
        + ", ".join(f"{kind} {status}: {count}" for (kind, status), count in sorted(statuses.items()))
    )
    print(summary)
    assert not problems, summary + f"\n{len(problems)} problems, the first ones:\n" + "\n".join(problems[:12])
