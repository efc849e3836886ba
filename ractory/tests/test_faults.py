"""Database faults over real HTTP: gunicorn, as ``make serve`` runs it, on a private throwaway
PostgreSQL cluster that the tests stop, pause (SIGSTOP of every process of it) and resume by PID,
and a worker killed in the middle of a sync.

- Database stopped or hung: API requests get 503 problem documents with ``Retry-After`` within a
  few seconds (not a reset, not a worker killed by gunicorn's timeout), readiness 503 within 3 s,
  liveness 200; once the database is back, the same workers serve again.
- A worker killed in the middle of a 1000-item sync: all the rows or none, and the service serves on.

Every process started here is stopped by the fixtures' finalizers, a paused cluster resumed first.
"""

from __future__ import annotations

import contextlib
import json
import os
import pwd
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from glob import glob
from pathlib import Path

import psycopg
import pytest
from django.db import connection

from .gunicorn_process import ROOT, GunicornProcess, child_pids, free_port

POSTGRES_BIN = sorted(glob("/usr/lib/postgresql/*/bin/initdb"))
CLUSTER_PORTS = range(18450, 18500)

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="database faults are PostgreSQL's"),
    pytest.mark.skipif(not POSTGRES_BIN, reason="needs the PostgreSQL server binaries (initdb, postgres)"),
]

# "A few seconds": the watchdog notices a wait after DB_WATCHDOG_SECONDS (1), checks the server with a
# new connection (DB_CONNECT_TIMEOUT_SECONDS, 2), and the request's reconnection times out as well.
FAULT_ANSWER_SECONDS = 10
READINESS_SECONDS = 3  # readiness answers within 3 s even when a dependency hangs
RECOVERY_SECONDS = 30


class ThrowawayPostgres:
    """A PostgreSQL cluster of its own in a temporary directory, on 127.0.0.1 only.

    initdb refuses to run as root, so as root the cluster belongs to the ``postgres`` user."""

    def __init__(self) -> None:
        self.bin = Path(POSTGRES_BIN[-1]).parent
        self.user = "postgres" if os.geteuid() == 0 else None
        self.directory = Path(tempfile.mkdtemp(prefix="ractory-faults-"))
        if self.user:
            account = pwd.getpwnam(self.user)
            os.chown(self.directory, account.pw_uid, account.pw_gid)
        self.data = self.directory / "data"
        self.port = free_port(CLUSTER_PORTS)
        self.process: subprocess.Popen | None = None
        self.paused: set[int] = set()
        subprocess.run(
            [self.bin / "initdb", "-D", self.data, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-sync"],
            user=self.user, check=True, capture_output=True, timeout=60,
        )  # fmt: skip

    @property
    def url(self) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/ractory"

    def start(self) -> None:
        with (self.directory / "server.log").open("ab") as log:
            self.process = subprocess.Popen(
                [self.bin / "postgres", "-D", self.data, "-p", str(self.port), "-k", self.directory,
                 "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off", "-c", "full_page_writes=off",
                 "-c", "synchronous_commit=off", "-c", "max_connections=40"],
                user=self.user, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
            )  # fmt: skip
        deadline = time.monotonic() + RECOVERY_SECONDS
        while time.monotonic() < deadline:
            with contextlib.suppress(psycopg.OperationalError):
                psycopg.connect(self.conninfo("postgres"), connect_timeout=2).close()
                return
            if self.process.poll() is not None:
                break
            time.sleep(0.1)
        raise RuntimeError(f"PostgreSQL did not start: {(self.directory / 'server.log').read_text()[-2000:]}")

    def conninfo(self, database: str = "ractory") -> str:
        return f"host=127.0.0.1 port={self.port} user=postgres dbname={database}"

    def stop(self) -> None:
        """Fast shutdown (SIGINT to the postmaster): sessions are closed, the data stays."""
        self.resume()
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=20)

    def pause(self) -> None:
        """SIGSTOP to the postmaster and every backend: the kernel still answers for its sockets."""
        self.paused = {self.process.pid}
        os.kill(self.process.pid, signal.SIGSTOP)  # first, so that it forks nothing meanwhile
        for pid in child_pids(self.process.pid):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGSTOP)
                self.paused.add(pid)

    def resume(self) -> None:
        for pid in self.paused:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGCONT)
        self.paused = set()

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.directory, ignore_errors=True)


@pytest.fixture(scope="module")
def cluster():
    postgres = ThrowawayPostgres()
    try:
        postgres.start()
        with psycopg.connect(postgres.conninfo("postgres"), autocommit=True) as admin:
            admin.execute("CREATE DATABASE ractory")
        yield postgres
    finally:
        postgres.remove()


