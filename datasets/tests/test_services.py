from __future__ import annotations

import datetime as dt
import json
import uuid
from typing import Any

import pytest
from django.conf import settings
from django.db import connection

from datasets import selectors
from datasets.models import Dataset
from datasets.services import dataset_build, dataset_stats
from datasets.tests.factories import aged_traces, build
from traces.models import Trace
from traces.tests.factories import TraceFactory
from tunix_rt.errors import Conflict, InvalidInput

pytestmark = pytest.mark.django_db


def test_filter_matching_only_old_traces_still_selects_them() -> None:
    """The replaced system fetched the newest limit x 10 rows and filtered in Python: this was empty."""
    old = aged_traces(3, meta={"source": "gold", "split": "train"})
    aged_traces(60, start=dt.datetime(2025, 6, 1, tzinfo=dt.UTC), meta={"source": "noise"})
    dataset = build(filters={"split": "train"}, limit=2)
    assert dataset.trace_count == 2
    assert selectors.dataset_trace_ids(dataset=dataset) == [old[2].id, old[1].id]


def test_every_filter_must_match_with_json_value_equality() -> None:
    match = TraceFactory.create(meta={"source": "a", "level": 2, "ok": True})
    TraceFactory.create(meta={"source": "a", "level": "2", "ok": True})
    TraceFactory.create(meta={"source": "b", "level": 2, "ok": True})
    dataset = build(filters={"source": "a", "level": 2})
    assert selectors.dataset_trace_ids(dataset=dataset) == [match.id]


def test_nested_filter_paths_status_and_tags() -> None:
    wanted = TraceFactory.create(meta={"game": {"name": "duel"}}, status="approved")
    wanted.tags.create(name="gold")
    wanted.tags.create(name="short")
    half = TraceFactory.create(meta={"game": {"name": "duel"}}, status="approved")
    half.tags.add(*wanted.tags.filter(name="gold"))
    TraceFactory.create(meta={"game": {"name": "duel"}}, status="pending")
    dataset = build(filters={"game__name": "duel"}, status="approved", tags=["gold", "short"])
    assert selectors.dataset_trace_ids(dataset=dataset) == [wanted.id]
    manifest = selectors.dataset_manifest(dataset=dataset)
    assert (manifest["status"], manifest["tags"]) == ("approved", ["gold", "short"])


def test_latest_is_newest_first_with_id_tie_break() -> None:
    when = dt.datetime(2025, 3, 1, tzinfo=dt.UTC)
    same = [TraceFactory.create(created_at=when, id=uuid.UUID(int=n)) for n in (5, 9, 7)]
    newer = TraceFactory.create(created_at=when + dt.timedelta(seconds=1))
    dataset = build(limit=3)
    assert selectors.dataset_trace_ids(dataset=dataset) == [newer.id, same[1].id, same[2].id]


def test_random_is_seeded_and_independent_of_the_database() -> None:
    for n in range(20):
        TraceFactory.create(id=uuid.UUID(int=n + 1), created_at=dt.datetime(2025, 1, 1, tzinfo=dt.UTC))
    first = build(version="1", strategy="random", seed=7, limit=5)
    again = build(version="2", strategy="random", seed=7, limit=5)
    other = build(version="3", strategy="random", seed=8, limit=5)
    ids = selectors.dataset_trace_ids(dataset=first)
    assert ids == selectors.dataset_trace_ids(dataset=again)
    assert ids != selectors.dataset_trace_ids(dataset=other)
    # Written out: the same on SQLite and PostgreSQL (rank = sha256("7:<id>"), kept in canonical order).
    assert [i.int for i in ids] == [20, 10, 7, 4, 3]


