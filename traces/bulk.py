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
from tunix_rt.audit import audit_operation, audit_record_selection
from tunix_rt.errors import InvalidInput
from tunix_rt.models import AuditAction, AuditObjectType


@dataclass(frozen=True)
class BulkResult:
    """``changed`` counts traces whose status or tags changed; scoring is counted apart."""

    matched: int
    changed: int
    scored: int = 0
    skipped: int = 0


@transaction.atomic
@audit_operation()
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

    Status and tag changes cost a constant number of queries whatever the number of matched
    traces: the rows never come into Python (UPDATEs, INSERT ... SELECTs, one DELETE). Each
    changed trace is audited in the same way: ``{"status": [old, new]}`` (one INSERT ... SELECT
    per old status) and ``{"tags": {"added": [...], "removed": [...]}}``.
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
    if matched == 0:
        return BulkResult(matched=0, changed=0)
    added = tags_for(add_tags) if add_tags else []
    through = Trace.tags.through
    change = Q()
    if status is not None:
        change |= ~Q(status=status)
    for tag in added:
        change |= Q(~Exists(through.objects.filter(trace_id=OuterRef("pk"), tag_id=tag.pk)))
    if remove_tags:
        change |= Q(Exists(through.objects.filter(trace_id=OuterRef("pk"), tag__name__in=list(remove_tags))))
    _audit(actor=actor, selected=selected, status=status, added=added, remove_tags=remove_tags)
    changed = selected.filter(change).update(updated_at=timezone.now()) if change else 0
    if status is not None:
        selected.exclude(status=status).update(status=TraceStatus(status))
    if added:
        _link_tags(matched_ids=matched_ids, tag_ids=[tag.pk for tag in added])
    if remove_tags:
        through.objects.filter(trace_id__in=matched_ids, tag__name__in=list(remove_tags)).delete()
    summary = traces_score(traces=selected, criteria=score, actor=actor) if score is not None else ScoreSummary(0, 0)
    return BulkResult(matched=matched, changed=changed, scored=summary.scored, skipped=summary.skipped)


def _audit(
    *, actor: Any, selected: QuerySet[Trace], status: str | None, added: list[Tag], remove_tags: Sequence[str]
) -> None:
    """Entries for the traces about to change, written before the change (the filters read the old state)."""
    if status is not None:
        for old in TraceStatus:
            if old != status:
                audit_record_selection(
                    actor=actor,
                    action=AuditAction.UPDATE,
                    object_type=AuditObjectType.TRACE,
                    queryset=selected.filter(status=old),
                    changes={"status": [old.value, str(status)]},
                )
    if not added and not remove_tags:
        return
    through = Trace.tags.through
    tag_change = Q()
    for tag in added:
        tag_change |= Q(~Exists(through.objects.filter(trace_id=OuterRef("pk"), tag_id=tag.pk)))
    if remove_tags:
        tag_change |= Q(Exists(through.objects.filter(trace_id=OuterRef("pk"), tag__name__in=list(remove_tags))))
    audit_record_selection(
        actor=actor,
        action=AuditAction.UPDATE,
        object_type=AuditObjectType.TRACE,
        queryset=selected.filter(tag_change),
        changes={"tags": {"added": sorted(t.name for t in added), "removed": sorted(set(remove_tags))}},
    )


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
