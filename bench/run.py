"""``python -m bench``: the whole benchmark, from a fresh database to the PASS/MISS lines.

1. ``DATABASE_URL`` must name a PostgreSQL server; the bench drops and creates its own
   database on it (``ractory_bench``, or ``BENCH_DATABASE_NAME``) and migrates it.
2. One company, one API key (sync:read + sync:write), a project, a component, ten assemblies.
3. Gunicorn (``ractory.wsgi``, settings ``bench.settings`` = the real settings plus the naive
   routes) on 127.0.0.1 with a free port, 2 workers, ``DJANGO_DEBUG=0``, a generated secret key.
4. The scenarios of ``bench.scenarios``, each against the floor and the naive endpoint; the
   SQL queries per sync request at 10 and 1000 items and the phases of a 1000-piece request,
   in process; optionally a cProfile (``--profile``).
5. One JSON object per scenario, a table, PASS/MISS per target; results also go to
   ``bench/results/`` (git-ignored). Gunicorn is stopped whatever happens.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import secrets
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

BASE_DIR = Path(__file__).resolve().parent.parent
RESULTS_DIR = Path(__file__).resolve().parent / "results"
DEFAULT_DATABASE = "ractory_bench"


def fail(message: str) -> int:
    print(f"bench: {message}", file=sys.stderr)
    return 2


def progress(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7, help="runs per scenario of ours and the floor (default 7)")
    parser.add_argument("--naive-runs", type=int, default=3, help="runs per scenario of the naive endpoint (default 3)")
    parser.add_argument("--only", action="append", default=[], help="run only this scenario (repeatable)")
    parser.add_argument("--profile", action="store_true", help="also print a cProfile of 1000-piece requests")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    args = parser.parse_args(argv)
    if not 1 <= args.runs <= 51 or not 1 <= args.naive_runs <= args.runs:
        parser.error("--runs must be 1..51 and --naive-runs 1..runs")
    return args


def bench_database_url(url: str, name: str) -> tuple[str, str]:
    """(the bench database's URL, the maintenance database's URL) on the server of ``url``."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{name}")), urlunsplit(parts._replace(path="/postgres"))


def fresh_database(maintenance_url: str, name: str) -> str:
    import psycopg
    from psycopg import sql

    with psycopg.connect(maintenance_url, autocommit=True, connect_timeout=5) as connection:
        connection.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        return connection.execute("SHOW server_version").fetchone()[0]


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    url = os.environ.get("DATABASE_URL", "").strip()
    if not url:
        return fail(
            "DATABASE_URL is not set; make bench needs PostgreSQL, e.g. DATABASE_URL=postgres://user@host:5432/db"
        )
    if urlsplit(url).scheme not in {"postgres", "postgresql", "pgsql"}:
        return fail(f"DATABASE_URL must be a PostgreSQL URL (postgres://…), not {urlsplit(url).scheme or url!r}")
    name = os.environ.get("BENCH_DATABASE_NAME", DEFAULT_DATABASE).strip()
    if not name.replace("_", "").isalnum():
        return fail(f"BENCH_DATABASE_NAME must be letters, digits and underscores, not {name!r}")
    bench_url, maintenance_url = bench_database_url(url, name)
    try:
        server_version = fresh_database(maintenance_url, name)
    except Exception as error:  # noqa: BLE001 - any connection failure: one clear line
        return fail(f"cannot create database {name!r} on the DATABASE_URL server: {str(error).strip().splitlines()[0]}")

    os.environ.update(
        DATABASE_URL=bench_url,
        DJANGO_SETTINGS_MODULE="bench.settings",
        DJANGO_DEBUG="0",
        DJANGO_SECRET_KEY=secrets.token_urlsafe(48),
        DJANGO_ALLOWED_HOSTS="127.0.0.1",
        RATE_LIMIT_PER_MINUTE="10000000",  # the bench is one client sending thousands of requests
        RATE_LIMIT_COMPANY_PER_MINUTE="10000000",
    )
    return run(args, bench_url=bench_url, name=name, server_version=server_version)


def setup_tenant():
    from assemblies.models import Assembly, Cell, Component, Job, Part, Project
    from tenants.services import create_api_key, create_company

    from .data import MES_SOURCE, Parents

    company = create_company(name="Bench Fenster GmbH", short_name="BENCH")
    key = create_api_key(company=company, scopes=["sync:read", "sync:write"], description="bench")
    project = Project.objects.create(company=company, code="BENCH-P1", company_name="Bench customer")
    component = Component.objects.create(company=company, project=project, code="W-01", quantity=4)
    assemblies = [
        Assembly.objects.create(company=company, project=project, component=component, trolley="T01", cell_number=n)
        for n in range(10)
    ]
    cell = Cell.objects.create(company=company, external_source=MES_SOURCE, external_id="WC-CUT", name="Cutting")
    job = Job.objects.create(company=company, external_source=MES_SOURCE, external_id="SO-1", job_number="JOB-1")
    parts = [
        Part.objects.create(
            company=company, job=job, external_source=MES_SOURCE, external_id=f"SO-1-{n}", part_number=f"P-{n}"
        )
        for n in range(10)
    ]
    parents = Parents(
        company_id=company.pk,
        company_guid=company.guid,
        project_id=project.pk,
        project_guid=project.guid,
        component_id=component.pk,
        component_guid=component.guid,
        assemblies=tuple((assembly.pk, assembly.guid) for assembly in assemblies),
        parts=tuple((part.pk, part.external_id) for part in parts),
        cell_id=cell.pk,
        cell_name="cutting",  # named case-insensitively, as ERPs do
    )
    return parents, key.raw_key


