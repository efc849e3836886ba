"""Login throttling, shared by ``POST /api/v1/auth/login`` and the Django admin login.

Two limits, both checked before a password is hashed (a guess costs a full PBKDF2 hash):

- per account: ``LOGIN_FAILURES_PER_ACCOUNT`` failed logins of one email (any case) within
  ``LOGIN_FAILURE_WINDOW_SECONDS`` of the first lock that account's logins from every address
  until that window passes; a successful login forgets the failures;
- per client IP: ``LOGIN_ATTEMPTS_PER_IP_PER_MINUTE`` login attempts a minute, failed or not, so
  one address cannot keep the workers busy hashing.

The counters are the rate limiter's (Redis when ``REDIS_URL`` is set, failing open to process
memory; process memory otherwise). Account keys hold a hash of the email, not the email.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from django.conf import settings

from ractory.api.problems import Problem
from ractory.api.ratelimit import Budget, counters, spend

REFUSAL_CODE = "too_many_login_attempts"


@dataclass(frozen=True)
class LoginRefusal:
    """Why a login is refused before its password is checked, and for how long."""

    detail: str
    retry_after: int  # seconds

    def problem(self) -> Problem:
        return Problem(self.detail, status=429, code=REFUSAL_CODE, headers={"Retry-After": str(self.retry_after)})


def normalized_email(email: str) -> str:
    return email.strip().lower()


def _account_key(email: str) -> str:
    digest = hashlib.sha256(normalized_email(email).encode()).hexdigest()[:32]
    return f"{settings.RATE_LIMIT_KEY_PREFIX}:login-failures:{digest}"


def refusal(email: str, ip: str) -> LoginRefusal | None:
    """Spends one login attempt of ``ip``; a refusal when the address or the account is over its
    limit, ``None`` when the password may be checked."""
    attempts = spend(Budget(f"login-ip:{ip}", settings.LOGIN_ATTEMPTS_PER_IP_PER_MINUTE))
    if attempts.exceeded:
        return LoginRefusal(
            f"Too many login attempts from this address (the limit is {attempts.limit} a minute). "
            f"Try again in {attempts.retry_after()} seconds.",
            attempts.retry_after(),
        )
    failures = counters().peek(_account_key(email))
    if failures.count >= settings.LOGIN_FAILURES_PER_ACCOUNT:
        return LoginRefusal(
            f"Too many failed logins for this account. Try again in {failures.expires_in} seconds.",
            failures.expires_in,
        )
    return None


def record_failure(email: str) -> None:
    counters().add(_account_key(email), settings.LOGIN_FAILURE_WINDOW_SECONDS)


def record_success(email: str) -> None:
    counters().forget(_account_key(email))
