"""Fixtures of the read-side tests: credentials, and writers that build data through the sync API."""

import pytest

from sync.tests.factories import SyncClient
from tenants.roles import Role


@pytest.fixture
def key(make_api_key):
    return make_api_key()


@pytest.fixture
def reader(key, as_key):
    return as_key(key[1])


@pytest.fixture
def writer(key, as_key, company) -> SyncClient:
    return SyncClient(as_key(key[1]), company)


@pytest.fixture
def other_writer(make_api_key, as_key, other_company) -> SyncClient:
    return SyncClient(as_key(make_api_key(company=other_company)[1]), other_company)


@pytest.fixture
def system_admin(make_user, as_user):
    return as_user(make_user(Role.SYSTEM_ADMIN))
