"""One number policy: what the API accepts, the database keeps and every export writes back as the same
JSON number of the same type, on SQLite and PostgreSQL; and every door refuses the same numbers."""

from __future__ import annotations

import io
import json
import uuid
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rest_framework.test import APIClient

from datasets.formats import format_names
from datasets.services import dataset_export_lines
from datasets.tests.factories import build, golden_trace
from traces.importers.chat import parse_line
from traces.models import Trace
from tunix_rt.validation import INT64_MAX, INT64_MIN

pytestmark = pytest.mark.django_db

NUMBERS = st.one_of(
    st.floats(allow_nan=False, allow_infinity=False),
    st.integers(INT64_MIN, INT64_MAX),
    st.sampled_from([1e20, 1e16, -1e300, 5e-324, 2.0**63, float(INT64_MAX), INT64_MAX, INT64_MIN, 0.0, 3.0]),
)
BODY = {"trace_version": "1.0", "prompt": "p", "final_answer": "a", "steps": [{"i": 0, "type": "t", "content": "c"}]}


def same(a: Any, b: Any) -> bool:
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    return type(a) is type(b) and a == b


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(numbers=st.lists(NUMBERS, min_size=1, max_size=6))
def test_numbers_come_back_as_sent_through_the_database_every_export_and_an_import(
    api_client: APIClient, numbers: list[Any]
) -> None:
    meta = {"n": numbers, "first": numbers[0], "deep": {"x": [numbers[-1]]}}
    response = api_client.post("/api/traces", {**BODY, "meta": meta}, format="json")
    assert response.status_code == 201, response.content
    trace_id = response.json()["id"]
    assert same(Trace.objects.get(id=trace_id).meta, meta)
    assert same(api_client.get(f"/api/traces/{trace_id}").json()["payload"]["meta"], meta)
    dataset = build(name=f"n-{uuid.uuid4().hex[:12]}", version="1", trace_ids=[uuid.UUID(trace_id)])
    for fmt in format_names():
        (line,) = dataset_export_lines(dataset=dataset, fmt=fmt)
        assert same(json.loads(json.loads(line)["metadata"]["meta"]), meta), fmt
    (chat,) = dataset_export_lines(dataset=dataset, fmt="chat")
    payload, error = parse_line(chat)
    assert error is None and payload is not None and same(payload["meta"], meta)
    Trace.objects.all().delete()


def test_a_batch_large_enough_for_copy_keeps_floats_floats(api_client: APIClient) -> None:
    meta = {"exp": 1e20, "edge": 1e16, "int": INT64_MAX, "neg": -2.5e18, "text": "e+1"}
    batch = [{**BODY, "prompt": f"p{n}", "meta": meta} for n in range(25)]
    response = api_client.post("/api/traces/batch", batch, format="json")
    assert response.status_code == 201, response.content
    assert len(metas := list(Trace.objects.values_list("meta", flat=True))) == 25
    assert all(same(stored, meta) for stored in metas)


def test_a_float_stored_as_an_integer_beyond_64_bits_reads_back_as_a_float(tmp_path: Path) -> None:
    """Rows written before large floats were stored as decimals hold ``1e20`` as ``100000000000000000000``."""
    trace = golden_trace(meta={"exp": 1.0})
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {Trace._meta.db_table} SET meta = %s WHERE id = %s",  # noqa: S608
            ['{"exp": 100000000000000000000, "ok": 9223372036854775807}', trace.id.hex],
        )
    stored = Trace.objects.get(id=trace.id).meta
    assert same(stored, {"exp": 1e20, "ok": INT64_MAX})
    (line,) = dataset_export_lines(dataset=build(), fmt="chat")
    assert r'"meta": "{\"exp\":1e+20,\"ok\":9223372036854775807}"' in line
    path = tmp_path / "chat.jsonl"
    path.write_text(line, encoding="utf-8")
    call_command("import_traces", str(path), "--format", "chat", stdout=io.StringIO(), stderr=io.StringIO())
    assert same(Trace.objects.exclude(id=trace.id).get().meta, {"exp": 1e20, "ok": INT64_MAX})


@pytest.mark.parametrize(
    ("literal", "message"),
    [
        ("18446744073709551616", "meta.n is an integer outside the signed 64-bit range"),
        ("-9223372036854775809", "meta.n is an integer outside the signed 64-bit range"),
        ("1e999", "meta.n is not a finite number"),
        ("NaN", "meta.n is not a finite number"),
    ],
)
def test_every_door_refuses_the_same_numbers(api_client: APIClient, tmp_path: Path, literal: str, message: str) -> None:
    body = json.dumps({**BODY, "meta": {"n": 0}}).replace('"n": 0', f'"n": {literal}')
    response = api_client.post("/api/traces", body, content_type="application/json")
    assert response.status_code == 400 and message in json.dumps(response.json())
    text = json.dumps({"n": 0}, separators=(",", ":")).replace('"n":0', f'"n":{literal}')
    line = json.dumps(
        {
            "messages": [
                {"role": "user", "content": "p"},
                {"role": "assistant", "content": "<reasoning>1. c</reasoning>\n<answer>a</answer>"},
            ],
            "metadata": {"trace_version": "1.0", "steps": [{"i": 0, "type": "t", "chars": 1}], "meta": text},
        }
    )
    path = tmp_path / "in.jsonl"
    for fmt, content in (("jsonl", body), ("chat", line)):
        path.write_text(content + "\n", encoding="utf-8")
        err = io.StringIO()
        with pytest.raises(CommandError, match="nothing was imported"):
            call_command("import_traces", str(path), "--format", fmt, stdout=io.StringIO(), stderr=err)
        assert "line 1: " in err.getvalue() and "meta" in err.getvalue()
    assert Trace.objects.count() == 0
