"""The near-duplicate index: MinHash signatures and LSH band keys, written with every trace.

Writes (``trace_index_write``, ``traces_index_backfill``) and the reads that use the index
(``trace_similar``, ``trace_band_keys``, ``near_duplicate_groups``) live together because
they share one invariant: a trace's bands are exactly ``band_keys`` of its stored signature.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from django.db import connection, transaction
from django.db.models import Count

from traces import similarity
from traces.models import Trace, TraceBand, TraceSignature

CANDIDATES_MAX = 1_000
KEYS_CHUNK = 2_000


def trace_index_write(*, traces: Sequence[Trace]) -> None:
    """Stores signatures and band keys of freshly created traces in two INSERTs whatever their number.

    The caller owns the transaction (batch import, create, backfill), so a trace and its index
    rows land together.
    """
    if not traces:
        return
    minhashes = similarity.signatures([t.prompt for t in traces])
    TraceSignature.objects.bulk_create(
        [TraceSignature(trace_id=t.pk, minhash=m) for t, m in zip(traces, minhashes, strict=True)],
        batch_size=len(traces),
    )
    _insert_bands([(t.pk, similarity.band_keys(m)) for t, m in zip(traces, minhashes, strict=True)])


PARAMS_MAX = 65_535  # PostgreSQL's limit of bound parameters per statement


def _insert_bands(rows: list[tuple[uuid.UUID, list[int]]]) -> None:
    """Plain multi-row INSERTs, as many rows per statement as the database's parameter limit allows.

    Sixteen rows per trace make model instances the main cost of ``bulk_create``; a batch of
    1,000 traces (32,000 parameters) is one statement on PostgreSQL and on SQLite 3.32+.
    """
    trace_field = TraceBand._meta.get_field("trace")
    params_max = min(connection.features.max_query_params or PARAMS_MAX, PARAMS_MAX)
    per_statement = max(1, params_max // 2)
    values: list[tuple[Any, int]] = []
    for pk, keys in rows:
        stored_pk = trace_field.get_db_prep_value(pk, connection)
        values += [(stored_pk, key) for key in keys]
    table = connection.ops.quote_name(TraceBand._meta.db_table)
    columns = f"{connection.ops.quote_name(trace_field.column)}, {connection.ops.quote_name('key')}"
    with connection.cursor() as cursor:
        for start in range(0, len(values), per_statement):
            chunk = values[start : start + per_statement]
            marks = ", ".join(["(%s, %s)"] * len(chunk))
            cursor.execute(
                f"INSERT INTO {table} ({columns}) VALUES {marks}",  # noqa: S608
                [param for row in chunk for param in row],
            )


def traces_index_backfill(
    *, rebuild: bool = False, chunk_size: int = 1_000, on_chunk: Callable[[int], None] | None = None
) -> int:
    """Indexes every trace that has no signature yet (all of them with ``rebuild``), one transaction per chunk.

    Safe to interrupt and run again: a chunk is indexed whole or not at all.
    """
    if rebuild:
        with transaction.atomic():
            TraceBand.objects.all().delete()
            TraceSignature.objects.all().delete()
    done = 0
    while True:
        with transaction.atomic():
            chunk = list(Trace.objects.filter(signature__isnull=True).order_by("pk").only("id", "prompt")[:chunk_size])
            if not chunk:
                return done
            trace_index_write(traces=chunk)
        done += len(chunk)
        if on_chunk is not None:
            on_chunk(done)


def _bytes(value: Any) -> bytes:
    return bytes(value)


def _signature_of(trace: Trace) -> bytes:
    stored = TraceSignature.objects.filter(trace_id=trace.pk).values_list("minhash", flat=True).first()
    return _bytes(stored) if stored is not None else similarity.signatures([trace.prompt])[0]


@dataclass(frozen=True)
class Similar:
    id: uuid.UUID
    similarity: float


def trace_similar(*, trace: Trace, threshold: float = 0.8, limit: int = 20) -> list[Similar]:
    """Traces whose prompt is at least ``threshold`` similar to this one's, most similar first; itself excluded.

    Three indexed queries: the trace's signature, the candidates sharing a band key (at most
    ``CANDIDATES_MAX``, those sharing the most bands first), and the candidates' signatures.
    """
    signature = _signature_of(trace)
    candidates = list(
        TraceBand.objects.filter(key__in=similarity.band_keys(signature))
        .exclude(trace_id=trace.pk)
        .values("trace_id")
        .annotate(shared=Count("id"))
        .order_by("-shared", "trace_id")
        .values_list("trace_id", flat=True)[:CANDIDATES_MAX]
    )
    rows = TraceSignature.objects.filter(trace_id__in=candidates).values_list("trace_id", "minhash")
    found = [Similar(id=pk, similarity=similarity.similarity(signature, _bytes(m))) for pk, m in rows]
    found = [s for s in found if s.similarity >= threshold]
    found.sort(key=lambda s: (-s.similarity, str(s.id)))
    return found[:limit]


def trace_band_keys(*, trace_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, list[int]]:
    """Band keys per trace id (one query per 2,000 ids); traces not indexed yet are absent.

    Two traces sharing any key are near-duplicate candidates; ``near_duplicate_groups`` joins them.
    """
    ids = list(trace_ids)
    keys: dict[uuid.UUID, list[int]] = {}
    for start in range(0, len(ids), KEYS_CHUNK):
        rows = TraceBand.objects.filter(trace_id__in=ids[start : start + KEYS_CHUNK]).values_list("trace_id", "key")
        for trace_id, key in rows.order_by():
            keys.setdefault(trace_id, []).append(key)
    return keys


def near_duplicate_groups(*, trace_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, uuid.UUID]:
    """Maps each given id to its group's smallest id, grouping traces that share a band key.

    Only the given traces are grouped (union-find in memory over ``trace_band_keys``); a trace
    with no index rows is a group of its own.
    """
    ids = list(trace_ids)
    parent = {pk: pk for pk in ids}

    def root(pk: uuid.UUID) -> uuid.UUID:
        while parent[pk] != pk:
            parent[pk] = parent[parent[pk]]
            pk = parent[pk]
        return pk

    owner: dict[int, uuid.UUID] = {}
    for pk, keys in trace_band_keys(trace_ids=ids).items():
        for key in keys:
            if key in owner:
                a, b = root(owner[key]), root(pk)
                if a != b:
                    parent[max(a, b)] = min(a, b)
            else:
                owner[key] = pk
    return {pk: root(pk) for pk in ids}
