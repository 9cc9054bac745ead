"""Safe retries: the first response to an ``Idempotency-Key`` is kept for 24 hours.

A request claims its key in a committed row before it runs, so a second request with
the same key sees it at once (409 while it runs). The response is stored in the same
transaction as the request's own writes: either both are committed or neither is, so
a client whose connection died after the commit gets the stored response on retry
and nothing is written twice.
"""

from __future__ import annotations

import hashlib
import json
from datetime import timedelta
from typing import Any

from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.utils import timezone

from tunix_rt.errors import IdempotencyKeyInFlight, IdempotencyKeyReused
from tunix_rt.models import IdempotencyRecord

KEY_MAX_LENGTH = 255
TTL = timedelta(hours=24)
# A claim older than this with no response belonged to a process that died before it
# committed (gunicorn kills a request after 30 s), so nothing of it was stored.
ABANDONED_AFTER = timedelta(minutes=5)


def request_fingerprint(*, method: str, path: str, data: Any) -> str:
    """SHA-256 of the method, the path and the body as canonical JSON (key order and spacing do not count)."""
    canonical = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    digest = hashlib.sha256(f"{method.upper()} {path}\n".encode())
    digest.update(canonical.encode("utf-8", "surrogatepass"))
    return digest.hexdigest()


def _expired(record: IdempotencyRecord, now: Any) -> bool:
    if record.created_at <= now - TTL:
        return True
    return record.status_code is None and record.created_at <= now - ABANDONED_AFTER


def idempotency_claim(*, user: User, key: str, fingerprint: str) -> IdempotencyRecord:
    """The new in-flight record (committed), or the completed one to replay.

    Raises ``IdempotencyKeyReused`` (422) when the key was used with another body and
    ``IdempotencyKeyInFlight`` (409) while the first request with it still runs.
    """
    for _attempt in range(3):
        now = timezone.now()
        try:
            with transaction.atomic():
                return IdempotencyRecord.objects.create(user=user, key=key, fingerprint=fingerprint, created_at=now)
        except IntegrityError:
            pass
        existing = IdempotencyRecord.objects.filter(user=user, key=key).first()
        if existing is None:
            continue
        if _expired(existing, now):
            IdempotencyRecord.objects.filter(pk=existing.pk, created_at=existing.created_at).delete()
            continue
        if existing.fingerprint != fingerprint:
            raise IdempotencyKeyReused(
                "This Idempotency-Key was used with a different request; use a new key for a new request."
            )
        if existing.status_code is None:
            raise IdempotencyKeyInFlight("A request with this Idempotency-Key is still in progress; retry later.")
        return existing
    raise IdempotencyKeyInFlight("A request with this Idempotency-Key is still in progress; retry later.")


def idempotency_complete(*, record: IdempotencyRecord, status_code: int, body: str) -> None:
    """Stores the response; call it inside the transaction of the request's own writes."""
    record.status_code = status_code
    record.response_body = body
    record.save(update_fields=["status_code", "response_body"])


def idempotency_release(*, record: IdempotencyRecord) -> None:
    """Frees the key of a request that stored nothing (a server error), so a retry runs it again."""
    IdempotencyRecord.objects.filter(pk=record.pk, status_code__isnull=True).delete()


def idempotency_purge_expired() -> int:
    """Deletes records past their 24 hours; the worker runs this on a timer."""
    deleted, _ = IdempotencyRecord.objects.filter(created_at__lte=timezone.now() - TTL).delete()
    return deleted
