"""The fast paths of the trace API give exactly what the DRF serializers they stand beside give."""

from __future__ import annotations

import copy
import json
import uuid
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rest_framework import serializers
from rest_framework.renderers import JSONRenderer

from traces import listing
from traces.models import Trace
from traces.serializers import (
    TraceBatchInputSerializer,
    TraceCreatedSerializer,
    TraceInputSerializer,
    TraceListItemSerializer,
    trace_created_items,
    trace_list_items,
)
from traces.serializers.fast import trace_fast
from traces.services import traces_import_batch
from traces.tests.factories import TraceFactory, make_payload
from tunix_rt.renderers import FastJSONRenderer


class DRFOnly(TraceInputSerializer):
    """The serializer without its fast path: what DRF alone makes of the input."""

    def run_validation(self, data: Any = serializers.empty) -> Any:
        return serializers.Serializer.run_validation(self, data)


def drf_outcome(data: Any) -> tuple[bool, Any]:
    checked = DRFOnly(data=copy.deepcopy(data))
    return (True, checked.validated_data) if checked.is_valid() else (False, checked.errors)


def assert_fast_agrees(data: Any) -> None:
    """The fast path may say "valid" only with DRF's exact result, and otherwise must step aside."""
    valid, outcome = drf_outcome(data)
    fast = trace_fast(TraceInputSerializer(), copy.deepcopy(data))
    if fast is not None:
        assert valid and json.loads(json.dumps(fast)) == json.loads(json.dumps(outcome))
    full = TraceInputSerializer(data=copy.deepcopy(data))
    assert full.is_valid() == valid
    assert (full.validated_data if valid else full.errors) == outcome


text = st.one_of(st.text(max_size=70), st.just(""), st.just("a\x00b"), st.just("\ud800"), st.integers(), st.none())
step = st.fixed_dictionaries(
    {
        "i": st.one_of(st.integers(-2, 3), st.booleans(), st.just(2**70), st.text(max_size=2)),
        "type": text,
        "content": text,
    }
)
trace_like = st.fixed_dictionaries(
    {"trace_version": text, "prompt": text, "final_answer": text},
    optional={
        "steps": st.one_of(st.lists(step, max_size=4), st.just("x"), st.just([])),
        "meta": st.one_of(st.none(), st.just([]), st.dictionaries(st.text(max_size=5), st.integers(), max_size=3)),
        "extra": st.integers(),
    },
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(trace_like)
def test_fast_validation_agrees_with_drf_on_any_input(data: dict[str, Any]) -> None:
    assert_fast_agrees(data)


@pytest.mark.parametrize(
    "data",
    [
        make_payload(1),
        make_payload(2, meta=None),
        {k: v for k, v in make_payload(3).items() if k != "meta"},
        make_payload(4, prompt="é" * 50_000),
        make_payload(5, prompt="x" * 50_001),
        make_payload(6, meta={"source": 7}),
        make_payload(7, meta={"source": "s", "deep": {"k\x00": 1}}),
        make_payload(8, steps=[{"i": 0, "type": "a", "content": "b"}, {"i": 0, "type": "a", "content": "c"}]),
        make_payload(9, steps=[{"i": True, "type": "a", "content": "b"}]),
        make_payload(10, trace_version=" "),
        ["not", "an", "object"],
    ],
)
def test_fast_validation_agrees_with_drf_on_edges(data: Any) -> None:
    assert_fast_agrees(data)


def render_both(fast: Any, drf: Any) -> tuple[bytes, bytes]:
    return FastJSONRenderer().render(fast), JSONRenderer().render(drf)


@pytest.mark.django_db
def test_list_items_render_as_the_serializer_would() -> None:
    tagged = TraceFactory.create(meta={"source": "søurce"})
    tagged.tags.create(name="b")
    tagged.tags.create(name="a")
    TraceFactory.create_batch(3)
    rows = list(listing.trace_list())
    with_tags = [
        {**row, "tags": sorted((row["tag_names"] or "").split(",")) if row["tag_names"] else []} for row in rows
    ]
    fast, drf = render_both(trace_list_items(rows), TraceListItemSerializer(with_tags, many=True).data)
    assert fast == drf
    assert ["a", "b"] in [item["tags"] for item in json.loads(fast)]


@pytest.mark.django_db
def test_created_items_render_as_the_serializer_would() -> None:
    traces = traces_import_batch(payloads=[make_payload(n) for n in range(3)])  # type: ignore[misc]
    fast, drf = render_both(trace_created_items(traces), TraceCreatedSerializer(traces, many=True).data)
    assert fast == drf


def test_a_batch_of_valid_items_skips_drf_per_item(monkeypatch: pytest.MonkeyPatch) -> None:
    items = [make_payload(n) for n in range(3)]
    calls: list[int] = []
    original = TraceInputSerializer.run_validation

    def counted(self: TraceInputSerializer, data: Any) -> Any:
        calls.append(1)
        return original(self, data)

    monkeypatch.setattr(TraceInputSerializer, "run_validation", counted)
    batch = TraceBatchInputSerializer(data=copy.deepcopy(items))
    assert batch.is_valid() and calls == []
    assert json.loads(json.dumps(batch.validated_data)) == [json.loads(json.dumps(drf_outcome(i)[1])) for i in items]


def test_one_doubtful_item_sends_the_whole_batch_through_drf() -> None:
    items = [make_payload(0), {**make_payload(1), "prompt": ""}, make_payload(2)]
    batch = TraceBatchInputSerializer(data=items)
    assert not batch.is_valid()
    errors: Any = batch.errors
    assert list(errors) == [1] and "prompt" in errors[1]


@pytest.mark.django_db
def test_uuid_in_filters_the_rows_djangos_own_in_does(django_assert_num_queries: Any) -> None:
    """``tunix_rt.db.lookups.ArrayIn``: one array parameter on PostgreSQL, the same rows everywhere."""
    from django.db import connection
    from django.db.models.lookups import In

    from tunix_rt.db.lookups import ArrayIn

    traces = TraceFactory.create_batch(4)
    wanted = [traces[0].pk, str(traces[2].pk), None, traces[0].pk, uuid.uuid4()]
    query = Trace.objects.filter(pk__in=wanted)
    sql, params = query.values_list("pk").query.sql_with_params()
    if connection.vendor == "postgresql":
        assert "= ANY(%s)" in sql and len(params) == 1
        assert set(params[0]) == {traces[0].pk, traces[2].pk, wanted[4]} and len(params[0]) == 3
    else:
        assert " IN (" in sql
    with django_assert_num_queries(1):
        assert set(query.values_list("pk", flat=True)) == {traces[0].pk, traces[2].pk}
    assert Trace.objects.filter(pk__in=[]).count() == 0 and Trace.objects.filter(pk__in=[None]).count() == 0
    assert Trace.objects.filter(pk__in=Trace.objects.filter(pk=traces[1].pk).values("pk")).get() == traces[1]
    assert Trace._meta.pk.get_lookup("in") is ArrayIn and issubclass(ArrayIn, In)
    with pytest.raises(Exception, match="UUID"):
        list(Trace.objects.filter(pk__in=["not a uuid"]))
