"""Values stored before the depth limit held: every reader copes with them and one command reports them."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import orjson
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client
from rest_framework.test import APIClient

from datasets.formats import format_names
from datasets.tests.factories import build
from traces.models import Trace
from traces.tests.factories import TraceFactory
from tunix_rt.stored_json import stored_json_too_deep, text_depth
from tunix_rt.validation import json_depth

pytestmark = pytest.mark.django_db

STORED_LEVELS = 900  # past what the recursive readers reached (canonical, the admin page, orjson at 255)


def nested(levels: int) -> Any:
    value: Any = "leaf"
    for n in range(levels):
        value = {"z": value, "a": n}
    return value


@pytest.fixture
def deep_trace() -> Trace:
    """A trace whose ``meta`` was stored 900 levels deep, as the API once allowed."""
    trace = TraceFactory.create(meta={"source": "old"})
    Trace.objects.filter(pk=trace.pk).update(meta=nested(STORED_LEVELS))
    return trace


def test_text_depth_measures_stored_text_of_any_depth() -> None:
    assert text_depth("1") == 0
    assert text_depth('{"a": [1]}') == 2
    assert text_depth("[" * 1_024 + "]" * 1_024) == 1_024
    assert text_depth("[" * 5_000 + "]" * 5_000) == 1_025


def test_the_command_reports_stored_values_past_the_limit_and_changes_nothing(deep_trace: Trace) -> None:
    TraceFactory.create(meta={"a": [[1]]})
    assert [(v.model, v.pk, v.field, v.depth) for v in stored_json_too_deep()] == [
        ("traces.Trace", deep_trace.pk, "meta", STORED_LEVELS)
    ]
    out = io.StringIO()
    with pytest.raises(CommandError, match="1 stored JSON value"):
        call_command("check_stored_json", stdout=out)
    assert out.getvalue() == f"traces.Trace {deep_trace.pk} meta: {STORED_LEVELS} levels\n"
    assert json_depth(Trace.objects.get(pk=deep_trace.pk).meta) == STORED_LEVELS


def test_the_command_says_so_when_nothing_is_past_the_limit() -> None:
    TraceFactory.create(meta={"a": [[1]]})
    out = io.StringIO()
    call_command("check_stored_json", stdout=out)
    assert "No stored JSON value nests deeper than 64 levels." in out.getvalue()


@pytest.mark.parametrize("fmt", format_names())
def test_a_dataset_holding_a_deep_trace_exports_in_every_format(
    api_client: APIClient, deep_trace: Trace, fmt: str
) -> None:
    TraceFactory.create()
    build(name="deep", version="1")
    response = api_client.get("/api/datasets/deep-1/export.jsonl", {"format": fmt})
    assert response.status_code == 200
    lines = b"".join(response.streaming_content).decode().splitlines()  # type: ignore[attr-defined]
    assert len(lines) == 2
    records = [orjson.loads(line) for line in lines]
    ids = {r.get("id") for r in records} | {r["metadata"].get("source_trace_id") for r in records}
    assert str(deep_trace.id) in ids


def test_the_export_command_writes_a_deep_trace_as_jsonl_and_parquet(deep_trace: Trace, tmp_path: Path) -> None:
    build(name="deep", version="1")
    out = io.StringIO()
    call_command("export_dataset", "deep-1", stdout=out, stderr=io.StringIO())
    assert len(out.getvalue().splitlines()) == 1
    target = tmp_path / "deep.parquet"
    call_command("export_dataset", "deep-1", f"--output={target}", stdout=io.StringIO(), stderr=io.StringIO())
    assert target.stat().st_size > 0


def test_the_api_and_the_admin_show_a_deep_trace(
    api_client: APIClient, admin_client: Client, deep_trace: Trace
) -> None:
    response = api_client.get(f"/api/traces/{deep_trace.id}")
    assert response.status_code == 200
    assert json_depth(orjson.loads(response.content)["payload"]["meta"]) == STORED_LEVELS
    assert api_client.get("/api/traces").status_code == 200
    page = admin_client.get(f"/admin/traces/trace/{deep_trace.id}/change/")
    assert page.status_code == 200
    assert page.content.count(b"&quot;z&quot;: {") == STORED_LEVELS - 1
