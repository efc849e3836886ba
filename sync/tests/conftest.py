"""Fixtures of the sync tests (the shared ``key`` and ``writer`` are in the root conftest)."""

import pytest

from .mes import eryxon_client


@pytest.fixture
def client(key):
    """An Eryxon client of ``company`` (``Authorization: Bearer`` with ``key``), for the MES
    endpoints. In the sync tests it takes the place of pytest-django's ``client``."""
    return eryxon_client(key[1])
