"""Reads on traces; each selector owns its columns, joins and ordering."""

from __future__ import annotations

import uuid
from typing import Any

from django.db.models import FloatField, OuterRef, Prefetch, QuerySet, Subquery
from django.db.models.functions import Substr

from traces.models import Score, Tag, Trace
from tunix_rt.errors import NotFound
from tunix_rt.ids import parse_uuid

EXCERPT_CHARS = 120
LIST_COLUMNS = ("id", "created_at", "updated_at", "trace_version", "status", "source", "step_count")


def _tags_prefetch() -> Prefetch[Any]:
    return Prefetch("tags", queryset=Tag.objects.only("id", "name").order_by("name"))


def latest_score_subquery(criteria: str = "baseline") -> Subquery:
    latest = Score.objects.filter(trace=OuterRef("pk"), criteria=criteria).order_by("-created_at", "-id")
    return Subquery(latest.values("score")[:1], output_field=FloatField())


def trace_list() -> QuerySet[Trace]:
    """Newest first (``id`` breaks ties) without loading steps, prompt or answer.

    Two queries a page: the rows, and one prefetch of their tags.
    """
    return (
        Trace.objects.only(*LIST_COLUMNS)
        .annotate(prompt_excerpt=Substr("prompt", 1, EXCERPT_CHARS))
        .prefetch_related(_tags_prefetch())
        .order_by("-created_at", "-id")
    )


def parse_trace_id(trace_id: Any) -> uuid.UUID:
    """A trace id as a UUID; a malformed one is ``NotFound``, since no such trace can exist."""
    return parse_uuid(trace_id, what="Trace")


def traces_with_status(*, status: str | None = None) -> QuerySet[Trace]:
    traces = Trace.objects.all()
    return traces if status is None else traces.filter(status=status)


def trace_get(*, trace_id: Any) -> Trace:
    """One trace with its tags; a missing or malformed id is ``NotFound``."""
    key = parse_trace_id(trace_id)
    trace = Trace.objects.prefetch_related(_tags_prefetch()).filter(id=key).first()
    if trace is None:
        raise NotFound(f"Trace {trace_id} not found.")
    return trace


def trace_scores(*, trace: Trace) -> QuerySet[Score]:
    return Score.objects.filter(trace=trace).order_by("-created_at", "-id")


def traces_for_admin() -> QuerySet[Trace]:
    """The admin changelist: excerpt, step count, tags and latest baseline score in two queries."""
    return (
        Trace.objects.defer("steps", "final_answer", "notes", "prompt")
        .annotate(prompt_excerpt=Substr("prompt", 1, 80), latest_baseline=latest_score_subquery())
        .prefetch_related(_tags_prefetch())
    )


def trace_compare(*, base_id: Any, other_id: Any) -> dict[str, dict[str, Any]]:
    """Both traces with their baseline score, computed now and not stored."""
    from traces.scoring import get_scorer

    sides: dict[str, dict[str, Any]] = {}
    for side, trace_id in (("base", base_id), ("other", other_id)):
        trace = Trace.objects.filter(id=trace_id).first()
        if trace is None:
            raise NotFound(f"{side.capitalize()} trace {trace_id} not found.", extra={"side": side})
        sides[side] = {
            "id": trace.id,
            "created_at": trace.created_at,
            "trace_version": trace.trace_version,
            "score": get_scorer("baseline")(trace.steps).score,
            "payload": trace,
        }
    return sides
