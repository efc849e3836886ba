"""Login throttling: failures per account, attempts per client IP, the API and the admin alike.

A refused login is refused before its password is hashed: every test that expects a refusal also
checks that no password was checked for it.
"""

from __future__ import annotations

import time

import pytest
from django.contrib.auth import hashers
from django.test import Client

from conftest import PASSWORD
from ractory.api import ratelimit
from tenants.models import User
from tenants.roles import Role

LOGIN = "/api/v1/auth/login"
ADMIN_LOGIN = "/admin/login/"
EMAIL = "ada@example.com"


@pytest.fixture
def user(make_user):
    return make_user(Role.COMPANY_ADMIN, email=EMAIL)


@pytest.fixture
def login(api):
    def do(email: str = EMAIL, password: str = PASSWORD, ip: str = "10.0.0.1"):
        return api.post(LOGIN, {"email": email, "password": password}, format="json", REMOTE_ADDR=ip)

    return do


@pytest.fixture
def admin_login():
    """Posts the admin's login form from ``ip``; returns the response and the client (its session)."""

    def do(email: str = EMAIL, password: str = PASSWORD, ip: str = "10.0.0.1"):
        client = Client(REMOTE_ADDR=ip)
        return client.post(ADMIN_LOGIN, {"username": email, "password": password, "next": "/admin/"}), client

    return do


@pytest.fixture
def password_checks(monkeypatch):
    """Counts every password hash computed (a right or wrong password, or the unknown-email dummy)."""
    checks = []
    original = hashers.check_password

    def counted(password, encoded, *args, **kwargs):
        checks.append(encoded)
        return original(password, encoded, *args, **kwargs)

    monkeypatch.setattr(hashers, "check_password", counted)
    monkeypatch.setattr("django.contrib.auth.base_user.check_password", counted)
    monkeypatch.setattr("tenants.api.auth_views.check_password", counted)
    return checks


