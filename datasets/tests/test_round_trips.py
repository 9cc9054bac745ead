"""Export then import gives back every trace the API accepts, field by field, in each format that
``import_traces`` reads (``trace`` and ``chat``, as JSONL and as Parquet), on SQLite and PostgreSQL."""

from __future__ import annotations

import io
import json
import tempfile
import uuid
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rest_framework.test import APIClient

from datasets.services import dataset_export_lines, dataset_export_parquet
from datasets.tests.factories import build
from traces.models import Trace
from tunix_rt.validation import INT64_MAX, INT64_MIN

pytestmark = pytest.mark.django_db

RESERVED = ("trace_version", "created_at", "format", "steps", "meta", "source_trace_id", "system_prompt", "source")
# Text a database and a renderer can hold (no NUL, no lone surrogate), with the fragments that broke
# heuristics before: numbered lines, the chat tags, line ends, non-ASCII, whitespace at the edges.
CHARS = st.characters(exclude_categories=["Cs"], exclude_characters="\x00")
FRAGMENTS = st.sampled_from(
    ["\n", "2. x", "\n2. ", "1. ", "</reasoning>", "<answer>", "</answer>\n", "\r\n", " ", "é", "😀", "Answer:", "Ω"]
)
TEXT = st.lists(st.one_of(FRAGMENTS, st.text(CHARS, min_size=1, max_size=8)), min_size=1, max_size=5).map("".join)
KEYS = st.one_of(st.sampled_from(RESERVED), st.text(CHARS, max_size=6))
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(INT64_MIN, INT64_MAX),
    st.sampled_from([INT64_MIN, INT64_MAX, 0]),
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from([1e20, -1e16, 1e300, 5e-324, 1.5, 2.0**63, 9007199254740993.0]),
    st.text(CHARS, max_size=8),
)
JSON = st.recursive(
    SCALARS,
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(KEYS, inner, max_size=3)),
    max_leaves=8,
)
META = st.one_of(st.none(), st.just({}), st.dictionaries(KEYS, JSON, max_size=5))


def with_string_source(meta: dict[str, Any] | None) -> dict[str, Any] | None:
    """The API takes ``meta.source`` only as a string (it is indexed)."""
    if meta is not None and not isinstance(meta.get("source", ""), str):
        return {**meta, "source": json.dumps(meta["source"])[:255]}
    return meta


@st.composite
def traces(draw: st.DrawFn) -> dict[str, Any]:
    indices = draw(st.lists(st.integers(0, INT64_MAX), min_size=1, max_size=4, unique=True))
    return {
        "trace_version": draw(st.one_of(st.sampled_from(["1.0", "9.9"]), st.text(CHARS, min_size=1, max_size=6))),
        "prompt": draw(TEXT),
        "final_answer": draw(TEXT),
        "steps": [
            {"i": i, "type": draw(st.text(CHARS, min_size=1, max_size=6)), "content": draw(TEXT)} for i in indices
        ],
        "meta": draw(META.map(with_string_source)),
    }


def same(a: Any, b: Any) -> bool:
    """Equal, and of the same JSON type at every depth (``1e20`` is not ``100000000000000000000``)."""
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    return type(a) is type(b) and a == b


def fields(trace: Trace) -> dict[str, Any]:
    return {
        "trace_version": trace.trace_version,
        "prompt": trace.prompt,
        "final_answer": trace.final_answer,
        "steps": [{"i": s["i"], "type": s["type"], "content": s["content"]} for s in trace.steps],
        "meta": trace.meta,
    }


def export_file(fmt: str, container: str, folder: Path, ids: list[uuid.UUID]) -> Path:
    dataset = build(name=f"rt-{uuid.uuid4().hex[:12]}", version="1", trace_ids=ids, limit=len(ids))
    path = folder / f"{fmt}.{container}"
    if container == "parquet":
        dataset_export_parquet(dataset=dataset, fmt=fmt, path=path)
    else:
        path.write_text("".join(dataset_export_lines(dataset=dataset, fmt=fmt)), encoding="utf-8")
    return path


IMPORT_FORMAT = {("trace", "jsonl"): "jsonl", ("chat", "jsonl"): "chat"}


@pytest.mark.parametrize(
    ("fmt", "container"), [("trace", "jsonl"), ("trace", "parquet"), ("chat", "jsonl"), ("chat", "parquet")]
)
@settings(
    max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)
@given(batch=st.lists(traces(), min_size=1, max_size=3))
def test_export_then_import_gives_back_every_field(
    api_client: APIClient, fmt: str, container: str, batch: list[dict[str, Any]]
) -> None:
    response = api_client.post("/api/traces/batch", batch, format="json")
    assert response.status_code == 201, response.content
    ids = [uuid.UUID(item["id"]) for item in response.json()["traces"]]
    stored = {trace.id: trace for trace in Trace.objects.filter(id__in=ids)}
    for sent, pk in zip(batch, ids, strict=True):
        assert same(fields(stored[pk]), sent), "the database gives back what the API accepted"
    with tempfile.TemporaryDirectory() as folder:
        path = export_file(fmt, container, Path(folder), ids)
        out = io.StringIO()
        call_command(
            "import_traces", str(path), "--format", IMPORT_FORMAT.get((fmt, container), "parquet"),
            stdout=out, stderr=io.StringIO(),
        )  # fmt: skip
    assert f"Imported {len(batch)} trace(s)" in out.getvalue()
    pool = [fields(trace) for trace in Trace.objects.exclude(id__in=ids)]
    assert len(pool) == len(batch)
    for sent in batch:
        match = next((n for n, got in enumerate(pool) if same(got, sent)), None)
        assert match is not None, (sent, pool)
        pool.pop(match)
    Trace.objects.all().delete()
