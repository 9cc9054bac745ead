"""Bulk curation: the one service every change to many traces goes through (API, admin actions).

Status and tag changes never bring the matched rows into Python, so their query count does
not depend on how many traces match.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.db import connection, transaction
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from traces.models import Tag, Trace, TraceStatus
from traces.scoring import get_scorer
from traces.services import ScoreSummary, tags_for, traces_score
from tunix_rt.errors import InvalidInput


@dataclass(frozen=True)
class BulkResult:
    """``changed`` counts traces whose status or tags changed; scoring is counted apart."""

    matched: int
    changed: int
    scored: int = 0
    skipped: int = 0


@transaction.atomic
def traces_bulk_update(
    *,
    traces: QuerySet[Trace],
    status: str | None = None,
    add_tags: Sequence[str] = (),
    remove_tags: Sequence[str] = (),
    score: str | None = None,
    actor: Any = None,
) -> BulkResult:
    """Every bulk curation change (API, admin actions) goes through here, all or nothing.

    Status and tag changes cost at most seven queries whatever the number of matched traces:
    the rows never come into Python (one UPDATE, one INSERT ... SELECT, one DELETE).
    ``score`` stores one Score per trace its criteria can judge; the others are ``skipped``.
    """
    if status is None and not add_tags and not remove_tags and score is None:
        raise InvalidInput("Give at least one operation: status, add_tags, remove_tags or score.")
    both = sorted(set(add_tags) & set(remove_tags))
    if both:
        raise InvalidInput(f"A tag cannot be both added and removed: {', '.join(both)}.", field="remove_tags")
    if score is not None:
        get_scorer(score)
    matched_ids = traces.order_by().values("pk")
    selected = Trace.objects.filter(pk__in=matched_ids)
    matched = selected.count()
    added = tags_for(add_tags) if add_tags else []
    through = Trace.tags.through
    change = Q()
    if status is not None:
        change |= ~Q(status=status)
    for tag in added:
        change |= Q(~Exists(through.objects.filter(trace_id=OuterRef("pk"), tag_id=tag.pk)))
    if remove_tags:
        change |= Q(Exists(through.objects.filter(trace_id=OuterRef("pk"), tag__name__in=list(remove_tags))))
    changed = selected.filter(change).update(updated_at=timezone.now()) if change else 0
    if status is not None:
        selected.exclude(status=status).update(status=TraceStatus(status))
    if added:
        _link_tags(matched_ids=matched_ids, tag_ids=[tag.pk for tag in added])
    if remove_tags:
        through.objects.filter(trace_id__in=matched_ids, tag__name__in=list(remove_tags)).delete()
    summary = traces_score(traces=selected, criteria=score) if score is not None else ScoreSummary(0, 0)
    return BulkResult(matched=matched, changed=changed, scored=summary.scored, skipped=summary.skipped)


def _link_tags(*, matched_ids: QuerySet[Any], tag_ids: list[int]) -> None:
    """One INSERT ... SELECT of the missing (trace, tag) links: the trace ids never leave the database."""
    through = Trace.tags.through
    table, tag_table = connection.ops.quote_name(through._meta.db_table), connection.ops.quote_name(Tag._meta.db_table)
    selected = Trace.objects.filter(pk__in=matched_ids).order_by().values_list("pk")
    subquery, params = selected.query.sql_with_params()  # selects the column as "pk"
    marks = ", ".join(["%s"] * len(tag_ids))
    sql = (
        f"INSERT INTO {table} (trace_id, tag_id) SELECT m.pk, g.id FROM ({subquery}) m, {tag_table} g "  # noqa: S608
        f"WHERE g.id IN ({marks}) AND NOT EXISTS "
        f"(SELECT 1 FROM {table} x WHERE x.trace_id = m.pk AND x.tag_id = g.id)"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, *tag_ids])


def traces_reject_duplicates(*, traces: QuerySet[Trace], actor: Any = None) -> BulkResult:
    """Rejects every trace of ``traces`` that has an older exact duplicate (same ``content_hash``).

    The oldest of each group (``created_at``, then ``id``) is kept whether or not it is in ``traces``.
    """
    older = Trace.objects.filter(content_hash=OuterRef("content_hash")).filter(
        Q(created_at__lt=OuterRef("created_at")) | Q(created_at=OuterRef("created_at"), pk__lt=OuterRef("pk"))
    )
    return traces_bulk_update(traces=traces.order_by().filter(Exists(older)), status=TraceStatus.REJECTED, actor=actor)
