from __future__ import annotations

from io import StringIO
from typing import Any

import numpy as np
import pytest
from datasketch import MinHash
from django.core.management import call_command

from traces import near_duplicates, similarity
from traces.models import BAND_COLUMNS, TraceSignature
from traces.services import trace_create, traces_import_batch
from traces.tests.factories import TraceFactory
from traces.tests.factories import make_payload as _payload

pytestmark = pytest.mark.django_db


def make_payload(n: int = 0, **overrides: Any) -> Any:
    """A valid trace payload, typed loosely for the services' ``TracePayload``."""
    return _payload(n, **overrides)


TEXT = "Sam reads 12 pages on Monday and 15 pages on Tuesday. How many pages did Sam read in the two days together?"


def test_signatures_and_band_keys_are_deterministic() -> None:
    (a,) = similarity.signatures([TEXT])
    assert len(a) == similarity.SIGNATURE_BYTES and similarity.signatures([TEXT]) == [a]
    keys = similarity.band_keys(a)
    assert len(keys) == similarity.BANDS and all(-(2**63) <= k < 2**63 for k in keys)
    assert similarity.similarity(a, a) == 1.0
    assert similarity.shingles("  AB  ") == [b"ab"]
    (b,) = similarity.signatures(["Completely different words about cooking rice in a pot."])
    assert similarity.similarity(a, b) < 0.2


def test_every_write_indexes_the_trace() -> None:
    one = trace_create(payload=make_payload(1, prompt=TEXT))
    batch = traces_import_batch(payloads=[make_payload(2), make_payload(3)])
    assert TraceSignature.objects.count() == 3
    assert all(None not in s.band_keys() for s in TraceSignature.objects.all())
    keys = near_duplicates.trace_band_keys(trace_ids=[one.id, batch[0].id])
    assert keys[one.id] and len(keys[one.id]) == similarity.BANDS and batch[1].id not in keys


def test_near_duplicate_groups_join_traces_sharing_a_band() -> None:
    a, b, c = traces_import_batch(
        payloads=[
            make_payload(1, prompt=TEXT),
            make_payload(2, prompt=TEXT.replace("Sam", "Kim")),
            make_payload(3, prompt="Name three rivers that flow through Germany and say where they rise."),
        ]
    )
    unindexed = TraceFactory.create()
    groups = near_duplicates.near_duplicate_groups(trace_ids=[a.id, b.id, c.id, unindexed.id])
    assert groups[a.id] == groups[b.id] == min(a.id, b.id)
    assert groups[c.id] == c.id and groups[unindexed.id] == unindexed.id


def test_similar_works_for_a_trace_not_indexed_yet() -> None:
    indexed = trace_create(payload=make_payload(1, prompt=TEXT))
    fresh = TraceFactory.create(prompt=TEXT)
    found = near_duplicates.trace_similar(trace=fresh, threshold=0.9)
    assert [(s.id, s.similarity) for s in found] == [(indexed.id, 1.0)]


def test_similar_is_a_fixed_number_of_queries(django_assert_num_queries: Any) -> None:
    base = trace_create(payload=make_payload(1, prompt=TEXT))
    traces_import_batch(payloads=[make_payload(n, prompt=TEXT + f" ({n})") for n in range(30)])
    with django_assert_num_queries(2):  # the trace's signature; the candidates' signatures by band
        assert len(near_duplicates.trace_similar(trace=base, threshold=0.5, limit=100)) == 30


def test_backfill_command_indexes_old_traces_and_rebuilds() -> None:
    TraceFactory.create_batch(3)
    trace_create(payload=make_payload(1))
    out = StringIO()
    call_command("index_near_duplicates", "--chunk-size", "2", stdout=out)
    assert "Indexed 3 trace(s)" in out.getvalue()
    assert TraceSignature.objects.count() == 4 and all(None not in s.band_keys() for s in TraceSignature.objects.all())
    out = StringIO()
    call_command("index_near_duplicates", "--rebuild", stdout=out)
    assert "Indexed 4 trace(s)" in out.getvalue() and TraceSignature.objects.count() == 4
    with pytest.raises(Exception, match="chunk-size"):
        call_command("index_near_duplicates", "--chunk-size", "0")


@pytest.mark.parametrize(
    "texts",
    [
        ["What is 2 + 3?", "A longer prompt about trains and apples.", "x"],
        # NumPy shingling (ASCII, longer than a shingle, enough of them) and set shingling mixed in
        # one batch, in several blocks: short, empty, non-ASCII, odd whitespace, a repeated 5-gram,
        # a huge text.
        [
            "What is 1234 + 5678?",
            "",
            "abcde",
            "abcdef",
            "Ünïcode prompt here",
            "  Mixed   CASE\tand\nspace ",
            "abab abab abab abab",
            "😀😀😀😀😀😀 emoji",
            "q" * 70_000,
            "What is 1234 + 5678?",
            "ab\x01cdefgh",
            *(f"What is {n} + {n * 7}?" for n in range(similarity.NUMPY_SHINGLING_MIN)),
        ],
        ["What is 2 + 3?"] * similarity.NUMPY_SHINGLING_MIN,
    ],
)
def test_signatures_equal_datasketch_drawing_its_own_permutations(texts: list[str]) -> None:
    drawn = MinHash.bulk([similarity.shingles(t) for t in texts], num_perm=128, seed=1, scheme="affine32")
    assert similarity.signatures(texts) == [np.asarray(m.hashvalues, dtype="<u4").tobytes() for m in drawn]


def test_each_band_key_sits_in_its_own_column() -> None:
    trace = trace_create(payload=make_payload(1))
    stored = TraceSignature.objects.get(trace=trace)
    assert len(BAND_COLUMNS) == similarity.BANDS
    assert stored.band_keys() == similarity.band_keys(bytes(stored.minhash))
