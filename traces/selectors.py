"""Reads on traces; each selector owns its columns, joins and ordering."""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence
from typing import Any

from django.db.models import (
    Count,
    Exists,
    F,
    FloatField,
    Max,
    Min,
    OuterRef,
    Prefetch,
    QuerySet,
    Subquery,
    Sum,
    Window,
)
from django.db.models.fields.json import HasKey
from django.db.models.functions import RowNumber, Substr

from traces.diff import trace_diff
from traces.filters import filter_meta, filter_traces, meta_path_expression
from traces.models import Score, Tag, Trace, TraceStatus
from traces.scoring import get_scorer
from tunix_rt.errors import NotFound
from tunix_rt.ids import parse_uuid


def _tags_prefetch() -> Prefetch[Any]:
    return Prefetch("tags", queryset=Tag.objects.only("id", "name").order_by("name"))


def latest_score_subquery(criteria: str = "baseline") -> Subquery:
    latest = Score.objects.filter(trace=OuterRef("pk"), criteria=criteria).order_by("-created_at", "-id")
    return Subquery(latest.values("score")[:1], output_field=FloatField())


def parse_trace_id(trace_id: Any) -> uuid.UUID:
    """A trace id as a UUID; a malformed one is ``NotFound``, since no such trace can exist."""
    return parse_uuid(trace_id, what="Trace")


def traces_with_status(*, status: str | None = None) -> QuerySet[Trace]:
    traces = Trace.objects.all()
    return traces if status is None else traces.filter(status=status)


def traces_matching(
    *, filters: dict[str, Any] | None = None, ids: Sequence[uuid.UUID] | None = None
) -> QuerySet[Trace]:
    """Traces in ``ids`` (when given) that match the list endpoint's ``filters`` (when given)."""
    traces = Trace.objects.all()
    if ids is not None:
        traces = traces.filter(pk__in=list(ids))
    if filters is not None:
        traces = filter_traces(traces, filters)
    return traces


def trace_get(*, trace_id: Any) -> Trace:
    """One trace with its tags; a missing or malformed id is ``NotFound``."""
    key = parse_trace_id(trace_id)
    trace = Trace.objects.select_related("created_by").prefetch_related(_tags_prefetch()).filter(id=key).first()
    if trace is None:
        raise NotFound(f"Trace {trace_id} not found.")
    return trace


def trace_scores(*, trace: Trace) -> QuerySet[Score]:
    return Score.objects.filter(trace=trace).order_by("-created_at", "-id")


ADMIN_EXCERPT_CHARS = 600


def traces_for_admin() -> QuerySet[Trace]:
    """The admin changelist: excerpt (``ADMIN_EXCERPT_CHARS``), step count, tags, latest baseline score and
    verdicts in two queries."""
    return (
        Trace.objects.defer("steps", "final_answer", "notes", "prompt")
        .annotate(
            prompt_excerpt=Substr("prompt", 1, ADMIN_EXCERPT_CHARS),
            latest_baseline=latest_score_subquery(),
            created_by_name=F("created_by__username"),
            latest_answer_match=latest_score_subquery("answer_match"),
            latest_format_match=latest_score_subquery("format_match"),
        )
        .prefetch_related(_tags_prefetch())
    )


DUPLICATE_IDS_MAX = 1_000


def duplicate_groups() -> QuerySet[Any]:
    """``{"content_hash", "count"}`` of every hash stored more than once, largest group first, then by hash."""
    return (
        Trace.objects.order_by()
        .values("content_hash")
        .annotate(count=Count("id"))
        .filter(count__gt=1)
        .order_by("-count", "content_hash")
    )


def duplicate_group_ids(*, hashes: Sequence[str]) -> dict[str, list[uuid.UUID]]:
    """The ids of each group, oldest first, at most ``DUPLICATE_IDS_MAX`` per group, in one query."""
    rows = (
        Trace.objects.filter(content_hash__in=list(hashes))
        .annotate(rank=Window(RowNumber(), partition_by=F("content_hash"), order_by=[F("created_at"), F("id")]))
        .filter(rank__lte=DUPLICATE_IDS_MAX)
        .order_by("content_hash", "created_at", "id")
        .values_list("content_hash", "id")
    )
    groups: dict[str, list[uuid.UUID]] = {h: [] for h in hashes}
    for content_hash, trace_id in rows:
        groups[content_hash].append(trace_id)
    return groups


def trace_duplicate_count(*, trace: Trace) -> int:
    """How many other traces hold exactly this content."""
    return Trace.objects.filter(content_hash=trace.content_hash).exclude(pk=trace.pk).count()


def trace_compare(*, base_id: Any, other_id: Any) -> dict[str, Any]:
    """Both traces with their baseline score, computed now and not stored, and their step-level ``diff``."""
    sides: dict[str, Any] = {}
    for side, trace_id in (("base", base_id), ("other", other_id)):
        trace = Trace.objects.filter(id=trace_id).first()
        if trace is None:
            raise NotFound(f"{side.capitalize()} trace {trace_id} not found.", extra={"side": side})
        sides[side] = {
            "id": trace.id,
            "created_at": trace.created_at,
            "trace_version": trace.trace_version,
            "status": trace.status,
            "score": get_scorer("baseline")(trace).score,
            "payload": trace,
        }
    sides["diff"] = trace_diff(sides["base"]["payload"], sides["other"]["payload"])
    return sides


