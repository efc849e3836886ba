"""A PostgreSQL server that stops answering must not hang the workers.

The connect timeout covers new connections, and TCP keepalives and ``tcp_user_timeout`` drop a
connection whose peer is gone. Neither helps when the server's processes are stopped or stuck
while its host still answers for its sockets (a paused server or VM): the kernel acknowledges
every query, and the connection waits for an answer that never comes — until gunicorn kills the
worker and the client gets a reset. PostgreSQL's ``statement_timeout`` runs in that stopped
server, and cancelling a query needs the stopped postmaster.

So each wait of a connection for its server (every query, fetch, commit, rollback and Django's
connection health check goes through psycopg's ``Connection.wait``) is registered here, and one
thread per process looks at them. A wait older than ``DB_WATCHDOG_SECONDS`` makes it check
whether the server still accepts a new connection within ``DB_CONNECT_TIMEOUT_SECONDS``:

- it does: the query is only slow, and is left to the statement timeout (checked again later);
- it does not: the server is hung. The thread shuts down the sockets of the connections waiting
  for it, their waits end with psycopg's ``OperationalError`` (503 ``database_unavailable`` with
  ``Retry-After``), Django drops the broken connections, and the next request connects anew,
  which works again as soon as the server does. No worker is killed or restarted.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import weakref
from dataclasses import dataclass
from typing import Any

import psycopg
from django.conf import settings

logger = logging.getLogger("ractory.database")

# How often the thread looks at the waits: a fraction of the shortest DB_WATCHDOG_SECONDS.
LOOK_INTERVAL_SECONDS = 0.25


@dataclass(eq=False)
class Wait:
    """One connection waiting for its server, since ``since`` (``time.monotonic()``)."""

    connection: psycopg.Connection
    alias: str
    since: float


class DatabaseWatchdog:
    def __init__(self) -> None:
        self._reset()
        os.register_at_fork(after_in_child=self._reset)  # threads and locks do not survive a fork

    def _reset(self) -> None:
        self._lock = threading.Lock()
        self._waits: set[Wait] = set()
        self._connection_params: dict[str, dict[str, Any]] = {}
        self._thread: threading.Thread | None = None

    def watch(self, sender, connection, **kwargs) -> None:
        """``connection_created`` receiver: route the new connection's waits through the watchdog."""
        if connection.vendor != "postgresql":
            return
        self._connection_params[connection.alias] = connection.get_connection_params()
        psycopg_connection = connection.connection
        wait_for_server = type(psycopg_connection).wait
        watched = weakref.ref(psycopg_connection)  # no reference cycle through its own attribute
        alias = connection.alias

        def wait(*args, **kwargs):
            entry = self._begin(watched(), alias)
            try:
                return wait_for_server(entry.connection, *args, **kwargs)
            finally:
                self._end(entry)

        psycopg_connection.wait = wait

    def _begin(self, connection: psycopg.Connection, alias: str) -> Wait:
        entry = Wait(connection, alias, time.monotonic())
        with self._lock:
            self._waits.add(entry)
            if self._thread is None:
                self._thread = threading.Thread(target=self._look_forever, name="database-watchdog", daemon=True)
                self._thread.start()
        return entry

    def _end(self, entry: Wait) -> None:
        with self._lock:
            self._waits.discard(entry)

    def _look_forever(self) -> None:
        while True:
            time.sleep(LOOK_INTERVAL_SECONDS)
            try:
                self.look()
            except Exception:  # the watchdog must outlive any surprise
                logger.exception("database watchdog failed")

    def look(self) -> None:
        """Check the server of every wait older than ``DB_WATCHDOG_SECONDS``; cut the waits of a
        server that does not accept a new connection."""
        now = time.monotonic()
        with self._lock:
            stalled = [entry for entry in self._waits if now - entry.since >= settings.DB_WATCHDOG_SECONDS]
        for alias in {entry.alias for entry in stalled}:
            waits = [entry for entry in stalled if entry.alias == alias]
            if server_answers(self._connection_params[alias]):
                with self._lock:
                    for entry in waits:
                        entry.since = time.monotonic()  # slow, not hung: look again later
            else:
                self._cut(waits, alias)

    def _cut(self, waits: list[Wait], alias: str) -> None:
        cut = 0
        with self._lock:  # a wait still registered is still blocked: its connection is open
            for entry in waits:
                if entry not in self._waits:
                    continue  # answered meanwhile
                try:
                    with socket.socket(fileno=os.dup(entry.connection.pgconn.socket)) as duplicate:
                        duplicate.shutdown(socket.SHUT_RDWR)
                except (OSError, psycopg.Error):
                    continue  # already closed
                cut += 1
        if cut:
            logger.warning(
                "database %r did not answer for %s s nor accept a new connection: closed %d waiting connection(s)",
                alias,
                settings.DB_WATCHDOG_SECONDS,
                cut,
            )


def server_answers(connection_params: dict[str, Any]) -> bool:
    """Whether the server accepts a new connection (and authenticates it) within the connect
    timeout of ``connection_params``."""
    try:
        psycopg.connect(**connection_params, autocommit=True).close()
    except psycopg.Error:
        return False
    return True


watchdog = DatabaseWatchdog()
