"""Rate limiting: per credential and per company, headers on every API response."""

from __future__ import annotations

import multiprocessing
import time

import pytest
from django.conf import settings as django_settings

from assemblies.models import Project
from ractory.api import ratelimit
from tenants.models import ApiKey
from tenants.roles import Role

HEADERS = ("X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset")
ME = "/api/v1/auth/me"


def assert_rate_headers(response, *, limit: int, remaining: int) -> None:
    assert response["X-RateLimit-Limit"] == str(limit)
    assert response["X-RateLimit-Remaining"] == str(remaining)
    reset = int(response["X-RateLimit-Reset"])
    assert time.time() <= reset <= time.time() + ratelimit.WINDOW_SECONDS + 1


@pytest.fixture
def limits(settings):
    def set_limits(per_credential: int, per_company: int | None = None) -> None:
        settings.RATE_LIMIT_PER_MINUTE = per_credential
        settings.RATE_LIMIT_COMPANY_PER_MINUTE = per_company or 5 * per_credential

    return set_limits


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/health", 200),
        ("/api/v1/health", 200),
        (ME, 401),
        ("/api/v1/no-such-thing", 404),
        ("/api/v1/projects/not-a-uuid", 404),
        ("/api-jobs/nothing-here", 404),
    ],
)
def test_every_api_response_carries_the_rate_limit_headers(api, path, status, frozen_window, db):
    response = api.get(path)

    assert response.status_code == status
    for name in HEADERS:
        assert name in response, name
    assert_rate_headers(response, limit=django_settings.RATE_LIMIT_PER_MINUTE, remaining=599)


def test_remaining_counts_down_per_credential(make_api_key, as_key, limits, frozen_window):
    limits(5)
    _, raw = make_api_key()
    client = as_key(raw)

    answers = [client.get(ME) for _ in range(3)]

    assert [answer.status_code for answer in answers] == [200, 200, 200]
    assert [answer["X-RateLimit-Remaining"] for answer in answers] == ["4", "3", "2"]


def test_over_the_limit_is_429_and_never_reaches_the_view(
    make_api_key, as_key, company, limits, frozen_window, problem
):
    limits(2)
    _, raw = make_api_key()
    client = as_key(raw)
    for _ in range(2):
        assert client.get(ME).status_code == 200

    body = {"projects": [{"company_guid": str(company.guid), "code": "P-1"}]}
    response = client.post("/api/v1/sync/projects", body, format="json")

    problem(response, 429, "rate_limited")
    assert_rate_headers(response, limit=2, remaining=0)
    assert int(response["Retry-After"]) == 55
    assert not Project.objects.exists()


def test_credentials_have_separate_budgets(make_api_key, as_key, limits, frozen_window):
    limits(1)
    _, first = make_api_key()
    _, second = make_api_key()

    assert as_key(first).get(ME).status_code == 200
    assert as_key(second).get(ME).status_code == 200
    assert as_key(first).get(ME).status_code == 429


def test_the_company_budget_is_shared_by_its_credentials(
    make_api_key, make_user, as_key, as_user, limits, frozen_window, problem
):
    limits(5, per_company=3)
    _, key = make_api_key()
    user = make_user(Role.COMPANY_ADMIN)
    statuses = [as_key(key).get(ME).status_code, as_user(user).get(ME).status_code, as_key(key).get(ME).status_code]

    response = as_user(user).get(ME)

    assert statuses == [200, 200, 200]
    problem(response, 429, "rate_limited")
    assert response["X-RateLimit-Limit"] == "5"  # the headers describe the credential's own window


def test_another_company_is_not_slowed_by_a_busy_one(make_api_key, as_key, other_company, limits, frozen_window):
    limits(5, per_company=2)
    _, busy = make_api_key()
    _, calm = make_api_key(company=other_company)
    for _ in range(3):
        as_key(busy).get(ME)

    assert as_key(calm).get(ME).status_code == 200


def test_a_flood_of_bad_keys_is_throttled_per_client_ip(api, make_api_key, limits, frozen_window, problem):
    limits(3)
    api_key, raw = make_api_key()
    bad = raw[:-4] + "xxxx"
    api.credentials(HTTP_X_API_KEY=bad)

    statuses = [api.get(ME).status_code for _ in range(3)]
    response = api.get(ME)

    assert statuses == [401, 401, 401]
    problem(response, 429, "rate_limited")
    api_key.refresh_from_db()
    assert api_key.last_used_at is None


def test_a_new_window_starts_afresh(make_api_key, as_key, limits, monkeypatch):
    limits(1)
    _, raw = make_api_key()
    client = as_key(raw)
    now = [(int(time.time() // 60) * 60) + 5.0]
    monkeypatch.setattr(ratelimit.time, "time", lambda: now[0])
    assert client.get(ME).status_code == 200
    assert client.get(ME).status_code == 429

    now[0] += 60

    response = client.get(ME)
    assert response.status_code == 200
    assert response["X-RateLimit-Remaining"] == "0"


def test_keys_of_the_store_name_no_secret(make_api_key, as_key, frozen_window, monkeypatch):
    seen: list[str] = []
    original = ratelimit.MemoryCounters.increment

    def record(self, keys, window):
        seen.extend(keys)
        return original(self, keys, window)

    monkeypatch.setattr(ratelimit.MemoryCounters, "increment", record)
    monkeypatch.setattr(django_settings, "REDIS_URL", "")
    api_key, raw = make_api_key()

    as_key(raw).get(ME)

    assert any(key.endswith(f"key:{api_key.pk}") for key in seen)
    secret = raw.split("_", 2)[2]  # the secret itself may contain "_"
    assert all(secret not in key for key in seen)
    assert ApiKey.objects.get(pk=api_key.pk).last_used_at is not None


# --- Redis: exact across processes ---------------------------------------------------------------


def _spend_many(redis_url: str, key: str, window: int, count: int, limit: int, queue) -> None:
    counters = ratelimit.RedisCounters(redis_url)  # a connection of this process's own
    allowed = sum(1 for _ in range(count) if counters.increment([key], window)[0] <= limit)
    queue.put(allowed)


@pytest.mark.skipif(
    not django_settings.REDIS_URL, reason="needs Redis (REDIS_URL): the in-memory counters are per process"
)
def test_redis_counts_exactly_across_two_processes(settings):
    """N + 20 requests from two processes at once against a limit of N: exactly N pass."""
    limit, extra = 200, 20
    key, window = f"{settings.RATE_LIMIT_KEY_PREFIX}:key:shared", int(time.time() // 60)
    context = multiprocessing.get_context("fork")  # the children use Redis only, never the database
    queue = context.Queue()
    workers = [
        context.Process(target=_spend_many, args=(settings.REDIS_URL, key, window, (limit + extra) // 2, limit, queue))
        for _ in range(2)
    ]
    for worker in workers:
        worker.start()
    allowed = [queue.get(timeout=60) for _ in workers]
    for worker in workers:
        worker.join(timeout=60)

    assert sum(allowed) == limit
    assert all(worker.exitcode == 0 for worker in workers)
