"""Helpers of the framework-plumbing tests."""

from __future__ import annotations

import pytest

from tenants.roles import Role

PROBLEM_FIELDS = {"type", "title", "status", "detail", "code", "request_id"}


@pytest.fixture
def company_admin(make_user, as_user):
    """A client of a Company Admin of ``company``."""
    return as_user(make_user(Role.COMPANY_ADMIN))


@pytest.fixture
def full_problem(problem):
    """``full_problem(response, status, code)``: ``problem`` plus every RFC 9457 field, non-empty.

    Returns the body. Also checks the body is not HTML and the response has no HTML type.
    """

    def check(response, status: int, code: str | None = None) -> dict:
        body = problem(response, status, code)
        assert PROBLEM_FIELDS <= set(body), body
        for field in ("type", "title", "detail", "code", "request_id"):
            assert isinstance(body[field], str), (field, body)
            assert body[field], (field, body)
        assert b"<html" not in response.content.lower()
        assert b"<!doctype" not in response.content.lower()
        return body

    return check
