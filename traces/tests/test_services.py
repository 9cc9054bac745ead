from __future__ import annotations

from typing import Any

import pytest

from traces import services
from traces.models import Score, Tag, Trace, TraceStatus
from traces.tests.factories import TraceFactory, make_payload
from tunix_rt.errors import InvalidInput

pytestmark = pytest.mark.django_db


def test_content_hash_is_canonical_sha256() -> None:
    steps = [{"i": 0, "type": "t", "content": "é"}]
    digest = services.trace_content_hash(prompt="p", steps=steps, final_answer="a")
    # sha256 of '{"final_answer":"a","prompt":"p","steps":[{"content":"é","i":0,"type":"t"}]}' in UTF-8
    assert digest == "d3b3a20b916cb8b491533f258f4e6967d7b9f4b27307ea1e20d002a51c7f8887"
    assert digest == services.trace_content_hash(prompt="p", steps=list(steps), final_answer="a")
    assert digest != services.trace_content_hash(prompt="p ", steps=steps, final_answer="a")


def test_trace_create_derives_source_step_count_and_hash() -> None:
    trace = services.trace_create(payload=make_payload(3))  # type: ignore[arg-type]
    assert trace.source == "unit-test"
    assert trace.step_count == 2
    assert trace.created_at.tzinfo is not None
    assert trace.content_hash == services.trace_content_hash(
        prompt=trace.prompt, steps=trace.steps, final_answer=trace.final_answer
    )


def test_non_string_source_is_not_copied() -> None:
    trace = services.trace_create(payload=make_payload(meta={"source": None}))  # type: ignore[arg-type]
    assert trace.source == ""


def test_import_batch_returns_input_order_and_is_atomic(monkeypatch: pytest.MonkeyPatch) -> None:
    payloads: Any = [make_payload(n) for n in range(3)]
    traces = services.traces_import_batch(payloads=payloads)
    assert [Trace.objects.get(id=t.id).prompt for t in traces] == [p["prompt"] for p in payloads]
    assert services.traces_import_batch(payloads=[]) == []


def test_import_many_skips_duplicates_in_store_and_in_input() -> None:
    services.trace_create(payload=make_payload(1))  # type: ignore[arg-type]
    payloads: Any = [make_payload(1), make_payload(2), make_payload(2), make_payload(3)]
    progress: list[int] = []
    summary = services.traces_import_many(
        payloads=payloads, skip_duplicates=True, batch_size=2, on_batch=progress.append
    )
    assert (summary.created, summary.duplicates) == (2, 2)
    assert progress == [2, 4]
    assert Trace.objects.count() == 3


def test_import_many_rolls_back_everything_on_failure(monkeypatch: pytest.MonkeyPatch) -> None:
    real = services.traces_import_batch
    calls = {"n": 0}

    def failing(*, payloads: Any, actor: Any = None) -> Any:
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError("disk full")
        return real(payloads=payloads, actor=actor)

    monkeypatch.setattr(services, "traces_import_batch", failing)
    with pytest.raises(RuntimeError):
        services.traces_import_many(payloads=[make_payload(n) for n in range(4)], batch_size=2)  # type: ignore[misc]
    assert Trace.objects.count() == 0


def test_update_curation_sets_tags_and_keeps_content() -> None:
    trace = TraceFactory.create()
    before = (trace.prompt, trace.steps, trace.final_answer)
    services.trace_update_curation(trace=trace, status="approved", tags=["a", "b"], notes="ok")
    trace.refresh_from_db()
    assert trace.status == TraceStatus.APPROVED
    assert sorted(t.name for t in trace.tags.all()) == ["a", "b"]
    assert (trace.prompt, trace.steps, trace.final_answer) == before
    services.trace_update_curation(trace=trace, tags=["b"])
    assert [t.name for t in trace.tags.all()] == ["b"]
    assert trace.notes == "ok"


def test_set_status_and_add_tag_on_querysets() -> None:
    traces = TraceFactory.create_batch(3)
    assert services.traces_set_status(traces=Trace.objects.all(), status="rejected") == 3
    assert set(Trace.objects.values_list("status", flat=True)) == {"rejected"}
    services.trace_update_curation(trace=traces[0], tags=["gold"])
    assert services.traces_add_tag(traces=Trace.objects.all(), tag="gold") == 2
    assert Tag.objects.get(name="gold").traces.count() == 3


def test_delete_helpers_remove_traces_and_scores() -> None:
    trace = TraceFactory.create()
    services.trace_score(trace=trace)
    services.trace_delete(trace=trace)
    assert Score.objects.count() == 0
    TraceFactory.create_batch(2)
    assert services.traces_delete(traces=Trace.objects.all()) == 2


def test_baseline_score_formula_and_rounding() -> None:
    trace = TraceFactory.create(steps=[{"i": n, "type": "t", "content": "abc"} for n in range(3)])
    score = services.trace_score(trace=trace)
    assert score.score == round(3 / 10 * 50 + 3 / 500 * 50, 2) == 15.3
    assert score.details["avg_step_length"] == 3.0
    long = TraceFactory.create(steps=[{"i": n, "type": "t", "content": "z" * 900} for n in range(12)])
    assert services.trace_score(trace=long).score == 100.0


def test_unknown_criteria_is_invalid_input() -> None:
    with pytest.raises(InvalidInput):
        services.traces_score(traces=Trace.objects.all(), criteria="nope")


def test_traces_score_in_chunks() -> None:
    TraceFactory.create_batch(5)
    assert services.traces_score(traces=Trace.objects.all(), chunk_size=2) == 5
    assert Score.objects.count() == 5