@pytest.fixture
def frozen_time(monkeypatch):
    """Wall-clock time, frozen inside one rate-limit minute; tests move it by hand."""
    now = [(int(time.time() // 60) * 60) + 5.0]
    monkeypatch.setattr(ratelimit.time, "time", lambda: now[0])
    return now


def last_login(user: User):
    return User.objects.values_list("last_login", flat=True).get(pk=user.pk)


def fail_ten_times(login, email: str = EMAIL) -> list[int]:
    """Ten wrong passwords for ``email``, each from an address of its own."""
    return [login(email, "wrong-password", ip=f"10.1.0.{n}").status_code for n in range(10)]


# --- Per account --------------------------------------------------------------------------------


def test_ten_failures_lock_the_account_from_every_ip(user, login, problem, password_checks):
    failures = fail_ten_times(login)
    checks_before = len(password_checks)

    response = login(ip="192.0.2.77")  # the right password, from an address never seen

    assert failures == [401] * 10
    body = problem(response, 429, "too_many_login_attempts")
    assert "Too many failed logins for this account" in body["detail"]
    assert 1 <= int(response["Retry-After"]) <= 900
    assert "access_token" not in body
    assert len(password_checks) == checks_before  # refused before hashing
    assert last_login(user) is None


def test_the_account_is_counted_case_insensitively(user, login, problem):
    failures = [login("Ada@Example.COM", "wrong-password", ip=f"10.2.0.{n}").status_code for n in range(10)]

    response = login(" ADA@example.com ", ip="192.0.2.78")

    assert failures == [401] * 10
    problem(response, 429, "too_many_login_attempts")
    assert last_login(user) is None


def test_nine_failures_still_let_the_right_password_in(user, login):
    failures = [login(password="wrong-password", ip=f"10.3.0.{n}").status_code for n in range(9)]

    response = login(ip="192.0.2.79")

    assert failures == [401] * 9
    assert response.status_code == 200
    assert response.json()["access_token"]
    assert last_login(user) is not None


def test_a_success_resets_the_count(user, login):
    first = [login(password="wrong-password", ip=f"10.4.0.{n}").status_code for n in range(9)]
    success = login(ip="10.4.1.1")
    second = [login(password="wrong-password", ip=f"10.4.2.{n}").status_code for n in range(9)]

    response = login(ip="10.4.3.1")

    assert first == second == [401] * 9
    assert success.status_code == 200
    assert response.status_code == 200
    assert response.json()["access_token"]


def test_an_unknown_email_is_locked_the_same_way(login, problem, db):
    failures = fail_ten_times(login, "nobody@example.com")

    response = login("nobody@example.com", "anything", ip="192.0.2.80")

    assert failures == [401] * 10  # the same answers as for a real account: no enumeration
    problem(response, 429, "too_many_login_attempts")


def test_another_account_is_not_locked(user, make_user, login):
    other = make_user(Role.OPERATOR, email="bob@example.com")
    fail_ten_times(login)

    response = login("bob@example.com", ip="192.0.2.81")

    assert response.status_code == 200
    assert last_login(other) is not None
    assert last_login(user) is None


def test_the_lock_ends_when_the_window_passes(user, login, settings, frozen_time, problem):
    settings.REDIS_URL = ""  # the in-process counters follow the frozen clock; Redis expires keys itself
    fail_ten_times(login)
    locked = login(ip="192.0.2.82")
    frozen_time[0] += settings.LOGIN_FAILURE_WINDOW_SECONDS - 10
    still_locked = login(ip="192.0.2.83")

    frozen_time[0] += 10
    response = login(ip="192.0.2.84")

    problem(locked, 429, "too_many_login_attempts")
    problem(still_locked, 429, "too_many_login_attempts")
    assert int(still_locked["Retry-After"]) == 10
    assert response.status_code == 200
    assert last_login(user) is not None


def test_the_limits_are_settings(user, login, settings, problem):
    settings.LOGIN_FAILURES_PER_ACCOUNT = 2
    failures = [login(password="wrong-password", ip=f"10.5.0.{n}").status_code for n in range(2)]

    response = login(ip="192.0.2.85")

    assert failures == [401, 401]
    problem(response, 429, "too_many_login_attempts")


# --- Per client IP ------------------------------------------------------------------------------


def test_one_address_has_a_budget_of_login_attempts(user, login, settings, frozen_time, problem, password_checks):
    settings.LOGIN_ATTEMPTS_PER_IP_PER_MINUTE = 3
    spent = [login(f"guess{n}@example.com", "guess", ip="198.51.100.7").status_code for n in range(3)]
    checks_before = len(password_checks)

    refused = login(ip="198.51.100.7")  # even the right password
    elsewhere = login(ip="198.51.100.8")

    assert spent == [401, 401, 401]
    body = problem(refused, 429, "too_many_login_attempts")
    assert "from this address" in body["detail"]
    assert refused["Retry-After"] == "55"  # the rest of the minute
    assert len(password_checks) == checks_before + 1  # only the other address's login was hashed
    assert elsewhere.status_code == 200
    frozen_time[0] += 60
    assert login(ip="198.51.100.7").status_code == 200


PROXY = "192.0.2.10"


def test_behind_a_trusted_proxy_each_client_has_its_own_address_budget(user, api, settings, frozen_time, problem):
    """The per-IP budget is the client's, read from X-Forwarded-For as the proxy appended it."""
    settings.LOGIN_ATTEMPTS_PER_IP_PER_MINUTE = 2
    settings.FORWARDED_ALLOW_IPS = frozenset({PROXY})

    def via_proxy(client_address: str, password: str = PASSWORD, claimed: str = ""):
        forwarded = f"{claimed}, {client_address}" if claimed else client_address
        return api.post(
            LOGIN,
            {"email": EMAIL, "password": password},
            format="json",
            REMOTE_ADDR=PROXY,
            HTTP_X_FORWARDED_FOR=forwarded,
        )

    spent = [via_proxy("203.0.113.5", "wrong").status_code for _ in range(2)]
    refused = via_proxy("203.0.113.5")
    # What a client writes in front of the proxy's own entry is not believed.
    spoofed = via_proxy("203.0.113.5", claimed="198.51.100.99")
    other_client = via_proxy("203.0.113.6")

    assert spent == [401, 401]
    problem(refused, 429, "too_many_login_attempts")
    problem(spoofed, 429, "too_many_login_attempts")
    assert other_client.status_code == 200, other_client.content


def test_without_a_trusted_proxy_x_forwarded_for_is_ignored(user, api, settings, frozen_time, problem):
    settings.LOGIN_ATTEMPTS_PER_IP_PER_MINUTE = 2
    settings.FORWARDED_ALLOW_IPS = frozenset()
    answers = [
        api.post(
            LOGIN,
            {"email": EMAIL, "password": "wrong" if n < 2 else PASSWORD},
            format="json",
            REMOTE_ADDR="203.0.113.7",
            HTTP_X_FORWARDED_FOR=f"198.51.100.{n}",  # a new address each time: not believed
        )
        for n in range(3)
    ]
    assert [answer.status_code for answer in answers[:2]] == [401, 401]
    problem(answers[2], 429, "too_many_login_attempts")


def test_the_address_budget_has_a_sensible_default(settings):
    assert settings.LOGIN_ATTEMPTS_PER_IP_PER_MINUTE == 20
    assert settings.LOGIN_FAILURES_PER_ACCOUNT == 10
    assert settings.LOGIN_FAILURE_WINDOW_SECONDS == 900


# --- Redis unavailable --------------------------------------------------------------------------


def test_login_throttling_fails_open_to_process_memory_when_redis_is_down(user, login, settings, problem):
    ratelimit.counters_for.cache_clear()
    settings.REDIS_URL = "redis://127.0.0.1:18201/12"  # a closed port of this suite's range
    try:
        success = login(ip="10.6.0.1")
        failures = fail_ten_times(login)
        response = login(ip="192.0.2.86")
    finally:
        ratelimit.counters_for.cache_clear()

    assert success.status_code == 200
    assert failures == [401] * 10
    problem(response, 429, "too_many_login_attempts")


# --- The Django admin's login -------------------------------------------------------------------


def is_logged_in(client: Client) -> bool:
    return "_auth_user_id" in client.session


def test_the_admin_login_works(user, admin_login):
    response, client = admin_login()

    assert response.status_code == 302
    assert response["Location"] == "/admin/"
    assert is_logged_in(client)


def test_ten_admin_failures_lock_the_account_from_every_ip(user, admin_login, password_checks):
    failures = [admin_login(password="wrong-password", ip=f"10.7.0.{n}")[0] for n in range(10)]
    checks_before = len(password_checks)

    response, client = admin_login(ip="192.0.2.90")

    assert [failure.status_code for failure in failures] == [200] * 10  # the form again, with its error
    assert "Please enter the correct" in failures[0].content.decode()
    assert response.status_code == 429
    assert response["Content-Type"].startswith("text/html")
    assert "Too many failed logins for this account" in response.content.decode()
    assert 1 <= int(response["Retry-After"]) <= 900
    assert len(password_checks) == checks_before
    assert not is_logged_in(client)
    assert last_login(user) is None


def test_api_and_admin_failures_share_one_count(user, login, admin_login):
    api_failures = [login(password="wrong-password", ip=f"10.8.0.{n}").status_code for n in range(5)]
    admin_failures = [admin_login(password="wrong-password", ip=f"10.8.1.{n}")[0].status_code for n in range(5)]

    admin, client = admin_login(ip="192.0.2.91")
    api = login(ip="192.0.2.92")

    assert api_failures == [401] * 5
    assert admin_failures == [200] * 5
    assert admin.status_code == 429
    assert not is_logged_in(client)
    assert api.status_code == 429
    assert api.json()["code"] == "too_many_login_attempts"


def test_a_successful_admin_login_resets_the_count(user, admin_login):
    first = [admin_login(password="wrong-password", ip=f"10.9.0.{n}")[0].status_code for n in range(9)]
    success, _ = admin_login(ip="10.9.1.1")
    second = [admin_login(password="wrong-password", ip=f"10.9.2.{n}")[0].status_code for n in range(9)]

    response, client = admin_login(ip="10.9.3.1")

    assert first == second == [200] * 9
    assert success.status_code == 302
    assert response.status_code == 302
    assert is_logged_in(client)


def test_the_admin_login_obeys_the_address_budget(user, login, admin_login, settings, frozen_time, password_checks):
    settings.LOGIN_ATTEMPTS_PER_IP_PER_MINUTE = 3
    spent = [login(f"guess{n}@example.com", "guess", ip="203.0.113.5").status_code for n in range(3)]
    checks_before = len(password_checks)

    refused, refused_client = admin_login(ip="203.0.113.5")  # the right password, from the busy address
    allowed, allowed_client = admin_login(ip="203.0.113.6")

    assert spent == [401, 401, 401]
    assert refused.status_code == 429
    assert refused["Retry-After"] == "55"
    assert "Too many login attempts from this address" in refused.content.decode()
    assert not is_logged_in(refused_client)
    assert len(password_checks) == checks_before + 1  # the allowed login only
    assert allowed.status_code == 302
    assert is_logged_in(allowed_client)
