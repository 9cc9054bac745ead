"""The admin review queue's reads: navigation (pending first, then the rest, newest first in each
group), progress, verifier verdicts and the traces an evaluation stored for review.

Keyset navigation over ``(group, created_at, id)``: each step is one indexed query whatever
the queue's size; no list of ids is ever loaded.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from django.db.models import Q, QuerySet
from django.utils import timezone

from traces.models import Trace, TraceStatus
from traces.scoring import CannotVerify, get_scorer
from tunix_rt.models import AuditAction, AuditEntry, AuditObjectType

ORDER = ("-created_at", "-id")
REVIEW_VERIFIERS = ("answer_match", "format_match", "tunix_reward", "step_match")


def _in_group(pending: bool) -> Q:
    return Q(status=TraceStatus.PENDING) if pending else ~Q(status=TraceStatus.PENDING)


def _first_id(traces: QuerySet[Trace]) -> uuid.UUID | None:
    return traces.order_by(*ORDER).values_list("pk", flat=True).first()


def review_first(*, queue: QuerySet[Trace]) -> uuid.UUID | None:
    """The first trace of the queue: the newest pending one, else the newest of the rest."""
    return _first_id(queue.filter(_in_group(True))) or _first_id(queue.filter(_in_group(False)))


def review_next(
    *, queue: QuerySet[Trace], current: Trace, was_pending: bool, seen: Sequence[uuid.UUID] = ()
) -> uuid.UUID | None:
    """The trace after ``current`` in the queue, skipping ``seen``; ``was_pending`` is its group when reached."""
    older = Q(created_at__lt=current.created_at) | Q(created_at=current.created_at, pk__lt=current.pk)
    rest = queue.exclude(pk__in=list(seen)) if seen else queue
    found = _first_id(rest.filter(_in_group(was_pending)).filter(older))
    if found is None and was_pending:
        found = _first_id(rest.filter(_in_group(False)))
    return found


def review_left(*, queue: QuerySet[Trace]) -> int:
    """How many traces of the queue still wait for a verdict (pending); one count query."""
    return queue.filter(_in_group(True)).count()


def reviewed_today(*, user: Any) -> int:
    """Distinct traces whose status ``user`` changed since local midnight, read from the audit trail in one query.

    The audit trail is the honest source: it records only real status changes, by whom and when.
    """
    midnight = timezone.localtime().replace(hour=0, minute=0, second=0, microsecond=0)
    return (
        AuditEntry.objects.filter(
            actor_id=user.pk,
            action=AuditAction.UPDATE,
            object_type=AuditObjectType.TRACE,
            created_at__gte=midnight,
            changes__has_key="status",
        )
        .values("object_id")
        .distinct()
        .count()
    )


def review_traces_from(
    *, source: str, evaluation_id: str, example_ids: Sequence[str]
) -> dict[tuple[str, int], uuid.UUID]:
    """The traces of ``source`` an evaluation stored for these examples, by (example id, sample); one query
    (the source index narrows it before the meta keys are read)."""
    rows = Trace.objects.filter(
        source=source, meta__evaluation_run_id=evaluation_id, meta__example_id__in=list(example_ids)
    )
    found: dict[tuple[str, int], uuid.UUID] = {}
    for pk, example_id, sample in rows.values_list("pk", "meta__example_id", "meta__sample"):
        found[(str(example_id), int(sample or 0))] = pk
    return found


def review_verdicts(*, trace: Trace) -> list[dict[str, Any]]:
    """What each review verifier says of ``trace``: its score (``None`` when it cannot verify) and a short reason."""
    rows: list[dict[str, Any]] = []
    for criteria in REVIEW_VERIFIERS:
        try:
            result = get_scorer(criteria)(trace)
        except CannotVerify as exc:
            rows.append({"criteria": criteria, "score": None, "text": exc.message})
            continue
        rows.append({"criteria": criteria, "score": result.score, "text": _verdict_text(criteria, result.details)})
    return rows


def _verdict_text(criteria: str, details: dict[str, Any]) -> str:
    if criteria == "answer_match":
        return f"expected {details['expected_answer']} ({details['method']})"
    if criteria == "format_match":
        return "control tokens: " + ", ".join(details["control_tokens"]) if details["control_tokens"] else ""
    if criteria == "step_match":
        where = f", first wrong at step {details['first_wrong_step']}" if details["first_wrong_step"] else ""
        return f"{details['matched_steps']} of {details['reference_steps']} reference steps{where}"
    parts = (f"{k} {v:g}" for k, v in details.items() if isinstance(v, float))
    return ", ".join(parts)