def source_revision() -> str | None:
    """The commit measured, with ``+dirty`` when the working tree has changes (None outside git)."""
    try:
        git = {"cwd": BASE_DIR, "capture_output": True, "text": True, "timeout": 10, "check": True}
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], **git).stdout.strip()
        status = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], **git).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return f"{commit}+dirty" if status else commit


def run(args: argparse.Namespace, *, bench_url: str, name: str, server_version: str) -> int:
    import django

    django.setup()
    from django.core.management import call_command

    from . import inproc, phases, report, scenarios
    from .floor import Floor
    from .server import Gunicorn, HttpError

    started = time.monotonic()
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    RESULTS_DIR.mkdir(exist_ok=True)
    machine = {
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "cpus": os.cpu_count(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "postgresql": server_version,
        "database": name,
        "source": source_revision(),
        "load_average_at_start": [round(load, 2) for load in os.getloadavg()],
    }
    progress(f"migrating {name} (PostgreSQL {server_version})")
    call_command("migrate", interactive=False, verbosity=0)
    parents, raw_key = setup_tenant()

    server = Gunicorn(env=dict(os.environ), cwd=BASE_DIR, log_path=RESULTS_DIR / f"{stamp}-gunicorn.log")
    floor = None
    bench = None
    results = []
    queries = None
    try:
        progress("starting gunicorn (2 workers, DJANGO_DEBUG=0)")
        server.start()
        progress(f"gunicorn answers on 127.0.0.1:{server.port}")
        floor = Floor(bench_url)
        bench = scenarios.Bench(
            port=server.port,
            api_key=raw_key,
            conninfo=bench_url,
            parents=parents,
            runs=args.runs,
            naive_runs=args.naive_runs,
            floor=floor,
        )
        scenarios.warm_up(bench)
        print(json.dumps({"name": "machine", **machine}), flush=True)
        for scenario_name, scenario in scenarios.SCENARIOS:
            if args.only and scenario_name not in args.only:
                continue
            progress(f"scenario {scenario_name}")
            try:
                result = scenario(bench)
            except (scenarios.ScenarioError, HttpError) as error:
                result = scenarios.Result(scenario_name, 0, 0, error=str(error))
            results.append(result.as_json())
            print(json.dumps(results[-1]), flush=True)
            if result.skipped:
                print(f"{scenario_name}: skipped: {result.skipped}", flush=True)
        progress("counting SQL queries per sync request (in process)")
        queries = inproc.query_counts(bench)
        print(json.dumps({"name": "sync_queries", **queries["counts"]}), flush=True)
        progress("timing the phases of 1000-piece requests (in process)")
        phases_text = phases.phases(bench)
        profile_text = inproc.profile(bench) if args.profile else None
    except Exception:
        tail = server.log_tail()
        if tail:
            print(f"--- last lines of {server.log_path} ---\n{tail}", file=sys.stderr)
        raise
    finally:
        if bench is not None:
            bench.close()
        if floor is not None:
            floor.close()
        server.stop()

    print()
    print(report.table(results))
    print()
    print(report.query_lines(queries["counts"]))
    print()
    verdicts = report.verdicts(results, queries["counts"])
    for line in verdicts:
        print(line)
    print()
    print(phases_text)
    if profile_text:
        print(profile_text)
    elapsed = time.monotonic() - started
    machine["load_average_at_end"] = [round(load, 2) for load in os.getloadavg()]
    print(
        f"\nbench finished in {elapsed:.0f} s on {machine['cpus']} CPUs, PostgreSQL {server_version}; "
        f"load average {machine['load_average_at_start'][0]} at start, {machine['load_average_at_end'][0]} at end "
        "(other work on the machine skews the figures)"
    )
    (RESULTS_DIR / f"{stamp}.json").write_text(
        json.dumps(
            {
                "machine": machine,
                "scenarios": results,
                "sync_queries": queries,
                "verdicts": verdicts,
                "phases": phases_text.splitlines(),
            },
            indent=2,
        )
        + "\n"
    )
    print(f"results: {RESULTS_DIR / f'{stamp}.json'}")
    errors = [result for result in results if result.get("error")]
    if errors:
        return 1
    if args.strict and any(line.startswith("MISS") for line in verdicts):
        return 1
    return 0
