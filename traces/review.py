"""Navigation of the admin review queue: pending first, then the rest, newest first in each group.

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
from tunix_rt.models import AuditAction, AuditEntry, AuditObjectType

ORDER = ("-created_at", "-id")


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
