from __future__ import annotations

import uuid

import pytest

from traces import selectors, services
from traces.tests.factories import TraceFactory
from tunix_rt.errors import NotFound

pytestmark = pytest.mark.django_db


def test_trace_get_missing_and_malformed_are_not_found() -> None:
    with pytest.raises(NotFound):
        selectors.trace_get(trace_id=uuid.uuid4())
    with pytest.raises(NotFound):
        selectors.trace_get(trace_id="zzz")


def test_admin_queryset_annotates_latest_baseline() -> None:
    trace = TraceFactory.create()
    services.trace_score(trace=trace)
    services.traces_score(traces=selectors.traces_with_status(), criteria="baseline")
    row = selectors.traces_for_admin().get(id=trace.id)
    assert row.latest_baseline == services.trace_compute_score(trace=trace)[0]  # type: ignore[attr-defined]


def test_traces_with_status() -> None:
    TraceFactory.create(status="approved")
    TraceFactory.create()
    assert selectors.traces_with_status(status="approved").count() == 1
    assert selectors.traces_with_status().count() == 2


def test_compare_names_missing_base() -> None:
    with pytest.raises(NotFound, match="Base"):
        selectors.trace_compare(base_id=uuid.uuid4(), other_id=TraceFactory.create().id)
