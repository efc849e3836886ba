"""Rate limiting of the whole API: fixed one-minute windows, per credential and per company.

Counters live in Redis when ``REDIS_URL`` is set (one atomic MULTI/EXEC per request, shared by
every gunicorn worker) and in process memory otherwise. A request over a limit is refused with
429 before it reaches a view; every API response carries ``X-RateLimit-Limit``,
``X-RateLimit-Remaining`` and ``X-RateLimit-Reset`` describing the caller's own window.

Redis failing never fails a request: the counters fall back to this process's memory (fail open),
one warning a minute says so, and Redis is tried again every few seconds until it answers.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from functools import lru_cache

from django.conf import settings

from .problems import Problem

logger = logging.getLogger(__name__)

WINDOW_SECONDS = 60
# While Redis fails, one request per process tries it again this often; the others count in memory
# meanwhile, so a down or blackholed Redis costs one short timeout per interval, not one per request.
REDIS_RETRY_SECONDS = 5
REDIS_WARNING_INTERVAL_SECONDS = 60
# A Redis on the local network answers in a millisecond: these bound what a hung one costs.
REDIS_CONNECT_TIMEOUT_SECONDS = 0.5
REDIS_COMMAND_TIMEOUT_SECONDS = 1.0
# The readiness probe's PING: no answer within this is "redis": "unavailable".
REDIS_PING_TIMEOUT_SECONDS = 2.0


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

    def retry_after(self) -> int:
        return max(1, self.reset - int(time.time()))

    def headers(self) -> dict[str, str]:
        headers = {
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Remaining": str(self.remaining),
            "X-RateLimit-Reset": str(self.reset),
        }
        if self.exceeded:
            headers["Retry-After"] = str(self.retry_after())
        return headers


@dataclass(frozen=True)
class Tally:
    """A counter that lives a fixed time from its first increment (failed logins of an account)."""

    count: int
    expires_in: int  # seconds until the counter is forgotten; 0 when there is none


class MemoryCounters:
    """In-process counters: exact within one process (the embedded default, and the fallback)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: dict[tuple[str, int], int] = {}
        self._tallies: dict[str, tuple[int, float]] = {}  # key -> (count, expires at, epoch seconds)

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

    def add(self, key: str, lifetime: int) -> Tally:
        now = time.time()
        with self._lock:
            if len(self._tallies) > 100_000:
                self._tallies = {k: v for k, v in self._tallies.items() if v[1] > now}
            count, expires_at = self._tallies.get(key, (0, 0.0))
            if expires_at <= now:
                count, expires_at = 0, now + lifetime
            self._tallies[key] = (count + 1, expires_at)
            return Tally(count + 1, _seconds_until(expires_at, now))

    def peek(self, key: str) -> Tally:
        now = time.time()
        with self._lock:
            count, expires_at = self._tallies.get(key, (0, 0.0))
        return Tally(count, _seconds_until(expires_at, now)) if expires_at > now else Tally(0, 0)

    def forget(self, key: str) -> None:
        with self._lock:
            self._tallies.pop(key, None)


def _seconds_until(moment: float, now: float) -> int:
    return max(1, int(moment - now + 0.999))


def _redis_client(url: str, *, connect_timeout: float, command_timeout: float):
    import redis
    from redis.backoff import NoBackoff
    from redis.retry import Retry

    # redis-py retries 3 times with backoff by default, which multiplies a hung Redis's timeout.
    # One immediate retry on a broken connection only: a pooled connection from before a Redis
    # restart fails once, the retry reconnects.
    return redis.Redis.from_url(
        url,
        socket_connect_timeout=connect_timeout,
        socket_timeout=command_timeout,
        retry=Retry(NoBackoff(), 1, supported_errors=(redis.ConnectionError,)),
    )


class RedisCounters:
    """Redis counters: INCR and EXPIRE of every key in one transaction, so concurrent requests of
    all workers are counted exactly."""

    def __init__(self, url: str) -> None:
        self._client = _redis_client(
            url, connect_timeout=REDIS_CONNECT_TIMEOUT_SECONDS, command_timeout=REDIS_COMMAND_TIMEOUT_SECONDS
        )

    def increment(self, keys: list[str], window: int) -> list[int]:
        with self._client.pipeline(transaction=True) as pipeline:
            for key in keys:
                name = f"{key}:{window}"
                pipeline.incr(name)
                pipeline.expire(name, WINDOW_SECONDS * 2)
            results = pipeline.execute()
        return [int(count) for count in results[0::2]]

    def add(self, key: str, lifetime: int) -> Tally:
        with self._client.pipeline(transaction=True) as pipeline:
            pipeline.set(key, 0, ex=lifetime, nx=True)  # the lifetime starts at the first increment
            pipeline.incr(key)
            pipeline.ttl(key)
            _created, count, ttl = pipeline.execute()
        return Tally(int(count), max(1, int(ttl)))

    def peek(self, key: str) -> Tally:
        with self._client.pipeline(transaction=True) as pipeline:
            pipeline.get(key)
            pipeline.ttl(key)
            count, ttl = pipeline.execute()
        return Tally(int(count), max(1, int(ttl))) if count is not None else Tally(0, 0)

    def forget(self, key: str) -> None:
        self._client.delete(key)