def manage(cluster: ThrowawayPostgres, *arguments: str) -> str:
    environment = {**os.environ, "DATABASE_URL": cluster.url, "DJANGO_DEBUG": "0"}
    environment.update(DJANGO_SECRET_KEY="faults-test-key-" + "x" * 40)
    environment.pop("REDIS_URL", None)
    finished = subprocess.run(
        [sys.executable, "manage.py", *arguments], cwd=ROOT, env=environment, capture_output=True, text=True,
        timeout=120, check=True,
    )  # fmt: skip
    return finished.stdout


SET_UP_TENANT = """
from django.core.management import call_command
from tenants import services
call_command("migrate", interactive=False, verbosity=0)
company = services.create_company(name="Faults")
print(company.guid, services.create_api_key(company=company, scopes=["sync:read", "sync:write"]).raw_key)
"""


@pytest.fixture(scope="module")
def tenant(cluster) -> tuple[str, str]:
    """The database migrated, and a company: its guid and a sync:read/sync:write key of it."""
    company_guid, api_key = manage(cluster, "shell", "-c", SET_UP_TENANT).strip().splitlines()[-1].split()
    return company_guid, api_key


@pytest.fixture(scope="module")
def server(cluster, tenant, tmp_path_factory):
    gunicorn = GunicornProcess(
        tmp_path_factory.mktemp("faults") / "gunicorn.log", DATABASE_URL=cluster.url, WEB_CONCURRENCY="2"
    )
    try:
        yield gunicorn.start()
    finally:
        gunicorn.stop()


@pytest.fixture
def call(server, tenant):
    def send(method: str, path: str, body: dict | None = None, timeout: float = 2 * FAULT_ANSWER_SECONDS):
        headers = {"X-API-Key": tenant[1], "Content-Type": "application/json"}
        return server.request(
            method, path, headers=headers, body=json.dumps(body).encode() if body else None, timeout=timeout
        )

    return send


def assert_database_unavailable(answer) -> None:
    assert answer.error is None, f"no answer after {answer.seconds:.1f} s: {answer.error!r}"
    assert answer.status == 503, (answer.status, answer.body[:300])
    assert answer.headers["Content-Type"] == "application/problem+json"
    assert answer.headers["Retry-After"] == "5"
    body = answer.json()
    assert (body["status"], body["code"]) == (503, "database_unavailable")
    assert answer.seconds < FAULT_ANSWER_SECONDS


def assert_unready(answer) -> None:
    assert answer.error is None, answer.error
    assert answer.status == 503
    assert answer.json()["status"] == "unhealthy"
    assert answer.json()["database"] == "unavailable"
    assert answer.seconds < READINESS_SECONDS


def assert_serving(server, call, workers: set[int]) -> None:
    """Every worker (the same ones as before the fault) serves database requests again."""
    answers = [call("GET", "/api/v1/projects") for _ in range(6)]
    assert [answer.status for answer in answers] == [200] * 6, [answer.body[:200] for answer in answers]
    assert server.request("GET", "/api/v1/health").status == 200
    assert server.worker_pids() == workers  # recovered without a worker restart


def warm_up(server, call) -> set[int]:
    """Both workers hold an open database connection before the fault."""
    for _ in range(6):
        assert call("GET", "/api/v1/projects").status == 200
    workers = server.worker_pids()
    assert len(workers) == 2
    return workers


def test_a_stopped_database_is_503_within_seconds_and_serving_resumes_once_it_is_back(cluster, server, call, tenant):
    workers = warm_up(server, call)
    cluster.stop()
    try:
        for _ in range(3):  # both workers' connections are dead: each answers
            assert_database_unavailable(call("GET", "/api/v1/projects"))
        assert_database_unavailable(
            call("POST", "/api/v1/sync/projects", {"projects": [{"code": "DOWN-1", "company_guid": tenant[0]}]})
        )
        assert_unready(server.request("GET", "/api/v1/health"))
        assert (server.request("GET", "/health").status, server.request("GET", "/health").json()) == (
            200,
            {"status": "ok"},
        )
    finally:
        cluster.start()
    assert_serving(server, call, workers)
    with psycopg.connect(cluster.conninfo(), autocommit=True) as database:
        assert database.execute("SELECT count(*) FROM assemblies_project WHERE code = 'DOWN-1'").fetchone() == (0,)


