"""The near-duplicate index: MinHash signatures and LSH band keys, written with every trace.

Writes (``trace_index_write``, ``traces_index_backfill``) and the reads that use the index
(``trace_similar``, ``trace_band_keys``, ``near_duplicate_groups``) live together because
they share one invariant: a trace's bands are exactly ``band_keys`` of its stored signature.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from functools import reduce
from operator import or_
from typing import Any

from django.contrib.postgres.fields import ArrayField
from django.db import connection, models, transaction
from django.db.models import Case, Func, Q, QuerySet, Value, When

from traces import similarity
from traces.models import BAND_COLUMNS, Trace, TraceSignature
from tunix_rt.db.rows import Table, insert_rows

CANDIDATES_MAX = 1_000
KEYS_CHUNK = 2_000


def trace_index_rows(*, prompts: Mapping[uuid.UUID, str]) -> Table:
    """The signature rows (MinHash and band keys) of freshly created traces (id → prompt), as an
    ``insert_rows`` table."""
    matrix = similarity.signature_matrix(list(prompts.values()))
    keys = similarity.band_key_matrix(matrix).tolist()
    signatures = matrix.astype("<u4")
    rows = [(pk, signatures[n].tobytes(), *keys[n]) for n, pk in enumerate(prompts)]
    return TraceSignature, ("trace", "minhash", *BAND_COLUMNS), rows


def trace_index_write(*, prompts: Mapping[uuid.UUID, str]) -> None:
    """Stores the signatures and band keys of freshly created traces (id → prompt) in ONE statement
    whatever their number (``insert_rows``: COPY on PostgreSQL).

    The caller owns the transaction (batch import, backfill), so a trace and its index row land
    together; a single create writes ``trace_index_rows`` in its own one statement.
    """
    if prompts:
        trace_index_insert(trace_index_rows(prompts=prompts))


def trace_index_insert(table: Table) -> None:
    """Stores rows made by ``trace_index_rows`` in one statement, in the caller's transaction."""
    model, columns, rows = table
    if rows:
        insert_rows(model, columns, rows)


def traces_index_backfill(
    *, rebuild: bool = False, chunk_size: int = 1_000, on_chunk: Callable[[int], None] | None = None
) -> int:
    """Indexes every trace that has no signature yet (all of them with ``rebuild``), one transaction per chunk.

    Safe to interrupt and run again: a chunk is indexed whole or not at all.
    """
    if rebuild:
        with transaction.atomic():
            TraceSignature.objects.all().delete()
    done = 0
    while True:
        with transaction.atomic():
            chunk = list(Trace.objects.filter(signature__isnull=True).order_by("pk").only("id", "prompt")[:chunk_size])
            if not chunk:
                return done
            trace_index_write(prompts={t.pk: t.prompt for t in chunk})
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

    Two indexed queries: the trace's signature, then the signatures of the candidates sharing a
    band key (one index per band; at most ``CANDIDATES_MAX``, those sharing the most bands first).
    """
    signature = _signature_of(trace)
    keys = dict(zip(BAND_COLUMNS, similarity.band_keys(signature), strict=True))
    shared = sum(
        (Case(When(**{name: key}, then=Value(1)), default=Value(0)) for name, key in keys.items()),
        start=Value(0),
    )
    rows = (
        _sharing_a_band(list(keys.values()))
        .exclude(trace_id=trace.pk)
        .annotate(shared=shared)
        .order_by("-shared", "trace_id")
        .values_list("trace_id", "minhash")[:CANDIDATES_MAX]
    )
    found = [Similar(id=pk, similarity=similarity.similarity(signature, _bytes(m))) for pk, m in rows]
    found = [s for s in found if s.similarity >= threshold]
    found.sort(key=lambda s: (-s.similarity, str(s.id)))
    return found[:limit]


class _BandArray(Func):
    """``ARRAY[band_0, …, band_15]``: the expression PostgreSQL's GIN band index is built on."""

    template = "ARRAY[%(expressions)s]"
    output_field = ArrayField(models.BigIntegerField())


def _sharing_a_band(keys: list[int]) -> QuerySet[TraceSignature]:
    """Signatures with at least one of ``keys`` in its band: an overlap on PostgreSQL's GIN index,
    one equality per band (each with its B-tree) elsewhere."""
    if connection.vendor == "postgresql":
        # The keys as ONE typed bigint[] value: a plain list would become ``ARRAY[%s, …]`` of
        # Django ``Value``s typed ``int4``, which server-side binding sends truncated.
        typed = Value(keys, output_field=ArrayField(models.BigIntegerField()))
        return TraceSignature.objects.alias(bands=_BandArray(*BAND_COLUMNS)).filter(bands__overlap=typed)
    return TraceSignature.objects.filter(
        reduce(or_, (Q(**{name: key}) for name, key in zip(BAND_COLUMNS, keys, strict=True)))
    )


def trace_band_keys(*, trace_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, list[int]]:
    """Band keys per trace id (one query per 2,000 ids); traces not indexed yet are absent.

    Two traces sharing any key are near-duplicate candidates; ``near_duplicate_groups`` joins them.
    """
    ids = list(trace_ids)
    keys: dict[uuid.UUID, list[int]] = {}
    for start in range(0, len(ids), KEYS_CHUNK):
        rows = TraceSignature.objects.filter(trace_id__in=ids[start : start + KEYS_CHUNK]).order_by()
        for trace_id, *bands in rows.values_list("trace_id", *BAND_COLUMNS):
            keys[trace_id] = [key for key in bands if key is not None]
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
