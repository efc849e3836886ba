"""The database watchdog (ractory/api/database_watchdog.py) on the test database: a query waiting
on a server that no longer accepts connections is cut within seconds; a slow query on a server
that does is left alone. The same over real HTTP with a paused server is in test_faults.py."""

from __future__ import annotations

import time

import pytest
from django.db import OperationalError, connection

from ractory.api import database_watchdog

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="the watchdog watches PostgreSQL connections"),
    pytest.mark.django_db(transaction=True),  # a cut connection is closed, not rolled back to a savepoint
]


def test_a_query_on_a_server_that_refuses_new_connections_is_cut_and_the_next_connection_works(monkeypatch):
    monkeypatch.setattr(database_watchdog, "server_answers", lambda params: False)
    connection.ensure_connection()
    backend = connection.connection.info.backend_pid
    started = time.monotonic()
    with pytest.raises(OperationalError), connection.cursor() as cursor:
        cursor.execute("SELECT pg_sleep(20)")
    assert time.monotonic() - started < 10  # DB_WATCHDOG_SECONDS (1) and a look; not the 20 s sleep
    connection.close_if_unusable_or_obsolete()
    assert connection.connection is None  # Django dropped the cut connection

    monkeypatch.undo()
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        assert cursor.fetchone() == (1,)
        # The server, not hung after all, still runs the cut query: end it, as a DBA would.
        cursor.execute("SELECT pg_terminate_backend(%s)", [backend])


def test_a_slow_query_on_a_server_that_answers_is_left_to_finish(monkeypatch):
    checks = []
    answers = database_watchdog.server_answers
    monkeypatch.setattr(database_watchdog, "server_answers", lambda params: checks.append(params) or answers(params))
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_sleep(2.5), 7")
        assert cursor.fetchone() == ("", 7)
    assert checks  # the watchdog did check the server, which answered
    assert checks[0]["dbname"] == connection.settings_dict["NAME"]


def test_the_server_check_fails_on_a_port_nobody_listens_on():
    params = {**connection.get_connection_params(), "port": 1}
    assert database_watchdog.server_answers(params) is False
    assert database_watchdog.server_answers(connection.get_connection_params()) is True
