"""Fixtures of the read-side tests: credentials, and writers that build data through the sync API."""

import pytest


@pytest.fixture
def reader(key, as_key):
    return as_key(key[1])
