"""The trace list: its rows as dicts, and a reader of its pages that skips the ORM on PostgreSQL."""

from __future__ import annotations

import uuid
from functools import cache
from typing import Any

from django.contrib.auth import get_user_model
from django.db import connection
from django.db.models import CharField, F, QuerySet
from django.db.models.expressions import RawSQL
from django.db.models.functions import Substr

from traces.models import Tag, Trace
from tunix_rt.db.reads import binary_results
from tunix_rt.pagination import DEFERRED_FROM, Fetch, queryset_fetch

EXCERPT_CHARS = 120
LIST_COLUMNS = ("id", "created_at", "updated_at", "trace_version", "status", "source", "step_count")


@cache
def _tag_names_sql(vendor: str) -> str:
    """Each trace's tag names, comma-joined (tag names cannot hold a comma), as a correlated subquery.

    Written once as SQL: Django compiling the same subquery for every page cost more than running it.
    The aggregate runs only for traces that have a tag: an ``EXISTS`` probe is cheaper than an
    empty join and aggregate per row (PostgreSQL may answer it from one hashed scan of the links),
    and most traces carry no tag. NULL for a trace without tags, as the aggregate gives.
    """
    qn = connection.ops.quote_name
    through, tag, trace = Trace.tags.through._meta, Tag._meta, Trace._meta
    joined = "STRING_AGG(g.{name}, ',')" if vendor == "postgresql" else "GROUP_CONCAT(g.{name}, ',')"
    this = f"{qn(trace.db_table)}.{qn('id')}"
    return (
        f"(CASE WHEN EXISTS (SELECT 1 FROM {qn(through.db_table)} e WHERE e.{qn('trace_id')} = {this})"  # noqa: S608 (model metadata only)
        f" THEN (SELECT {joined.format(name=qn('name'))} FROM {qn(through.db_table)} m"
        f" JOIN {qn(tag.db_table)} g ON g.{qn('id')} = m.{qn('tag_id')}"
        f" WHERE m.{qn('trace_id')} = {this}) END)"
    )


def trace_list() -> QuerySet[Trace, dict[str, Any]]:
    """List rows as dicts, newest first (``id`` breaks ties), without loading steps, prompt or answer.

    ONE query for a page: the creator's name is joined in and the tags come as ``tag_names``
    (comma-joined; ``serializers.trace_list_items`` turns them into the sorted list the API shows).
    """
    return Trace.objects.order_by("-created_at", "-id").values(
        *LIST_COLUMNS,
        created_by_name=F("created_by__username"),
        prompt_excerpt=Substr("prompt", 1, EXCERPT_CHARS),
        tag_names=RawSQL(_tag_names_sql(connection.vendor), (), output_field=CharField()),  # noqa: S611
    )


@cache
def _list_sql() -> tuple[str, str, str]:
    """The unfiltered list's page as SQL, written once per process: (select, order, ids), where
    ``ids`` selects the ids alone in the same order, for deep offsets.

    The same rows as ``trace_list``: PostgreSQL runs it without Django building and compiling the
    queryset for every page, which cost as much as the query itself.
    """
    qn = connection.ops.quote_name
    trace, user = qn(Trace._meta.db_table), qn(get_user_model()._meta.db_table)
    columns = ", ".join(f"{trace}.{qn(name)}" for name in LIST_COLUMNS)
    order = f"ORDER BY {trace}.{qn('created_at')} DESC, {trace}.{qn('id')} DESC"
    select = (
        f"SELECT {columns}, {user}.{qn('username')}, SUBSTRING({trace}.{qn('prompt')}, 1, {EXCERPT_CHARS}),"  # noqa: S608
        f" {_tag_names_sql(connection.vendor)} FROM {trace}"
        f" LEFT OUTER JOIN {user} ON {user}.{qn('id')} = {trace}.{qn('created_by_id')}"
    )
    ids = f"SELECT {qn('id')} FROM {trace} {order.replace(trace + '.', '')}"  # noqa: S608
    return select, order, ids


LIST_ROW_KEYS = (*LIST_COLUMNS, "created_by_name", "prompt_excerpt", "tag_names")


def trace_list_rows_sql(*, offset: int, count: int, after: tuple[Any, uuid.UUID] | None) -> list[dict[str, Any]]:
    """``count`` rows of the list from ``offset``, or after the cursor's (created_at, id).

    LIMIT and OFFSET are written into the SQL as numbers, as Django's compiler writes them.
    As parameters, PostgreSQL planned the prepared statement again on every page (its generic
    plan, not knowing the page size, looked far costlier than a custom one), about a fifth of
    the query's time; the first page's statement now has no parameter and keeps its plan.
    The cursor's bound is read through a one-row subquery for the same reason: compared with the
    values themselves, PostgreSQL's custom plans always looked cheaper than the generic one, so it
    planned every page again (0.31 ms of planning for 0.21 ms of execution); compared with the
    subquery's output, both plans cost the same and the generic one is kept. Results come in
    binary format (``tunix_rt.db.reads``).
    """
    select, order, ids = _list_sql()
    qn = connection.ops.quote_name
    trace = qn(Trace._meta.db_table)
    limit, skip = int(count), int(offset)
    params: list[Any] = []
    if after is not None:
        bound = "(SELECT %s::timestamptz, %s::uuid)"
        sql = f"{select} WHERE ({trace}.{qn('created_at')}, {trace}.{qn('id')}) < {bound} {order} LIMIT {limit}"
        params = [*after]
    elif skip >= DEFERRED_FROM:
        sql = f"{select} WHERE {trace}.{qn('id')} IN ({ids} LIMIT {limit} OFFSET {skip}) {order} LIMIT {limit}"
    else:
        sql = f"{select} {order} LIMIT {limit}" + (f" OFFSET {skip}" if skip else "")
    with binary_results() as cursor:
        cursor.execute(sql, params)
        return [dict(zip(LIST_ROW_KEYS, row, strict=True)) for row in cursor.fetchall()]


def trace_list_reader() -> Fetch:
    """Reads pages of the unfiltered ``trace_list``: one prepared SQL statement per page on
    PostgreSQL (the same rows, in the same order; a test holds the two equal), the queryset
    elsewhere. Deep offsets read ids from the index first, as ``page_of`` does."""
    return trace_list_rows_sql if connection.vendor == "postgresql" else queryset_fetch(trace_list())
