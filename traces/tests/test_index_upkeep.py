from __future__ import annotations

from typing import Any

import pytest
from django.db import connection, transaction
from django.test import override_settings

from traces import index_upkeep
from traces.models import Trace
from traces.near_duplicates import trace_similar
from traces.services import trace_create, traces_import_batch
from traces.tests.factories import make_payload

postgresql = pytest.mark.skipif(connection.vendor != "postgresql", reason="the GIN index exists on PostgreSQL only")

TEXT = "Ana has 14 marbles and finds 9 more in the garden. How many marbles does Ana have now?"


def _payloads(count: int) -> list[Any]:
    return [make_payload(n, prompt=f"{TEXT} ({n})") for n in range(count)]


@pytest.mark.django_db
@pytest.mark.parametrize("on", [False, True])
def test_each_write_counts_its_rows_on_commit_only_with_the_setting_on_postgresql(
    on: bool, django_capture_on_commit_callbacks: Any
) -> None:
    with override_settings(TRACE_INDEX_UPKEEP=on), django_capture_on_commit_callbacks() as callbacks:
        traces_import_batch(payloads=_payloads(3))
        trace_create(payload=_payloads(1)[0])
    counted = [c.args for c in callbacks if getattr(c, "func", None) == index_upkeep.upkeep.wrote]
    assert counted == ([(3,), (1,)] if on and connection.vendor == "postgresql" else [])


def test_an_upkeep_is_asked_for_once_every_thousand_rows(monkeypatch: pytest.MonkeyPatch) -> None:
    upkeep = index_upkeep.PendingListUpkeep()
    asks: list[int] = []
    monkeypatch.setattr(upkeep, "ask", lambda: asks.append(1))
    upkeep.wrote(index_upkeep.EVERY_ROWS - 1)
    assert asks == []
    upkeep.wrote(1)  # a single create completes the thousand
    assert asks == [1]
    upkeep.wrote(index_upkeep.EVERY_ROWS)  # a batch asks after itself
    upkeep.wrote(1)
    assert asks == [1, 1]


@pytest.mark.django_db(transaction=True)
def test_a_rolled_back_import_counts_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    counted: list[int] = []
    monkeypatch.setattr(index_upkeep.upkeep, "wrote", counted.append)
    with override_settings(TRACE_INDEX_UPKEEP=True), pytest.raises(RuntimeError), transaction.atomic():
        traces_import_batch(payloads=_payloads(2))
        raise RuntimeError("the caller's transaction fails after the import")
    assert counted == []
    with override_settings(TRACE_INDEX_UPKEEP=True):
        traces_import_batch(payloads=_payloads(2))
    assert counted == ([2] if connection.vendor == "postgresql" else [])


@postgresql
@pytest.mark.django_db(transaction=True)
def test_the_thread_merges_the_pending_list_and_searches_still_find_everything() -> None:
    upkeep = index_upkeep.PendingListUpkeep(idle_close=0.01)
    with connection.cursor() as cursor:  # every key goes to the pending list, none merged by an insert
        cursor.execute(f"ALTER INDEX {index_upkeep.GIN_INDEX} SET (gin_pending_list_limit = 65536)")
    try:
        stored = traces_import_batch(payloads=_payloads(200))
        probe = Trace.objects.get(pk=stored[0].id)
        pending = trace_similar(trace=probe, threshold=0.5)
        upkeep.ask()
        assert upkeep.wait_idle(timeout=30)
        assert upkeep.merged_pages > 0
        merged = upkeep.merged_pages
        upkeep.ask()  # nothing left: the second merge finds no pages
        assert upkeep.wait_idle(timeout=30)
        assert upkeep.merged_pages == merged
        assert len(pending) == 20 and trace_similar(trace=probe, threshold=0.5) == pending
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"ALTER INDEX {index_upkeep.GIN_INDEX} RESET (gin_pending_list_limit)")


@postgresql
@pytest.mark.django_db(transaction=True)
def test_the_thread_marks_new_traces_visible_so_deep_pages_skip_the_heap() -> None:
    upkeep = index_upkeep.PendingListUpkeep(idle_close=0.01)
    traces_import_batch(payloads=_payloads(300))
    deep = "SELECT id FROM traces_trace ORDER BY created_at DESC, id DESC OFFSET 250 LIMIT 10"

    def heap_fetches() -> int:
        with connection.cursor() as cursor:
            cursor.execute("SET enable_seqscan = off")
            cursor.execute(f"EXPLAIN (ANALYZE, FORMAT JSON) {deep}")
            plan = cursor.fetchone()[0]
            cursor.execute("RESET enable_seqscan")
        node = plan[0]["Plan"]
        while "Heap Fetches" not in node:
            node = node["Plans"][0]
        return int(node["Heap Fetches"])

    assert heap_fetches() > 0  # new rows: the index-only scan reads the heap for each
    upkeep.ask()
    assert upkeep.wait_idle(timeout=30)
    assert heap_fetches() == 0


@postgresql
@pytest.mark.django_db(transaction=True)
def test_a_database_that_refuses_the_merge_stops_the_asks(caplog: pytest.LogCaptureFixture) -> None:
    upkeep = index_upkeep.PendingListUpkeep(idle_close=0.01)
    with connection.cursor() as cursor:
        cursor.execute("DROP ROLE IF EXISTS tunix_upkeep_probe")
        cursor.execute("CREATE ROLE tunix_upkeep_probe")
    upkeep._merge = _merge_as("tunix_upkeep_probe", upkeep._merge)  # type: ignore[method-assign]
    try:
        upkeep.ask()
        assert upkeep.wait_idle(timeout=30)
        assert upkeep.refused and "Not merging" in caplog.text
        upkeep.ask()  # refused once: no further merge is asked for
        assert not upkeep._wanted.is_set() and upkeep.wait_idle(timeout=0)
    finally:
        with connection.cursor() as cursor:
            cursor.execute("DROP ROLE IF EXISTS tunix_upkeep_probe")


def _merge_as(role: str, merge: Any) -> Any:
    def run() -> int:
        from django.db import connections

        with connections["default"].cursor() as cursor:
            cursor.execute(f"SET ROLE {role}")
        try:
            return int(merge())
        finally:
            with connections["default"].cursor() as cursor:
                cursor.execute("RESET ROLE")

    return run
