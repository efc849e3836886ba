"""Fixtures and factories shared by every test module.

- ``make_company``, ``make_user``, ``make_api_key``: factories writing real rows;
- ``company`` / ``other_company``: two tenants, for the cross-company matrix;
- ``client_as(caller)``: a client for a role name, ``key:<scope>`` or ``anonymous`` (matrices);
- ``problem(response, status, code)``: asserts an RFC 9457 problem document;
- ``api``: a DRF ``APIClient``; ``as_user(user)`` / ``as_key(raw_key)`` return clients
  authenticated with a real JWT or a real API key (the same headers an integrator sends);
- ``key``: ``(api_key, raw_key)`` of ``company`` with sync:read and sync:write; ``writer`` /
  ``other_writer``: ``SyncClient``s of ``company`` (with ``key``) and of ``other_company``;
- ``system_admin``: a client of a System Admin; ``admin_client_for(user)``: a Django admin session;
- ``frozen_window``: the rate limiter's clock pinned 5 seconds into a minute;
- ``without_request_id(body)``: a problem body without its per-request field, to compare two.
"""

from __future__ import annotations

import itertools
import time
import uuid

import pytest
from django.test import Client, override_settings
from rest_framework.test import APIClient

from ractory.api import ratelimit
from sync.tests.factories import SyncClient
from tenants import services
from tenants.models import Company, User
from tenants.roles import Role

PASSWORD = "correct-horse-battery-staple"
REALM = 'Bearer realm="ractory"'  # the WWW-Authenticate of every 401
_sequence = itertools.count(1)


def pytest_configure(config):
    # The production hasher (PBKDF2, a million iterations) is slow on purpose; tests only need a
    # correct one. Set once for the whole session, before collection imports anything, so that it
    # also covers hashes made at import time (the login view's unknown-email dummy hash), in fixtures
    # of any scope and under override_settings. A test that sets PASSWORD_HASHERS with the settings
    # fixture gets this list back afterwards. Processes a test starts (gunicorn, manage.py) run the
    # production settings and hash with PBKDF2.
    override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"]).enable()


@pytest.fixture
def make_company(db):
    def make(name: str | None = None, **fields) -> Company:
        return services.create_company(name=name or f"Company {next(_sequence)}", **fields)

    return make


@pytest.fixture
def company(make_company) -> Company:
    return make_company("Acme Windows")


@pytest.fixture
def other_company(make_company) -> Company:
    return make_company("Other Doors")


@pytest.fixture
def make_user(db, company):
    def make(role: str = Role.OPERATOR, *, company: Company = company, email: str | None = None, **fields) -> User:
        return services.create_user(
            company=company,
            email=email or f"user{next(_sequence)}@example.com",
            password=fields.pop("password", PASSWORD),
            role=role,
            **fields,
        )

    return make


@pytest.fixture
def make_api_key(db, company):
    """Returns ``(api_key, raw_key)``."""

    def make(scopes=("sync:read", "sync:write"), *, company: Company = company, **fields):
        created = services.create_api_key(company=company, scopes=list(scopes), **fields)
        return created.api_key, created.raw_key

    return make


@pytest.fixture
def key(make_api_key):
    """``(api_key, raw_key)`` of ``company``, with sync:read and sync:write."""
    return make_api_key()


@pytest.fixture
def writer(key, as_key, company) -> SyncClient:
    return SyncClient(as_key(key[1]), company)


@pytest.fixture
def other_writer(make_api_key, as_key, other_company) -> SyncClient:
    return SyncClient(as_key(make_api_key(company=other_company)[1]), other_company)


@pytest.fixture
def system_admin(make_user, as_user) -> APIClient:
    return as_user(make_user(Role.SYSTEM_ADMIN))


@pytest.fixture
def admin_client_for():
    """``admin_client_for(user)``: a Django test client logged in to the admin as ``user``."""

    def login(user: User) -> Client:
        client = Client()
        assert client.login(username=user.email, password=PASSWORD)
        return client

    return login


@pytest.fixture
def api() -> APIClient:
    return APIClient()


@pytest.fixture
def client_as(make_user, make_api_key, as_user, as_key, api):
    """``client_as(caller)`` → (client, principal) for a role name, ``key:<scope>`` or ``anonymous``."""

    def build(caller: str, **fields):
        if caller == "anonymous":
            return api, None
        if caller.startswith("key:"):
            key, raw = make_api_key([caller.removeprefix("key:")], **fields)
            return as_key(raw), key
        user = make_user(caller, **fields)
        return as_user(user), user

    return build


def access_token_for(user: User) -> str:
    from rest_framework_simplejwt.tokens import RefreshToken

    return str(RefreshToken.for_user(user).access_token)


@pytest.fixture
def as_user():
    def client(user: User) -> APIClient:
        api_client = APIClient()
        api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {access_token_for(user)}")
        return api_client

    return client


@pytest.fixture
def as_key():
    def client(raw_key: str) -> APIClient:
        api_client = APIClient()
        api_client.credentials(HTTP_X_API_KEY=raw_key)
        return api_client

    return client


@pytest.fixture
def problem():
    """``problem(response, status, code)`` asserts a problem document and returns its body."""
    return assert_problem


def assert_problem(response, status: int, code: str | None = None) -> dict:
    """The response is a problem document of ``status`` (and ``code``); returns its body."""
    assert response.status_code == status, (response.status_code, response.content[:500])
    assert response["Content-Type"].startswith("application/problem+json"), response["Content-Type"]
    body = response.json()
    assert body["status"] == status
    assert body["type"].startswith("/problems/")
    assert body["request_id"] == response["X-Request-ID"]
    if code is not None:
        assert body["code"] == code, body
    return body


def assert_auth_problem(problem, response, code: str | None) -> dict:
    """The response is a 401 problem of ``code`` that asks for credentials and leaks no traceback;
    returns its body."""
    body = problem(response, 401, code)
    assert response["WWW-Authenticate"] == REALM
    assert body["type"] == "/problems/not-authenticated"
    assert "Traceback" not in response.content.decode()
    return body


@pytest.fixture(autouse=True)
def separate_rate_limit_counters(settings):
    # Every test counts on counters of its own (memory or Redis), so no test inherits another's
    # requests; rate-limit tests lower the limits with the settings fixture.
    settings.RATE_LIMIT_KEY_PREFIX = f"test:{uuid.uuid4().hex}"


@pytest.fixture
def frozen_window(monkeypatch) -> float:
    """Pin the rate limiter's clock 5 seconds into one window, so a test never straddles a minute
    boundary. Returns the pinned time."""
    start = (int(time.time() // 60) * 60) + 5.0
    monkeypatch.setattr(ratelimit.time, "time", lambda: start)
    return start


def without_request_id(body: dict) -> dict:
    """``body`` without ``request_id``, which differs on every response."""
    return {key: value for key, value in body.items() if key != "request_id"}
