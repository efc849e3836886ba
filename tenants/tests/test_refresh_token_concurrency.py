"""A refresh racing a password change or a deactivation leaves no live token behind. PostgreSQL only.

The race is replayed step by step, with no clock: the refresh is paused right after it took its
locks and spent the old token, just before it writes the new one; the revoking write starts and
the test waits until PostgreSQL reports it waiting on a lock; then the refresh goes on. The
revocation must also catch the token the refresh issued. Each thread has its own connection.
"""

from __future__ import annotations

import threading
import time
from unittest import mock

import pytest
from django.db import connection, connections
from rest_framework.test import APIClient

from conftest import PASSWORD
from tenants import services
from tenants.caller import Caller
from tenants.models import Company, IssuedRefreshToken, User
from tenants.roles import Role

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL: SQLite serialises writers"),
    pytest.mark.django_db(transaction=True),
]

REFRESH = "/api/v1/auth/refresh"
FAULT_BOUND_SECONDS = 30  # only reached when something is broken; nothing waits on it otherwise


def backend_pid() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return cursor.fetchone()[0]


def wait_until_waiting_on_a_lock(pid: int) -> None:
    deadline = time.monotonic() + FAULT_BOUND_SECONDS
    with connection.cursor() as cursor:
        while time.monotonic() < deadline:
            cursor.execute("SELECT wait_event_type FROM pg_stat_activity WHERE pid = %s", [pid])
            row = cursor.fetchone()
            if row is not None and row[0] == "Lock":
                return
            time.sleep(0.01)
    raise AssertionError(f"backend {pid} never waited on a lock")


def _change_password(user: User, root: User) -> None:
    user = User.objects.get(pk=user.pk)
    user.set_password("a-brand-new-horse-staple")
    user.save()


def _deactivate_user(user: User, root: User) -> None:
    services.deactivate_user(user=User.objects.get(pk=user.pk), by=Caller.for_user(root))


def _deactivate_company(user: User, root: User) -> None:
    services.deactivate_company(company=Company.objects.get(pk=user.company_id))


REVOKING_WRITES = {
    "password-change": _change_password,
    "user-deactivation": _deactivate_user,
    "company-deactivation": _deactivate_company,
}


@pytest.mark.parametrize("case", REVOKING_WRITES)
def test_a_token_issued_by_a_refresh_racing_a_revoking_write_is_revoked_too(make_user, other_company, case):
    user = make_user(Role.OPERATOR, email="victim@example.com")
    root = make_user(Role.SYSTEM_ADMIN, email="root@example.com", company=other_company)
    login = APIClient().post("/api/v1/auth/login", {"email": user.email, "password": PASSWORD}, format="json")
    assert login.status_code == 200, login.content
    refresh_paused, refresh_resume = threading.Event(), threading.Event()
    writer_pid: list[int] = []
    results: dict = {}
    issue = services._issue_refresh_token

    def paused_issue(issued_to):
        refresh_paused.set()
        assert refresh_resume.wait(FAULT_BOUND_SECONDS)
        return issue(issued_to)

    def refresh():
        try:
            results["refresh"] = APIClient().post(
                REFRESH, {"refresh_token": login.json()["refresh_token"]}, format="json"
            )
        finally:
            connections.close_all()

    def write():
        try:
            writer_pid.append(backend_pid())
            REVOKING_WRITES[case](user, root)
            results["write"] = "done"
        except Exception as error:  # noqa: BLE001 - reported to the test below
            results["write"] = error
        finally:
            connections.close_all()

    with mock.patch.object(services, "_issue_refresh_token", paused_issue):
        refresher = threading.Thread(target=refresh)
        refresher.start()
        assert refresh_paused.wait(FAULT_BOUND_SECONDS)
        writer = threading.Thread(target=write)
        writer.start()
        while not writer_pid:
            time.sleep(0.01)
        try:
            wait_until_waiting_on_a_lock(writer_pid[0])
        finally:
            refresh_resume.set()
            refresher.join()
            writer.join()

    assert results["write"] == "done"
    assert results["refresh"].status_code == 200, results["refresh"].content  # it took the locks first
    issued = results["refresh"].json()["refresh_token"]
    assert IssuedRefreshToken.objects.filter(user=user).count() == 2
    assert not IssuedRefreshToken.objects.filter(user=user, revoked_at__isnull=True).exists()
    User.objects.filter(pk=user.pk).update(is_active=True)
    Company.objects.filter(pk=user.company_id).update(is_active=True)
    refused = APIClient().post(REFRESH, {"refresh_token": issued}, format="json")
    assert refused.status_code == 401, refused.content
    assert refused.json()["code"] == "invalid_token"