def test_random_without_seed_is_invalid() -> None:
    TraceFactory.create()
    with pytest.raises(InvalidInput) as caught:
        build(strategy="random")
    assert caught.value.field == "seed"


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"name": "bad name"}, "dataset_name"),
        ({"name": ""}, "dataset_name"),
        ({"version": "1/0"}, "dataset_version"),
        ({"limit": 0}, "limit"),
        ({"limit": 10_001}, "limit"),
        ({"strategy": "best"}, "selection_strategy"),
        ({"status": "maybe"}, "status"),
        ({"filters": {"": 1}}, "filters"),
        ({"parent_dataset_key": "nope-1"}, "parent_dataset_id"),
        ({"filters": {"a": 1}, "trace_ids": [uuid.UUID("0b9e2c54-0d5e-4b0a-8f61-3a7c2d1e9f08")]}, "trace_ids"),
    ],
)
def test_invalid_requests_name_their_field(kwargs: dict[str, Any], field: str) -> None:
    TraceFactory.create(meta={"a": 1})
    with pytest.raises(InvalidInput) as caught:
        build(**kwargs)
    assert caught.value.field == field
    assert Dataset.objects.count() == 0


def test_unknown_trace_ids_are_named() -> None:
    known = TraceFactory.create()
    missing = uuid.UUID(int=42)
    with pytest.raises(InvalidInput, match=str(missing)) as caught:
        build(trace_ids=[known.id, missing])
    assert caught.value.field == "trace_ids"


def test_explicit_trace_ids_in_canonical_order_without_duplicates() -> None:
    traces = aged_traces(4)
    dataset = build(trace_ids=[traces[0].id, traces[2].id, traces[0].id], limit=10)
    assert selectors.dataset_trace_ids(dataset=dataset) == [traces[2].id, traces[0].id]
    assert selectors.dataset_manifest(dataset=dataset)["explicit_trace_ids"] is True


def test_existing_key_is_conflict_and_empty_selection_is_invalid() -> None:
    TraceFactory.create()
    build()
    with pytest.raises(Conflict):
        build()
    with pytest.raises(InvalidInput, match="No traces match"):
        build(version="2", filters={"source": "nowhere"})


def test_stats_cover_steps_and_all_characters() -> None:
    TraceFactory.create(prompt="abc", final_answer="de", steps=[{"i": 0, "type": "t", "content": "xyz"}])
    TraceFactory.create(
        prompt="a",
        final_answer="b",
        steps=[
            {"i": 0, "type": "t", "content": "1234"},
            {"i": 1, "type": "t", "content": "56"},
            {"i": 2, "type": "t", "content": "é"},
        ],
    )
    dataset = build()
    expected = {
        "trace_count": 2,
        "avg_step_count": 2.0,
        "min_step_count": 1,
        "max_step_count": 3,
        "avg_total_chars": 8.5,
    }
    assert dataset.stats == expected
    assert Dataset.objects.get().stats == expected
    assert dataset_stats(trace_ids=[]) == {
        "trace_count": 0,
        "avg_step_count": 0.0,
        "min_step_count": 0,
        "max_step_count": 0,
        "avg_total_chars": 0.0,
    }


def test_stats_cover_only_the_selected_traces_and_match_the_written_members(
    django_assert_num_queries: Any,
) -> None:
    """The newest-first build sums its members as it writes them (one statement on PostgreSQL)."""
    start = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
    for n, steps in enumerate((1, 4, 2, 3)):
        TraceFactory.create(
            created_at=start + dt.timedelta(minutes=n),
            prompt="p" * (n + 1),
            final_answer="a",
            steps=[{"i": i, "type": "t", "content": "xy"} for i in range(steps)],
            meta={"pick": n != 3},
        )
    TraceFactory.create(created_at=start, meta={"pick": False})
    # The build's savepoint and release (inside the test's transaction), exists, the dataset with its
    # own savepoint and release, the members (their sums apart, off PostgreSQL), update, audit.
    with django_assert_num_queries(9 if connection.vendor == "postgresql" else 10):
        dataset = build(filters={"pick": True}, limit=2)
    assert dataset.trace_count == 2
    assert dataset.stats == {
        "trace_count": 2,
        "avg_step_count": 3.0,
        "min_step_count": 2,
        "max_step_count": 4,
        "avg_total_chars": 9.5,
    }
    assert Dataset.objects.get(pk=dataset.pk).stats == dataset.stats
    assert [type(value) for value in dataset.stats.values()] == [int, float, int, int, float]  # no Decimal from SUM
    assert dataset_stats(trace_ids=selectors.dataset_trace_ids(dataset=dataset)) == dataset.stats


