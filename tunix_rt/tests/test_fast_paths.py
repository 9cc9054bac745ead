"""The core's fast paths (JSON parsing and rendering, row inserts, pages) against their careful twins."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.db import connection
from psycopg.pq import Format
from rest_framework.renderers import JSONRenderer

from datasets.models import DatasetItem
from datasets.tests.factories import DatasetFactory
from traces.models import BAND_COLUMNS, Score, Trace, TraceSignature
from traces.similarity import BANDS
from traces.tests.factories import TraceFactory
from tunix_rt.db.functions import UUIDText
from tunix_rt.db.reads import binary_results
from tunix_rt.db.rows import _copy_plan, insert_rows
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
def test_insert_rows_takes_a_generator_with_its_count(django_assert_num_queries: Any) -> None:
    columns = ("created_at", "actor", "actor_name", "action", "object_type", "object_id", "changes")
    now = datetime(2026, 12, 4, tzinfo=UTC)
    made: list[int] = []

    def rows() -> Iterator[tuple[Any, ...]]:
        for n in range(30):
            made.append(n)
            yield (now, None, "", "create", "trace", f"gen-{n}", {"n": n})

    with django_assert_num_queries(1):
        insert_rows(AuditEntry, columns, rows(), count=30)
    insert_rows(AuditEntry, columns, ((now, None, "", "create", "trace", f"plain-{n}", None) for n in range(3)))
    assert made == list(range(30))
    assert AuditEntry.objects.filter(object_id__startswith="gen-").count() == 30
    assert AuditEntry.objects.get(object_id="gen-29").changes == {"n": 29}
    assert AuditEntry.objects.filter(object_id__startswith="plain-").count() == 3


@pytest.mark.django_db
def test_insert_rows_writes_bytes_big_integers_and_uuids_given_as_text() -> None:
    trace = TraceFactory.create()
    signature = bytes(range(256)) * 2
    bands = tuple(2**63 - 1 - n if n % 2 else -(2**63) + n for n in range(BANDS))
    insert_rows(TraceSignature, ("trace", "minhash", *BAND_COLUMNS), [(str(trace.pk), signature, *bands)])
    stored = TraceSignature.objects.get(trace=trace)
    assert bytes(stored.minhash) == signature
    assert tuple(getattr(stored, column) for column in BAND_COLUMNS) == bands
    ids = [uuid.uuid4() for _ in range(25)]
    dataset = DatasetFactory.create()
    insert_rows(
        DatasetItem,
        ("dataset", "trace_id", "position", "split"),
        [(dataset.pk, str(pk), n, "") for n, pk in enumerate(ids)],
    )
    assert (
        list(DatasetItem.objects.filter(dataset=dataset).order_by("position").values_list("trace_id", flat=True)) == ids
    )


@pytest.mark.skipif(connection.vendor != "postgresql", reason="COPY runs on PostgreSQL only")
def test_copy_is_binary_only_where_every_column_type_is_listed() -> None:
    columns = ("trace", "criteria", "score", "details", "created_at")
    assert _copy_plan(Score, columns)[1] is None  # a float column: the text format
    assert _copy_plan(AuditEntry, ("created_at", "actor", "object_id", "changes"))[1] == [
        "timestamptz", "int4", "varchar", "jsonb",
    ]  # fmt: skip


@pytest.mark.django_db
def test_insert_rows_writes_a_table_copy_sends_as_text() -> None:
    trace, now = TraceFactory.create(), datetime(2026, 12, 4, tzinfo=UTC)
    rows = [(trace.pk, "c", n / 3, {"k": "tab\there"}, now) for n in range(25)]
    insert_rows(Score, ("trace", "criteria", "score", "details", "created_at"), rows)
    assert sorted(Score.objects.filter(trace=trace).values_list("score", flat=True)) == [n / 3 for n in range(25)]
    assert {tuple(d.items()) for d in Score.objects.filter(trace=trace).values_list("details", flat=True)} == {
        (("k", "tab\there"),)
    }


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


@pytest.mark.django_db
def test_uuid_text_reads_the_canonical_form_on_either_database() -> None:
    traces = [TraceFactory.create() for _ in range(3)]
    texts = Trace.objects.order_by("id").values_list(UUIDText("id"), flat=True)
    assert list(texts) == sorted(str(trace.pk) for trace in traces)


@pytest.mark.django_db
def test_binary_results_read_what_a_plain_cursor_reads(django_assert_num_queries: Any) -> None:
    """Binary on PostgreSQL when it binds parameters (a plain cursor otherwise); the same values either way."""
    moments = [datetime(2026, 11, 23, 23, 31, 0, 123456, tzinfo=UTC), datetime(1, 1, 1, 0, 0, 0, 1, tzinfo=UTC)]
    traces = [TraceFactory.create(created_at=at, prompt="é ✓ 𝛑", step_count=2**31 - 1) for at in moments]
    table = connection.ops.quote_name(Trace._meta.db_table)
    sql = f"SELECT id, created_at, prompt, step_count, source FROM {table} ORDER BY created_at"  # noqa: S608
    with connection.cursor() as cursor:
        cursor.execute(sql)
        plain = cursor.fetchall()
    with django_assert_num_queries(1), binary_results() as cursor:  # counted like any query
        cursor.execute(sql)
        rows = cursor.fetchall()
        binary = connection.vendor == "postgresql" and cursor.cursor.pgresult.fformat(0) == Format.BINARY
    # Binary needs parameters bound by the server (DATABASE_PREPARED_STATEMENTS, on by default).
    assert binary == (connection.settings_dict.get("OPTIONS", {}).get("server_side_binding") is True)
    assert rows == plain and len(rows) == len(traces)
    if connection.vendor == "postgresql":
        assert rows == list(
            Trace.objects.order_by("created_at").values_list("id", "created_at", "prompt", "step_count", "source")
        )
        assert all(row[1].tzinfo is UTC for row in rows)  # the ORM's own time zone object, so JSON writes "Z"