class FailOpenCounters:
    """Redis counters that fall back to this process's memory while Redis fails (fail open).

    The first failure switches to memory and logs one warning (no traceback); after that one
    request per ``REDIS_RETRY_SECONDS`` tries Redis again and the first success switches back.
    While Redis stays down the warning repeats at most once per ``REDIS_WARNING_INTERVAL_SECONDS``.
    One instance per process (``counters_for``), so that is one warning per worker per minute.
    """

    def __init__(self, url: str) -> None:
        import redis

        self._redis = RedisCounters(url)
        self._redis_errors = (redis.RedisError, OSError)  # refused, timed out, reset, READONLY, OOM…
        self._memory = MemoryCounters()
        self._lock = threading.Lock()
        self._retry_at: float | None = None  # monotonic; set while Redis is considered down
        self._warned_at: float | None = None

    def increment(self, keys: list[str], window: int) -> list[int]:
        return self._call("increment", keys, window)

    def add(self, key: str, lifetime: int) -> Tally:
        return self._call("add", key, lifetime)

    def peek(self, key: str) -> Tally:
        return self._call("peek", key)

    def forget(self, key: str) -> None:
        self._call("forget", key)

    def _call(self, operation: str, *arguments):
        if self._may_try_redis():
            try:
                result = getattr(self._redis, operation)(*arguments)
            except self._redis_errors as error:
                self._failed(error)
            else:
                if self._retry_at is not None:
                    self._recovered()
                return result
        return getattr(self._memory, operation)(*arguments)

    def _may_try_redis(self) -> bool:
        with self._lock:
            if self._retry_at is None:
                return True
            now = time.monotonic()
            if now < self._retry_at:
                return False
            self._retry_at = now + REDIS_RETRY_SECONDS  # this request probes; the others wait for it
            return True

    def _failed(self, error: Exception) -> None:
        with self._lock:
            now = time.monotonic()
            self._retry_at = now + REDIS_RETRY_SECONDS
            if self._warned_at is not None and now - self._warned_at < REDIS_WARNING_INTERVAL_SECONDS:
                return
            self._warned_at = now
        logger.warning(
            "Redis is unavailable (%s: %s): rate-limit counters fall back to this process's memory; "
            "retrying Redis every %s s.",
            type(error).__name__,
            error,
            REDIS_RETRY_SECONDS,
        )

    def _recovered(self) -> None:
        with self._lock:
            if self._retry_at is None:
                return
            self._retry_at = None  # the warning clock keeps running: a flapping Redis warns once a minute
        logger.info("Redis answers again: rate-limit counters are shared again.")


@lru_cache(maxsize=4)
def counters_for(redis_url: str):
    return FailOpenCounters(redis_url) if redis_url else MemoryCounters()


def counters():
    return counters_for(settings.REDIS_URL)


# Counters that never leave the process: liveness is counted here (it touches nothing outside
# the process, Redis included).
process_counters = MemoryCounters()


def redis_status() -> str:
    """Readiness of Redis: ``not_configured``, ``connected`` or ``unavailable`` (no PONG in 2 s)."""
    if not settings.REDIS_URL:
        return "not_configured"
    import redis

    try:
        answered = _ping_client_for(settings.REDIS_URL).ping()
    except (redis.RedisError, OSError):
        return "unavailable"
    return "connected" if answered else "unavailable"


@lru_cache(maxsize=4)
def _ping_client_for(redis_url: str):
    # Connect and reply share the 2 s: a Redis that accepts and never answers is also "unavailable".
    half = REDIS_PING_TIMEOUT_SECONDS / 2
    return _redis_client(redis_url, connect_timeout=half, command_timeout=half)


def spend(primary: Budget, *others: Budget, store=None) -> RateLimitState:
    """Count one request against every budget; the state describes ``primary``'s window.

    The request is over the limit when any budget is exhausted (a credential within its own
    limit is still refused once its company's is spent). ``store`` defaults to the shared counters.
    """
    now = time.time()
    window = int(now // WINDOW_SECONDS)
    prefix = settings.RATE_LIMIT_KEY_PREFIX
    budgets = [primary, *others]
    store = store if store is not None else counters()
    counts = store.increment([f"{prefix}:{budget.key}" for budget in budgets], window)
    exceeded = any(count > budget.limit for count, budget in zip(counts, budgets, strict=True))
    return RateLimitState(
        limit=primary.limit,
        remaining=max(0, primary.limit - counts[0]),
        reset=(window + 1) * WINDOW_SECONDS,
        exceeded=exceeded,
    )


def client_ip(request) -> str:
    """The address a request came from, for the per-IP budgets (anonymous requests, logins).

    The peer address, unless the peer is one of ``FORWARDED_ALLOW_IPS`` (the reverse proxies in
    front of the service): then the nearest address in ``X-Forwarded-For`` that is not such a
    proxy. gunicorn does not do this itself. Addresses a client writes into the header before the
    proxies' own are never believed: only what the trusted proxies appended counts.
    """
    peer = request.META.get("REMOTE_ADDR") or "unknown"
    trusted = settings.FORWARDED_ALLOW_IPS
    if peer not in trusted:
        return peer
    forwarded = [hop.strip() for hop in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if hop.strip()]
    for hop in reversed(forwarded):
        if hop not in trusted:
            return hop
    return peer


def spend_for_anonymous(request, store=None) -> RateLimitState:
    """Requests without a valid credential are counted per client IP, with the same limit."""
    return spend(Budget(f"ip:{client_ip(request)}", settings.RATE_LIMIT_PER_MINUTE), store=store)


def rate_limited(state: RateLimitState) -> Problem:
    return Problem(
        f"Too many requests: the limit is {state.limit} a minute. Retry after the Retry-After seconds.",
        status=429,
        code="rate_limited",
        headers=state.headers(),
    )
