"""Imports of any number of traces: batches of ``traces_import_batch`` in one transaction,
exact duplicates skipped on request (the import command and the admin's file import)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from django.db import transaction

from traces.services import clean_steps, trace_content_hash, traces_existing_hashes, traces_import_batch
from traces.types import TracePayload
from tunix_rt.audit import audit_operation


@dataclass(frozen=True)
class ImportSummary:
    created: int
    duplicates: int


@transaction.atomic
@audit_operation()
def traces_import_many(
    *,
    payloads: Iterable[TracePayload],
    skip_duplicates: bool = False,
    batch_size: int = 500,
    on_batch: Callable[[int], None] | None = None,
    actor: Any = None,
) -> ImportSummary:
    """Imports any number of traces in batches inside ONE transaction: all land or none.

    With ``skip_duplicates`` a trace whose ``content_hash`` is already stored, or
    appeared earlier in ``payloads``, is skipped; that costs one query per batch.
    """
    created = duplicates = 0
    seen: set[str] = set()
    batch: list[TracePayload] = []

    def flush() -> None:
        nonlocal created, duplicates, batch
        keep = batch
        if skip_duplicates:
            hashes = [_hash_of(p) for p in batch]
            stored = traces_existing_hashes(hashes=hashes)
            keep = []
            for payload, digest in zip(batch, hashes, strict=True):
                if digest in stored or digest in seen:
                    duplicates += 1
                    continue
                seen.add(digest)
                keep.append(payload)
        created += len(traces_import_batch(payloads=keep, actor=actor))
        batch = []
        if on_batch is not None:
            on_batch(created + duplicates)

    for payload in payloads:
        batch.append(payload)
        if len(batch) >= batch_size:
            flush()
    if batch:
        flush()
    return ImportSummary(created=created, duplicates=duplicates)


def _hash_of(payload: TracePayload) -> str:
    return trace_content_hash(
        prompt=payload["prompt"], steps=clean_steps(payload), final_answer=payload["final_answer"]
    )
