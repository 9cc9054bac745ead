"""A new dataset's members: written in one statement, and the manifest stats of what was written."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from django.core.exceptions import EmptyResultSet
from django.db import connection
from django.db.models import QuerySet

from datasets.models import Dataset, DatasetItem
from datasets.services.splits import SplitAssignment
from traces import selectors as trace_selectors
from traces.models import Trace
from tunix_rt.db.rows import insert_rows
from tunix_rt.errors import InvalidInput

SIZE_TOTALS = ("count", "step_sum", "low", "high", "chars")  # trace_size_totals' keys


def members_insert_newest(*, dataset: Dataset, traces: QuerySet[Trace], limit: int) -> dict[str, Any]:
    """Makes the ``limit`` newest of ``traces`` the dataset's members in ONE ``INSERT … SELECT``
    (positions in canonical order: newest first, ``id`` breaking ties) and answers their
    ``trace_size_totals``.

    On PostgreSQL the same statement sums the rows it inserts (``WITH … INSERT``), so the traces
    are read once; elsewhere an aggregate over the new members follows.
    """
    newest = traces.order_by("-created_at", "-id").values_list("id", "created_at", "step_count", "content_chars")
    try:
        inner_sql, inner_params = newest[:limit].query.sql_with_params()
    except EmptyResultSet:
        return {**dict.fromkeys(SIZE_TOTALS), "count": 0}
    qn = connection.ops.quote_name
    table = qn(DatasetItem._meta.db_table)
    # Only identifiers and the ORM's own SQL are interpolated; every value is a parameter.
    insert = (
        f"INSERT INTO {table} ({qn('dataset_id')}, {qn('trace_id')}, {qn('position')}, {qn('split')}) "  # noqa: S608
        f"SELECT %s, picked.{qn('id')}, ROW_NUMBER() OVER (ORDER BY picked.{qn('created_at')} DESC, "
        f"picked.{qn('id')} DESC) - 1, '' FROM {{picked}} picked"
    )
    with connection.cursor() as cursor:
        if connection.vendor != "postgresql":
            cursor.execute(insert.format(picked=f"({inner_sql})"), (dataset.pk, *inner_params))
            return members_totals(dataset)
        sums = (
            f"COUNT(*), SUM(picked.{qn('step_count')}), MIN(picked.{qn('step_count')}),"
            f" MAX(picked.{qn('step_count')}), SUM(picked.{qn('content_chars')})"
        )
        cursor.execute(
            f"WITH picked AS MATERIALIZED ({inner_sql}), inserted AS ({insert.format(picked='picked')})"  # noqa: S608
            f" SELECT {sums} FROM picked",
            (*inner_params, dataset.pk),
        )
        return dict(zip(SIZE_TOTALS, cursor.fetchone(), strict=True))


def members_totals(dataset: Dataset) -> dict[str, Any]:
    """``trace_size_totals`` of the dataset's members just written: no id list travels to the database again."""
    members = DatasetItem.objects.filter(dataset=dataset).values("trace_id")
    return trace_selectors.trace_size_totals(traces=Trace.objects.filter(id__in=members))


def stats_of_totals(totals: Mapping[str, Any]) -> dict[str, Any]:
    """Manifest stats from ``trace_size_totals``; averages to 2 decimals."""
    count, steps, chars = totals["count"], totals["step_sum"] or 0, totals["chars"] or 0
    low, high = totals["low"], totals["high"]
    return {
        "trace_count": count,
        "avg_step_count": round(steps / count, 2) if count else 0.0,
        "min_step_count": low or 0,
        "max_step_count": high or 0,
        "avg_total_chars": round(chars / count, 2) if count else 0.0,
    }


def members_store(
    *,
    dataset: Dataset,
    traces: QuerySet[Trace],
    limit: int,
    selected: list[uuid.UUID] | None,
    assignment: SplitAssignment | None,
) -> None:
    """Writes the members (the ``limit`` newest of ``traces`` in the database when ``selected`` is None,
    else ``selected`` in order) and sets the dataset's ``trace_count`` and ``stats`` from them."""
    if selected is None:
        totals = members_insert_newest(dataset=dataset, traces=traces, limit=limit)
        if not totals["count"]:
            raise InvalidInput("No traces match the selection; nothing to build.")
        dataset.trace_count, dataset.stats = totals["count"], stats_of_totals(totals)
        return
    split_of = assignment.split_of if assignment is not None else {}
    insert_rows(
        DatasetItem,
        ("dataset", "trace_id", "position", "split"),
        [(dataset.pk, trace_id, n, split_of.get(trace_id, "")) for n, trace_id in enumerate(selected)],
    )
    dataset.stats = stats_of_totals(members_totals(dataset))
