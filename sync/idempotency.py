"""``Idempotency-Key`` on sync requests (api.md §5.6).

The first request's status and body are stored in the same transaction as its writes; a retry
with the same key and body replays them; the same key with another body is 422; the same key
while the first request still runs is 409. Keys are per company.
"""

from __future__ import annotations

import zlib
from datetime import timedelta

from django.db import connection
from django.utils import timezone

from ractory.api.problems import BadRequest, Conflict, FieldError, ValidationFailed

from .models import IdempotencyRecord

HEADER = "HTTP_IDEMPOTENCY_KEY"
LIFETIME = timedelta(hours=24)


def idempotency_key(request) -> str | None:
    raw = request.META.get(HEADER)
    if raw is None:
        return None
    if not 1 <= len(raw) <= 255 or not all(" " <= character <= "~" for character in raw):
        raise BadRequest(
            "Idempotency-Key must be 1 to 255 printable ASCII characters.",
            code="invalid_idempotency_key",
            errors=[FieldError("/headers/Idempotency-Key", "invalid", "1 to 255 printable ASCII characters.")],
        )
    return raw


def hold_key(*, company_id: int, key: str) -> None:
    """Take the per-(company, key) lock for this transaction; 409 while another request holds it.

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
        raise Conflict(
            "A request with this Idempotency-Key is still running; retry when it has finished.",
            code="request_in_progress",
        )


def stored_answer(*, company_id: int, key: str, request_hash: str) -> IdempotencyRecord | None:
    record = IdempotencyRecord.objects.filter(company_id=company_id, key=key, expires_at__gt=timezone.now()).first()
    if record is not None and record.request_hash != request_hash:
        raise ValidationFailed(
            "This Idempotency-Key was used for a different request; use a new key.",
            code="idempotency_key_reused",
        )
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
