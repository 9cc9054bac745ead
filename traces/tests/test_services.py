from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.db import IntegrityError
from django.utils import timezone

from traces import bulk, selectors, services
from traces.models import Score, Tag, Trace, TraceSignature, TraceStatus
from traces.tests.factories import TraceFactory, make_payload
from tunix_rt.errors import InvalidInput
from tunix_rt.models import AuditEntry

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

    def broken(**kwargs: Any) -> Any:
        raise RuntimeError("signatures failed")

    # The signatures are made after the traces were sent (COPY from 20 rows on PostgreSQL): their
    # failure reaches the caller and the traces already sent roll back.
    monkeypatch.setattr(services, "trace_index_rows", broken)
    entries = AuditEntry.objects.count()
    with pytest.raises(RuntimeError, match="signatures failed"):
        services.traces_import_batch(payloads=[make_payload(n) for n in range(10, 35)])  # type: ignore[misc]
    assert Trace.objects.count() == 3 and TraceSignature.objects.count() == 3
    assert AuditEntry.objects.count() == entries


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("size", [3, 25])  # a multi-row INSERT, and COPY on PostgreSQL
def test_import_batch_of_a_user_who_no_longer_exists_writes_nothing(size: int) -> None:
    ghost = get_user_model().objects.create_user(username="ghost")
    get_user_model().objects.filter(pk=ghost.pk).delete()  # the request still holds the user
    with pytest.raises(IntegrityError):
        services.traces_import_batch(payloads=[make_payload(n) for n in range(size)], actor=ghost)  # type: ignore[misc]
    assert (Trace.objects.count(), TraceSignature.objects.count(), AuditEntry.objects.count()) == (0, 0, 0)


@pytest.mark.django_db(transaction=True)
def test_create_by_a_user_who_no_longer_exists_writes_nothing() -> None:
    ghost = get_user_model().objects.create_user(username="ghost")
    get_user_model().objects.filter(pk=ghost.pk).delete()
    with pytest.raises(IntegrityError):
        services.trace_create(payload=make_payload(1), actor=ghost)  # type: ignore[arg-type]
    assert (Trace.objects.count(), TraceSignature.objects.count(), AuditEntry.objects.count()) == (0, 0, 0)


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


def test_bulk_update_sets_status_and_tags_and_counts_changes() -> None:
    traces = TraceFactory.create_batch(3)
    services.trace_update_curation(trace=traces[0], tags=["gold"], status="rejected")
    result = bulk.traces_bulk_update(traces=Trace.objects.all(), status="rejected", add_tags=["gold", "x"])
    assert (result.matched, result.changed) == (3, 3)
    assert set(Trace.objects.values_list("status", flat=True)) == {"rejected"}
    assert Tag.objects.get(name="gold").traces.count() == 3 and Tag.objects.get(name="x").traces.count() == 3
    again = bulk.traces_bulk_update(traces=Trace.objects.all(), status="rejected", add_tags=["gold"])
    assert (again.matched, again.changed) == (3, 0)
    removed = bulk.traces_bulk_update(traces=Trace.objects.filter(pk=traces[1].pk), remove_tags=["x", "gone"])
    assert (removed.matched, removed.changed) == (1, 1)
    assert sorted(t.name for t in Trace.objects.get(pk=traces[1].pk).tags.all()) == ["gold"]


@pytest.mark.parametrize("size", [2, 40])
def test_bulk_update_query_count_does_not_grow(size: int, django_assert_num_queries: Any) -> None:
    TraceFactory.create_batch(size, meta={"source": "s", "level": "easy"})
    traces = selectors.traces_matching(filters={"meta__level": "easy"})
    # COUNT, two tag upserts, three audit INSERT ... SELECTs (two old statuses, the tags), UPDATE
    # updated_at, UPDATE status, INSERT ... SELECT of the tag links, DELETE, savepoint pair
    with django_assert_num_queries(12):
        result = bulk.traces_bulk_update(traces=traces, status="approved", add_tags=["a", "b"], remove_tags=["c"])
    assert (result.matched, result.changed) == (size, size)
    assert Trace.objects.filter(status="approved", tags__name="b").count() == size


def test_bulk_update_refuses_no_operation_and_clashing_tags() -> None:
    with pytest.raises(InvalidInput, match="at least one operation"):
        bulk.traces_bulk_update(traces=Trace.objects.all())
    with pytest.raises(InvalidInput):
        bulk.traces_bulk_update(traces=Trace.objects.all(), add_tags=["a"], remove_tags=["a"])


def test_bulk_score_skips_traces_that_cannot_be_verified() -> None:
    TraceFactory.create(prompt="What is 2 + 3?", final_answer="5")
    TraceFactory.create(prompt="Tell me a story.", final_answer="Once")
    result = bulk.traces_bulk_update(traces=Trace.objects.all(), score="answer_match")
    assert (result.matched, result.changed, result.scored, result.skipped) == (2, 0, 1, 1)
    assert list(Score.objects.values_list("criteria", "score")) == [("answer_match", 1.0)]


def test_reject_duplicates_keeps_the_oldest_of_each_group() -> None:
    now = timezone.now()
    oldest = TraceFactory.create(prompt="same", final_answer="1", created_at=now - timedelta(hours=2))
    newer = TraceFactory.create(prompt="same", final_answer="1", created_at=now - timedelta(hours=1))
    unique = TraceFactory.create(prompt="alone", final_answer="1")
    result = bulk.traces_reject_duplicates(traces=Trace.objects.filter(pk__in=[newer.pk, unique.pk]))
    assert result.changed == 1
    statuses = dict(Trace.objects.values_list("pk", "status"))
    assert statuses == {oldest.pk: "pending", newer.pk: "rejected", unique.pk: "pending"}


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
    assert services.traces_score(traces=Trace.objects.all(), chunk_size=2) == services.ScoreSummary(5, 0)
    assert Score.objects.count() == 5


@pytest.mark.django_db
def test_content_chars_count_the_prompt_the_answer_and_every_step() -> None:
    payload: Any = make_payload(7, prompt="Ünïcode?", final_answer="9")
    created = services.trace_create(payload=payload)
    batch = services.traces_import_batch(payloads=[make_payload(n) for n in range(3)])  # type: ignore[misc]
    expected = len("Ünïcode?") + 1 + sum(len(step["content"]) for step in payload["steps"])
    assert Trace.objects.get(id=created.id).content_chars == expected
    for stored, n in zip(batch, range(3), strict=True):
        body = make_payload(n)
        chars = len(body["prompt"]) + len(body["final_answer"]) + sum(len(s["content"]) for s in body["steps"])
        assert Trace.objects.get(id=stored.id).content_chars == chars
