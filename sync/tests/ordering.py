"""Running two requests in a fixed order on PostgreSQL: the first in a transaction held open
until the second waits for its locks (seen in ``pg_stat_activity``), then the first commits.

Tests of what concurrent writers do to each other use this to pin both commit orders without a
clock: a second request that does not wait where it should is reported (``second_waited``).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from django.db import connection, connections, transaction

# The marks of a module of concurrent writers: PostgreSQL only, each thread on a connection of its
# own that commits (``transaction=True``).
CONCURRENT_WRITERS = [
    pytest.mark.postgres,
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="needs PostgreSQL: SQLite serialises writers, so there is no concurrency to test",
    ),
    pytest.mark.django_db(transaction=True),
]

WAIT_LIMIT_SECONDS = 20  # a bound for a failing case, never reached when the locks work


def lock_waiters() -> int:
    """Backends of the test database waiting for a row or transaction lock right now."""
    with connections["default"].cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
        )
        return cursor.fetchone()[0]


@dataclass
class Ordered:
    """The outcome of running ``first`` (held open) then ``second``."""

    first: object
    second: object
    second_waited: bool


def run_in_order(first: Callable, second: Callable) -> Ordered:
    """Run ``first`` in a transaction kept open until ``second`` waits for it (or has finished
    without waiting), then commit ``first`` and let ``second`` finish."""
    results: dict[str, object] = {}
    first_done, release = threading.Event(), threading.Event()

    def hold_first():
        try:
            with transaction.atomic():
                results["first"] = first()
                first_done.set()
                release.wait(WAIT_LIMIT_SECONDS * 2)
        except Exception as error:  # noqa: BLE001 - handed to the test
            results["first"] = error
            first_done.set()
        finally:
            connections.close_all()

    def run_second():
        try:
            results["second"] = second()
        except Exception as error:  # noqa: BLE001 - handed to the test
            results["second"] = error
        finally:
            connections.close_all()

    holder = threading.Thread(target=hold_first)
    holder.start()
    assert first_done.wait(WAIT_LIMIT_SECONDS), "the first request did not finish"
    follower = threading.Thread(target=run_second)
    follower.start()
    waited = False
    deadline = time.monotonic() + WAIT_LIMIT_SECONDS
    while follower.is_alive() and time.monotonic() < deadline:
        if lock_waiters():
            waited = True
            break
        follower.join(0.05)
    release.set()
    holder.join()
    follower.join()
    connections.close_all()
    return Ordered(results["first"], results["second"], waited)


def response_of(result):
    assert not isinstance(result, Exception), repr(result)
    return result