EXPORT_COLUMNS = ("id", "created_at", "trace_version", "prompt", "final_answer", "steps", "meta")


def trace_selection(
    *,
    filters: dict[str, Any] | None = None,
    status: str | None = None,
    tags: Sequence[str] = (),
    trace_ids: Sequence[uuid.UUID] | None = None,
) -> QuerySet[Trace]:
    """Traces matching every condition, newest first with ``id`` as tie-break; all filtering is SQL.

    ``filters`` maps ``meta`` key paths (``a__b`` for nesting) to JSON values that must be equal;
    every tag in ``tags`` must be present. No columns are restricted: callers take ``values_list``.
    """
    traces = Trace.objects.all()
    if trace_ids is not None:
        traces = traces.filter(id__in=list(trace_ids))
    if filters:
        traces = filter_meta(traces, filters)
    if status:
        traces = traces.filter(status=status)
    through = Trace.tags.through
    for tag in tags:
        traces = traces.filter(Exists(through.objects.filter(trace_id=OuterRef("pk"), tag__name=tag)))
    return traces.order_by("-created_at", "-id")


def trace_ids_existing(*, trace_ids: Sequence[uuid.UUID]) -> set[uuid.UUID]:
    """Which of ``trace_ids`` are stored, in one query."""
    return set(Trace.objects.filter(id__in=list(trace_ids)).values_list("id", flat=True))


def traces_for_export(*, trace_ids: Sequence[uuid.UUID] | QuerySet[Any]) -> QuerySet[Trace, Any]:
    """The stored traces among ``trace_ids`` with the columns exports read, in one query, unordered.

    Rows are named tuples (``values_list(named=True)``) with the attributes of a ``Trace`` that
    exports read: no model instances are built, which halved the cost of a record.
    """
    ids = trace_ids if isinstance(trace_ids, QuerySet) else list(trace_ids)
    return Trace.objects.filter(id__in=ids).order_by().values_list(*EXPORT_COLUMNS, named=True)


def traces_existing_ids(*, trace_ids: Sequence[uuid.UUID]) -> set[uuid.UUID]:
    """Which of ``trace_ids`` are stored, in one query."""
    return set(Trace.objects.filter(id__in=list(trace_ids)).values_list("id", flat=True))


def trace_size_totals(*, traces: QuerySet[Trace]) -> dict[str, Any]:
    """Count, step-count sum, minimum and maximum, and prompt + answer + step content characters
    (``content_chars``) of ``traces``, in ONE aggregate query."""
    return traces.order_by().aggregate(
        count=Count("id"),
        step_sum=Sum("step_count"),
        low=Min("step_count"),
        high=Max("step_count"),
        chars=Sum("content_chars"),
    )


def traces_from_source(*, source: str, trace_ids: list[uuid.UUID] | None, limit: int) -> QuerySet[Trace]:
    """Newest traces of one ``source`` (optionally among ``trace_ids``), capped in SQL."""
    traces = Trace.objects.filter(source=source)
    if trace_ids:
        traces = traces.filter(id__in=trace_ids)
    return traces.only(*EXPORT_COLUMNS).order_by("-created_at", "-id")[:limit]


def trace_prompts(*, trace_ids: Sequence[uuid.UUID], chunk_size: int = 500) -> Iterator[tuple[uuid.UUID, str]]:
    """``(id, prompt)`` of the stored traces among ``trace_ids``, one query per chunk, unordered."""
    ids = list(trace_ids)
    for start in range(0, len(ids), chunk_size):
        rows = Trace.objects.filter(id__in=ids[start : start + chunk_size]).order_by().values_list("id", "prompt")
        yield from rows


def meta_paths_absent(*, paths: Sequence[str]) -> list[str]:
    """The ``a__b`` meta key paths, of ``paths``, that no stored trace has; one query per path."""
    absent = []
    for path in paths:
        *parents, last = path.split("__")
        holder = meta_path_expression(parents) if parents else F("meta")
        if not Trace.objects.filter(HasKey(holder, last)).exists():
            absent.append(path)
    return absent


def meta_top_keys(*, sample: int = 1000) -> list[str]:
    """The top-level meta keys of the newest ``sample`` traces, sorted; one query."""
    keys: set[str] = set()
    for meta in Trace.objects.order_by("-created_at").values_list("meta", flat=True)[:sample]:
        if isinstance(meta, dict):
            keys.update(meta)
    return sorted(keys)


def trace_counts_by_status() -> dict[str, int]:
    """How many traces hold each status (every status named, 0 when none), in one query."""
    counts = dict(Trace.objects.order_by().values_list("status").annotate(n=Count("id")))
    return {status: counts.get(status, 0) for status in TraceStatus.values}


def trace_counts_by_source(*, limit: int = 8) -> list[tuple[str, int]]:
    """The ``limit`` largest sources with their trace counts, largest first ("" for no source), in one query."""
    rows = Trace.objects.order_by().values_list("source").annotate(n=Count("id")).order_by("-n", "source")
    return [(source, n) for source, n in rows[:limit]]
