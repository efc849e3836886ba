"""Rate limiting of the whole API (api.md §8): fixed one-minute windows, per credential and per company.

Counters live in Redis when ``REDIS_URL`` is set (one atomic MULTI/EXEC per request, shared by
every gunicorn worker) and in process memory otherwise. A request over a limit is refused with
429 before it reaches a view; every API response carries ``X-RateLimit-Limit``,
``X-RateLimit-Remaining`` and ``X-RateLimit-Reset`` describing the caller's own window.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from functools import lru_cache

from django.conf import settings

from .problems import Problem

WINDOW_SECONDS = 60


@dataclass(frozen=True)
class Budget:
    """One counter a request spends from: a key and its limit per window."""

    key: str
    limit: int


@dataclass(frozen=True)
class RateLimitState:
    """The caller's window after this request, for the response headers."""

    limit: int
    remaining: int
    reset: int  # epoch seconds at which the window ends
    exceeded: bool

    def headers(self) -> dict[str, str]:
        headers = {
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Remaining": str(self.remaining),
            "X-RateLimit-Reset": str(self.reset),
        }
        if self.exceeded:
            headers["Retry-After"] = str(max(1, self.reset - int(time.time())))
        return headers


class MemoryCounters:
    """In-process counters: exact within one process (the embedded default)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: dict[tuple[str, int], int] = {}

    def increment(self, keys: list[str], window: int) -> list[int]:
        with self._lock:
            if len(self._counts) > 100_000:  # forget finished windows now and then
                self._counts = {k: v for k, v in self._counts.items() if k[1] >= window}
            counts = []
            for key in keys:
                count = self._counts.get((key, window), 0) + 1
                self._counts[(key, window)] = count
                counts.append(count)
            return counts


class RedisCounters:
    """Redis counters: INCR and EXPIRE of every key in one transaction, so concurrent requests of
    all workers are counted exactly."""

    def __init__(self, url: str) -> None:
        import redis

        self._client = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)

    def increment(self, keys: list[str], window: int) -> list[int]:
        with self._client.pipeline(transaction=True) as pipeline:
            for key in keys:
                name = f"{key}:{window}"
                pipeline.incr(name)
                pipeline.expire(name, WINDOW_SECONDS * 2)
            results = pipeline.execute()
        return [int(count) for count in results[0::2]]


@lru_cache(maxsize=4)
def counters_for(redis_url: str):
    return RedisCounters(redis_url) if redis_url else MemoryCounters()


def counters():
    return counters_for(settings.REDIS_URL)


def spend(primary: Budget, *others: Budget) -> RateLimitState:
    """Count one request against every budget; the state describes ``primary``'s window.

    The request is over the limit when any budget is exhausted (a credential within its own
    limit is still refused once its company's is spent).
    """
    now = time.time()
    window = int(now // WINDOW_SECONDS)
    prefix = settings.RATE_LIMIT_KEY_PREFIX
    budgets = [primary, *others]
    counts = counters().increment([f"{prefix}:{budget.key}" for budget in budgets], window)
    exceeded = any(count > budget.limit for count, budget in zip(counts, budgets, strict=True))
    return RateLimitState(
        limit=primary.limit,
        remaining=max(0, primary.limit - counts[0]),
        reset=(window + 1) * WINDOW_SECONDS,
        exceeded=exceeded,
    )


def client_ip(request) -> str:
    return request.META.get("REMOTE_ADDR") or "unknown"


def spend_for_anonymous(request) -> RateLimitState:
    """Requests without a valid credential are counted per client IP, with the same limit."""
    return spend(Budget(f"ip:{client_ip(request)}", settings.RATE_LIMIT_PER_MINUTE))


def rate_limited(state: RateLimitState) -> Problem:
    return Problem(
        f"Too many requests: the limit is {state.limit} a minute. Retry after the Retry-After seconds.",
        status=429,
        code="rate_limited",
        headers=state.headers(),
    )