def test_a_hung_database_is_503_within_seconds_and_serving_resumes_once_it_answers(cluster, server, call, tenant):
    workers = warm_up(server, call)
    cluster.pause()
    try:
        for _ in range(3):  # the connections both workers hold, then new connections
            assert_database_unavailable(call("GET", "/api/v1/projects"))
        assert_database_unavailable(
            call("POST", "/api/v1/sync/projects", {"projects": [{"code": "HUNG-1", "company_guid": tenant[0]}]})
        )
        assert_unready(server.request("GET", "/api/v1/health"))
        assert server.request("GET", "/health").status == 200
    finally:
        cluster.resume()
    assert_serving(server, call, workers)
    with psycopg.connect(cluster.conninfo(), autocommit=True) as database:
        assert database.execute("SELECT count(*) FROM assemblies_project WHERE code = 'HUNG-1'").fetchone() == (0,)


def test_a_worker_killed_in_the_middle_of_a_sync_writes_all_or_nothing_and_the_service_serves_on(
    cluster, server, call, tenant
):
    project = {"company_guid": tenant[0], "company_name": "Customer"}
    items = {"projects": [{**project, "code": f"KILL-{index:04d}"} for index in range(1000)]}
    workers = warm_up(server, call)
    answers = []
    with psycopg.connect(cluster.conninfo(), autocommit=True) as watcher, psycopg.connect(cluster.conninfo()) as locker:
        # The sync records its run last, in its transaction: holding the runs table makes it wait
        # there, its 1000 rows written but not committed, until its worker is killed.
        locker.execute("LOCK TABLE sync_syncrun IN EXCLUSIVE MODE")
        sync = threading.Thread(target=lambda: answers.append(call("POST", "/api/v1/sync/projects", items)))
        sync.start()
        try:
            backend = waiting_backend(watcher)
            worker = worker_owning_port(workers, backend["client_port"])
            os.kill(worker, signal.SIGKILL)
        finally:
            locker.rollback()
            sync.join(timeout=30)
        assert not sync.is_alive()
        assert answers[0].status is None, answers[0].body[:200]  # the client saw its connection reset
        assert_backend_gone(watcher, backend["pid"])
        written = watcher.execute("SELECT count(*) FROM assemblies_project WHERE code LIKE 'KILL-%'").fetchone()[0]
        runs = watcher.execute("SELECT count(*) FROM sync_syncrun WHERE inserted = 1000").fetchone()[0]
    assert (written, runs) == (0, 0)  # nothing: the transaction never committed

    deadline = time.monotonic() + RECOVERY_SECONDS
    while len(server.worker_pids()) < 2 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert len(server.worker_pids() - {worker}) == 2  # gunicorn replaced the killed worker
    answer = call("POST", "/api/v1/sync/projects", items)
    assert answer.status == 200, answer.body[:300]
    assert answer.json()["inserted"] == 1000
    with psycopg.connect(cluster.conninfo(), autocommit=True) as database:
        assert database.execute("SELECT count(*) FROM assemblies_project WHERE code LIKE 'KILL-%'").fetchone() == (
            1000,
        )


def waiting_backend(watcher) -> dict:
    """The service's backend that waits for the lock on the runs table, inside a write transaction."""
    deadline = time.monotonic() + RECOVERY_SECONDS
    while time.monotonic() < deadline:
        row = watcher.execute(
            "SELECT pid, client_port FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = 'ractory'"
            " AND backend_xid IS NOT NULL"
        ).fetchone()
        if row:
            return {"pid": row[0], "client_port": row[1]}
        time.sleep(0.05)
    activity = watcher.execute(
        "SELECT pid, state, wait_event_type, wait_event, backend_xid, left(query, 80) FROM pg_stat_activity"
        " WHERE datname = 'ractory'"
    ).fetchall()
    raise AssertionError(f"the sync never waited for the runs table with its rows written: {activity}")


def worker_owning_port(workers: set[int], port: int) -> int:
    """The worker whose TCP socket has local port ``port`` (from /proc)."""
    for pid in workers:
        inodes = set()
        for descriptor in Path(f"/proc/{pid}/fd").iterdir():
            with contextlib.suppress(OSError):
                target = os.readlink(descriptor)
                if target.startswith("socket:["):
                    inodes.add(target[8:-1])
        for table in ("tcp", "tcp6"):
            for line in Path(f"/proc/{pid}/net/{table}").read_text().splitlines()[1:]:
                fields = line.split()
                if int(fields[1].rsplit(":", 1)[1], 16) == port and fields[9] in inodes:
                    return pid
    raise AssertionError(f"no worker has a connection from port {port}")


def assert_backend_gone(watcher, pid: int) -> None:
    deadline = time.monotonic() + RECOVERY_SECONDS
    while watcher.execute("SELECT 1 FROM pg_stat_activity WHERE pid = %s", [pid]).fetchone():
        assert time.monotonic() < deadline, "the killed worker's backend is still there"
        time.sleep(0.05)
