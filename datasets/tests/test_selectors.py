from __future__ import annotations

import uuid
from typing import Any

import pytest

from datasets import selectors
from datasets.tests.factories import DatasetItemFactory, aged_traces, build
from traces import selectors as trace_selectors
from traces.models import Trace
from tunix_rt.errors import NotFound

pytestmark = pytest.mark.django_db


def test_dataset_get_missing_is_not_found() -> None:
    with pytest.raises(NotFound, match="nope-1"):
        selectors.dataset_get(key="nope-1")


def test_iter_traces_in_manifest_order_one_query_per_chunk(django_assert_num_queries: Any) -> None:
    traces = aged_traces(7)
    dataset = build()
    Trace.objects.filter(id=traces[3].id).delete()
    with django_assert_num_queries(1 + 3):
        got = [t.id for t in selectors.dataset_iter_traces(dataset=dataset, chunk_size=3)]
    assert got == [t.id for t in reversed(traces) if t.id != traces[3].id]


def test_items_of_deleted_traces_only() -> None:
    item = DatasetItemFactory.create()
    assert selectors.dataset_trace_ids(dataset=item.dataset) == [item.trace_id]
    assert list(selectors.dataset_iter_traces(dataset=item.dataset)) == []


def test_trace_selection_is_sql_with_canonical_order() -> None:
    traces = aged_traces(3, meta={"source": "s", "k": [1, 2]})
    traces[1].tags.create(name="t")
    assert list(trace_selectors.trace_selection(filters={"k": [1, 2]}).values_list("id", flat=True)) == [
        t.id for t in reversed(traces)
    ]
    assert [t.id for t in trace_selectors.trace_selection(tags=["t"])] == [traces[1].id]
    assert list(trace_selectors.trace_selection(trace_ids=[uuid.uuid4()])) == []
    totals = trace_selectors.trace_size_totals(traces=Trace.objects.filter(id__in=[traces[0].id, traces[1].id]))
    chars = sum(len(t.prompt) + len(t.final_answer) + len("Think it through.") for t in traces[:2])
    assert totals == {"count": 2, "step_sum": 2, "low": 1, "high": 1, "chars": chars}


def test_diff_caps_the_id_lists_but_not_the_counts() -> None:
    traces = aged_traces(5)
    small = build(name="small", trace_ids=[traces[0].id])
    large = build(name="large")
    diff = selectors.dataset_diff(base=small, against=large, cap=2)
    newest_first = [str(t.id) for t in reversed(traces)]
    assert (diff["added_count"], diff["removed_count"], diff["common_count"]) == (4, 0, 1)
    assert diff["added"] == newest_first[:2] and diff["removed"] == []
