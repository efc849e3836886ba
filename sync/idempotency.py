"""``Idempotency-Key`` on sync requests: a retry gets the first answer, never a second write.

The first request's status and body are stored in the same transaction as its writes; a retry
with the same key and body replays them; the same key with another body is refused; the same key
while the first request still runs is refused. Keys are per company and live 24 hours.
"""

from __future__ import annotations

import zlib
from datetime import timedelta

from django.db import connection
from django.utils import timezone

from .models import IdempotencyRecord
from .refusals import IdempotencyKeyReused, RequestInProgress

LIFETIME = timedelta(hours=24)


def hold_key(*, company_id: int, key: str) -> None:
    """Take the per-(company, key) lock for this transaction; refused while another request holds it.

    PostgreSQL: a transaction-scoped advisory lock. SQLite serialises writers already (the second
    request waits for the first and then finds its stored answer).
    """
    if connection.vendor != "postgresql":
        return
    # The two-int form of the lock: (company, crc32 of the key), both as signed 32-bit values.
    key_hash = zlib.crc32(key.encode("utf-8")) - 2**31
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_xact_lock(%s::int, %s::int)", [company_id % 2**31, key_hash])
        (acquired,) = cursor.fetchone()
    if not acquired:
        raise RequestInProgress("A request with this Idempotency-Key is still running; retry when it has finished.")


def stored_answer(*, company_id: int, key: str, request_hash: str) -> IdempotencyRecord | None:
    record = IdempotencyRecord.objects.filter(company_id=company_id, key=key, expires_at__gt=timezone.now()).first()
    if record is not None and record.request_hash != request_hash:
        raise IdempotencyKeyReused("This Idempotency-Key was used for a different request; use a new key.")
    return record


def store_answer(*, company_id: int, key: str, request_hash: str, status_code: int, body) -> None:
    now = timezone.now()
    IdempotencyRecord.objects.filter(company_id=company_id, key=key).delete()  # an expired one, if any
    IdempotencyRecord.objects.create(
        company_id=company_id,
        key=key,
        request_hash=request_hash,
        status_code=status_code,
        content_type="application/json",
        response_body=body,
        created_at=now,
        expires_at=now + LIFETIME,
    )
