"""The core's fast paths (JSON parsing and rendering, row inserts, pages) against their careful twins."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from rest_framework.renderers import JSONRenderer

from tunix_rt.db.rows import insert_rows
from tunix_rt.models import AuditEntry
from tunix_rt.renderers import FastJSONRenderer
from tunix_rt.validation import load_json


@pytest.mark.parametrize(
    "data",
    [
        {"a": [1, 2.5, None, True], "é": "ünï", "n": -0.0},
        [{"id": uuid.UUID(int=7), "at": datetime(2026, 1, 2, 3, 4, 5, 6, tzinfo=UTC)}],
        {"at": datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC), "f": 1e16, "tiny": 5e-324},
        {"big": 2**70},  # beyond orjson: DRF's encoder writes it
        {1: "non-string key"},
    ],
)
def test_fast_renderer_writes_what_drf_writes(data: Any) -> None:
    fast, drf = FastJSONRenderer().render(data), JSONRenderer().render(data)
    assert json.loads(fast) == json.loads(drf)
    if "f" not in (data if isinstance(data, dict) else {}):
        assert fast == drf


def test_fast_renderer_indents_like_drf_when_asked() -> None:
    context = {"indent": 2}
    assert FastJSONRenderer().render({"a": 1}, renderer_context=context) == JSONRenderer().render(
        {"a": 1}, renderer_context=context
    )


@pytest.mark.parametrize(
    "text",
    [
        '{"a": [1, 2.5, "x"], "b": {"c": null}}',
        '{"n": 12345678901234567890}',
        '{"n": 1e999}',
        '{"n": NaN}',
        '{"s": "\\u0000"}',
        '{"s": "\\ud800"}',
        '{"s": "\\u00e9"}',
        '{"n": 123456789012345678}',
    ],
)
def test_load_json_takes_orjson_only_where_it_reads_the_same(text: str) -> None:
    document, problems = load_json(text)
    expected = json.loads(text)
    assert json.dumps(document, sort_keys=True) == json.dumps(expected, sort_keys=True)
    assert bool(problems) == (
        text in {'{"n": 12345678901234567890}', '{"n": 1e999}', '{"n": NaN}', '{"s": "\\u0000"}', '{"s": "\\ud800"}'}
    )


def test_load_json_still_refuses_what_is_not_json() -> None:
    with pytest.raises(ValueError):
        load_json('{"a": ')


@pytest.mark.django_db
@pytest.mark.parametrize("count", [1, 25])  # below and above COPY_MIN_ROWS: INSERT, then COPY on PostgreSQL
def test_insert_rows_stores_every_kind_of_value(count: int, django_assert_num_queries: Any) -> None:
    now = datetime(2026, 11, 23, 12, 0, 0, 123456, tzinfo=UTC)
    changes = [None, {"k": ["tab\there", "new\nline", "back\\slash", "ü"]}]
    rows = [(now, None, f"name {n}", "create", "trace", f"id-{n}", changes[n % 2]) for n in range(count)]
    with django_assert_num_queries(1):
        insert_rows(
            AuditEntry, ("created_at", "actor", "actor_name", "action", "object_type", "object_id", "changes"), rows
        )
    stored = list(AuditEntry.objects.order_by("object_id").values_list("created_at", "actor_name", "changes"))
    assert len(stored) == count
    assert all(at == now for at, _, _ in stored)
    by_name = {name: change for _, name, change in stored}
    assert by_name["name 0"] is None
    if count > 1:
        assert by_name["name 1"] == changes[1]


@pytest.mark.django_db
def test_timestamps_read_back_exactly_in_utc() -> None:
    moments = [
        datetime(2026, 11, 23, 23, 31, 0, 123456, tzinfo=UTC),
        datetime(2026, 11, 23, 23, 31, 0, tzinfo=UTC),
        datetime(1, 1, 1, 0, 0, 0, 1, tzinfo=UTC),
    ]
    insert_rows(
        AuditEntry,
        ("created_at", "actor", "actor_name", "action", "object_type", "object_id", "changes"),
        [(at, None, "", "create", "trace", str(n), None) for n, at in enumerate(moments)],
    )
    stored = list(AuditEntry.objects.order_by("object_id").values_list("created_at", flat=True))
    assert stored == moments
    assert all(value.utcoffset() == timedelta(0) for value in stored)
