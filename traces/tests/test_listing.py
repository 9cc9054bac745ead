from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.db.backends.postgresql.base import Cursor as ClientBindingCursor  # type: ignore[attr-defined]
from django.test.utils import CaptureQueriesContext

from traces import listing
from traces.models import Tag
from traces.tests.factories import TraceFactory
from tunix_rt import pagination
from tunix_rt.pagination import queryset_fetch

pytestmark = pytest.mark.django_db


@pytest.fixture
def traces() -> list[Any]:
    """Twelve traces: ties on created_at, a creator on some, tags on others."""
    alice = get_user_model().objects.create_user("alice")
    moment = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
    made = [
        TraceFactory.create(created_at=moment - timedelta(seconds=n // 3), created_by=alice if n % 2 else None)
        for n in range(12)
    ]
    tags = [Tag.objects.create(name="b"), Tag.objects.create(name="a")]
    made[3].tags.set(tags)
    made[7].tags.set(tags[:1])
    return made


def _pages(fetch: Any, after: Any = None) -> list[list[dict[str, Any]]]:
    return [fetch(offset=offset, count=4, after=after) for offset in (0, 3, 8, 11, 12)]


def test_the_reader_gives_the_querysets_rows(traces: list[Any], monkeypatch: pytest.MonkeyPatch) -> None:
    orm = queryset_fetch(listing.trace_list())
    reader = listing.trace_list_reader()
    assert _pages(reader) == _pages(orm)
    monkeypatch.setattr(listing, "DEFERRED_FROM", 2)  # deep offsets read ids first, as page_of does
    monkeypatch.setattr(pagination, "DEFERRED_FROM", 2)
    assert _pages(reader) == _pages(orm)
    newest_first = orm(offset=0, count=12, after=None)
    assert [row["id"] for row in newest_first] == [t.id for t in sorted(traces, key=lambda t: (t.created_at, t.id))][
        ::-1
    ]
    for row in newest_first[:-1]:
        after = (row["created_at"], row["id"])
        assert reader(offset=0, count=4, after=after) == orm(offset=0, count=4, after=after)


def test_the_reader_skips_the_orm_only_on_postgresql() -> None:
    assert (listing.trace_list_reader() is listing.trace_list_rows_sql) == (connection.vendor == "postgresql")


def test_a_page_is_one_query(traces: list[Any], django_assert_num_queries: Any) -> None:
    with django_assert_num_queries(1):
        rows = {row["id"]: row for row in listing.trace_list_reader()(offset=0, count=20, after=None)}
    assert sorted(rows[traces[3].id]["tag_names"].split(",")) == ["a", "b"] and rows[traces[7].id]["tag_names"] == "b"
    assert rows[traces[1].id]["created_by_name"] == "alice" and rows[traces[0].id]["created_by_name"] is None


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the SQL reader runs on PostgreSQL only")
def test_page_size_and_offset_are_written_into_the_sql(traces: list[Any]) -> None:
    """So PostgreSQL keeps the plan of a prepared page instead of planning it again per request."""
    with CaptureQueriesContext(connection) as captured:
        first = listing.trace_list_rows_sql(offset=0, count=5, after=None)
        later = listing.trace_list_rows_sql(offset=4, count=5, after=None)
    assert captured.captured_queries[0]["sql"].endswith("LIMIT 5") and "OFFSET 4" in captured.captured_queries[1]["sql"]
    assert [row["id"] for row in first[4:]] == [later[0]["id"]]


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the SQL reader runs on PostgreSQL only")
def test_the_reader_works_with_parameters_bound_on_the_client(
    traces: list[Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """With DATABASE_PREPARED_STATEMENTS off Django's cursors bind on the client, which cannot read
    binary results: the reader then reads text, and the same rows."""
    orm = queryset_fetch(listing.trace_list())
    connection.ensure_connection()
    monkeypatch.setattr(connection.connection, "cursor_factory", ClientBindingCursor)
    assert _pages(listing.trace_list_rows_sql) == _pages(orm)
    newest = orm(offset=0, count=2, after=None)[-1]
    after = (newest["created_at"], newest["id"])
    assert listing.trace_list_rows_sql(offset=0, count=4, after=after) == orm(offset=0, count=4, after=after)