def test_manifest_file_is_written_on_commit(django_capture_on_commit_callbacks: Any) -> None:
    traces = aged_traces(2)
    with django_capture_on_commit_callbacks(execute=True):
        parent = build(name="base")
    with django_capture_on_commit_callbacks(execute=True):
        dataset = build(
            name="child",
            version="2.0",
            limit=1,
            session_id="s-1",
            parent_dataset_key=parent.key,
            training_run_id="run-9",
        )
    path = settings.ARTIFACTS_DIR / "datasets" / "child-2.0" / "manifest.json"
    manifest = json.loads(path.read_text(encoding="utf-8"))
    assert manifest == {
        "dataset_key": "child-2.0",
        "build_id": str(dataset.build_id),
        "dataset_name": "child",
        "dataset_version": "2.0",
        "dataset_schema_version": "1.0",
        "created_at": dataset.created_at.isoformat().replace("+00:00", "Z"),
        "filters": {},
        "selection_strategy": "latest",
        "seed": None,
        "limit": 1,
        "status": None,
        "tags": [],
        "explicit_trace_ids": False,
        "trace_ids": [str(traces[1].id)],
        "trace_count": 1,
        "stats": dataset.stats,
        "session_id": "s-1",
        "parent_dataset_id": "base-1.0",
        "training_run_id": "run-9",
    }
    assert not list(path.parent.glob(".*.tmp"))


def test_failed_build_leaves_no_rows_and_no_file(
    monkeypatch: pytest.MonkeyPatch, django_capture_on_commit_callbacks: Any
) -> None:
    TraceFactory.create()

    def explode(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr("datasets.services.members.insert_rows", explode)
    monkeypatch.setattr("datasets.services.members.members_insert_newest", explode)
    with django_capture_on_commit_callbacks(execute=True) as callbacks, pytest.raises(RuntimeError):
        build(name="broken")
    assert callbacks == []
    assert Dataset.objects.count() == 0
    assert not (settings.ARTIFACTS_DIR / "datasets" / "broken-1.0").exists()


def test_items_keep_trace_ids_after_the_trace_is_deleted() -> None:
    traces = aged_traces(3)
    dataset = build()
    Trace.objects.filter(id=traces[1].id).delete()
    assert selectors.dataset_trace_ids(dataset=dataset) == [t.id for t in reversed(traces)]
    assert [t.id for t in selectors.dataset_iter_traces(dataset=dataset)] == [traces[2].id, traces[0].id]


def test_service_is_what_other_apps_call() -> None:
    TraceFactory.create()
    dataset = dataset_build(
        name="x",
        version="1",
        filters={},
        limit=1,
        strategy="latest",
        seed=None,
        session_id=None,
        parent_dataset_key=None,
        training_run_id=None,
        status=None,
        tags=[],
        trace_ids=None,
    )
    assert selectors.dataset_get(key="x-1") == dataset


def test_latest_build_copies_members_in_the_database_newest_first_with_id_ties() -> None:
    from traces.services import traces_import_batch
    from traces.tests.factories import make_payload

    stored = traces_import_batch(payloads=[make_payload(n) for n in range(6)])  # type: ignore[misc]
    expected = [t.id for t in sorted(stored, key=lambda t: (t.created_at, t.id), reverse=True)][:4]
    dataset = dataset_build(name="ties", version="1", limit=4)
    assert dataset.trace_count == 4
    assert selectors.dataset_trace_ids(dataset=dataset) == expected
    assert dataset.stats["trace_count"] == 4
    with pytest.raises(InvalidInput):
        dataset_build(name="none", version="1", filters={"nothing": "matches"})
    assert not Dataset.objects.filter(name="none").exists()
