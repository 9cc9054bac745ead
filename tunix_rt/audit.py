"""Writing and reading the audit trail.

Services call these inside their own transaction, so an entry exists exactly when the
write it describes was committed. Bulk writes cost a constant number of queries. Every entry
of one operation carries the same ``created_at`` (``audit_operation``), which is how the trail
reads a bulk operation as one group (``audit_groups``).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.core.exceptions import EmptyResultSet
from django.db import connection
from django.db.models import Count, F, Max, Min, QuerySet, TextField, Window
from django.db.models.functions import Cast, RowNumber
from django.utils import timezone

from tunix_rt.db.functions import uuid_text_sql
from tunix_rt.db.rows import Table, insert_rows
from tunix_rt.models import AuditEntry

_operation_stamp: ContextVar[datetime | None] = ContextVar("audit_operation_stamp", default=None)


@contextmanager
def audit_operation() -> Iterator[datetime]:
    """Every entry written inside (in this thread or task) gets the same ``created_at``, so a service
    that writes in chunks or in several statements still reads as one operation; a nested one keeps
    the outer stamp. Usable as a decorator: ``@audit_operation()``."""
    stamp = _operation_stamp.get() or timezone.now()
    token = _operation_stamp.set(stamp)
    try:
        yield stamp
    finally:
        _operation_stamp.reset(token)


def _stamp() -> datetime:
    return _operation_stamp.get() or timezone.now()


def _actor_fields(actor: Any) -> dict[str, Any]:
    if actor is None or not getattr(actor, "is_authenticated", False):
        return {"actor": None, "actor_name": ""}
    return {"actor": actor, "actor_name": actor.get_username()}


def audit_record(
    *, actor: Any, action: str, object_type: str, object_id: Any, changes: dict[str, Any] | None = None
) -> AuditEntry:
    """One entry (one query)."""
    return AuditEntry.objects.create(
        created_at=_stamp(),
        **_actor_fields(actor),
        action=action,
        object_type=object_type,
        object_id=str(object_id),
        changes=changes,
    )


AUDIT_COLUMNS = ("created_at", "actor", "actor_name", "action", "object_type", "object_id", "changes")


def audit_rows(
    *,
    actor: Any,
    action: str,
    object_type: str,
    object_ids: Iterable[Any],
    changes: dict[str, Any] | None = None,
    changes_each: Iterable[dict[str, Any] | None] | None = None,
) -> Table:
    """The entries of ``audit_record_many`` as an ``insert_rows`` table, for a service that writes
    them in one statement with its own rows (``insert_together``)."""
    fields = _actor_fields(actor)
    ids = [str(object_id) for object_id in object_ids]
    each = list(changes_each) if changes_each is not None else [changes] * len(ids)
    head = (_stamp(), fields["actor"].pk if fields["actor"] is not None else None, fields["actor_name"])
    return (
        AuditEntry,
        AUDIT_COLUMNS,
        [(*head, action, object_type, oid, change) for oid, change in zip(ids, each, strict=True)],
    )


def audit_record_many(
    *,
    actor: Any,
    action: str,
    object_type: str,
    object_ids: Iterable[Any],
    changes: dict[str, Any] | None = None,
    changes_each: Iterable[dict[str, Any] | None] | None = None,
) -> int:
    """An entry per id in ONE statement (``insert_rows``); ``changes_each`` gives each its own changes."""
    model, columns, rows = audit_rows(
        actor=actor, action=action, object_type=object_type, object_ids=object_ids, changes=changes,
        changes_each=changes_each,
    )  # fmt: skip
    insert_rows(model, columns, rows)
    return len(rows)


def audit_record_selection(
    *, actor: Any, action: str, object_type: str, queryset: QuerySet[Any], changes: dict[str, Any] | None = None
) -> None:
    """An entry per row of ``queryset`` (UUID primary keys) in ONE ``INSERT … SELECT``, whatever its size.

    Call it before a bulk update or delete, inside the same transaction, with the rows it will change.
    """
    try:
        inner_sql, inner_params = (
            queryset.order_by().annotate(_audit_oid=F("pk")).values("_audit_oid").query.sql_with_params()
        )
    except EmptyResultSet:  # a selection Django knows is empty (``pk__in=[]``): nothing to record
        return
    fields = _actor_fields(actor)
    created = connection.ops.adapt_datetimefield_value(_stamp())
    changes_sql = "CAST(%s AS jsonb)" if connection.vendor == "postgresql" else "%s"
    table = connection.ops.quote_name(AuditEntry._meta.db_table)
    # Only identifiers and the ORM's own SQL are interpolated; every value is a parameter.
    object_id = uuid_text_sql("sel._audit_oid", connection.vendor)
    sql = (
        f"INSERT INTO {table} (created_at, actor_id, actor_name, action, object_type, object_id, changes) "  # noqa: S608
        f"SELECT %s, %s, %s, %s, %s, {object_id}, {changes_sql} FROM ({inner_sql}) sel"
    )
    actor_id = fields["actor"].pk if fields["actor"] is not None else None
    encoded = None if changes is None else json.dumps(changes, sort_keys=True)
    params = (created, actor_id, fields["actor_name"], action, object_type, encoded, *inner_params)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def audit_list(
    *,
    actor: str | None = None,
    action: str | None = None,
    object_type: str | None = None,
    object_id: str | None = None,
    created_at: datetime | None = None,
    created_after: datetime | None = None,
    created_before: datetime | None = None,
) -> QuerySet[AuditEntry]:
    """Entries newest first, narrowed by every condition given (``actor`` is a username)."""
    entries = AuditEntry.objects.all()
    if actor:
        entries = entries.filter(actor_name=actor)
    if action:
        entries = entries.filter(action=action)
    if object_type:
        entries = entries.filter(object_type=object_type)
    if object_id:
        entries = entries.filter(object_id=object_id)
    if created_at:
        entries = entries.filter(created_at=created_at)
    if created_after:
        entries = entries.filter(created_at__gte=created_after)
    if created_before:
        entries = entries.filter(created_at__lt=created_before)
    return entries.order_by("-created_at", "-id")


GROUP_KEY = ("created_at", "actor_name", "action", "object_type")
VARIES = object()  # a group's ``changes`` when its entries' changes differ


def audit_groups(*, entries: QuerySet[AuditEntry]) -> QuerySet[AuditEntry]:
    """The newest entry of each group of ``entries`` written by one operation (same ``created_at``,
    actor, action and object type), in the order of ``entries``; each is annotated with the group's
    size and the bounds of its changes (read them with ``group_size`` and ``group_changes``).

    Groups count only the entries of ``entries``, so a filter narrows a group rather than hiding it.
    The database groups every entry of ``entries`` before a page is cut from the groups.
    """
    key = [F(name) for name in GROUP_KEY]
    changes_text = Cast("changes", TextField())
    return entries.annotate(
        group_rank=Window(RowNumber(), partition_by=key, order_by=F("id").desc()),
        group_size=Window(Count("id"), partition_by=key),
        group_changed=Window(Count("changes"), partition_by=key),
        group_changes_low=Window(Min(changes_text), partition_by=key),
        group_changes_high=Window(Max(changes_text), partition_by=key),
    ).filter(group_rank=1)


def group_size(entry: AuditEntry) -> int:
    """How many entries the group of an entry of ``audit_groups`` holds (1 for a plain entry)."""
    return int(getattr(entry, "group_size", 1))


def group_changes(entry: AuditEntry) -> Any:
    """The ``changes`` every entry of the group shares, or ``VARIES`` when they differ."""
    if group_size(entry) == 1:
        return entry.changes
    changed = entry.group_changed  # type: ignore[attr-defined]
    if changed == 0:
        return None
    if changed == group_size(entry) and entry.group_changes_low == entry.group_changes_high:  # type: ignore[attr-defined]
        return entry.changes
    return VARIES


def group_key(entry: AuditEntry) -> tuple[Any, ...]:
    return tuple(getattr(entry, name) for name in GROUP_KEY)


@dataclass(frozen=True)
class AuditGroup:
    """One operation's entries: ``object_ids`` are the first ones written, at most ``OBJECT_IDS_SHOWN``."""

    created_at: datetime
    actor_name: str
    action: str
    object_type: str
    count: int
    object_ids: list[str]


OBJECT_IDS_SHOWN = 20


def audit_group_list(*, entries: QuerySet[AuditEntry], offset: int, count: int) -> list[AuditGroup]:
    """Groups ``offset`` to ``offset + count`` of ``entries`` (``audit_groups``), each with its first
    object ids, in two queries whatever the page and group sizes."""
    groups = list(audit_groups(entries=entries)[offset : offset + count])
    if not groups:
        return []
    ranked = (
        entries.filter(created_at__in={group.created_at for group in groups})
        .annotate(group_rank=Window(RowNumber(), partition_by=[F(n) for n in GROUP_KEY], order_by=F("id").asc()))
        .filter(group_rank__lte=OBJECT_IDS_SHOWN)
        .order_by("id")
        .values_list(*GROUP_KEY, "object_id")
    )
    object_ids: dict[tuple[Any, ...], list[str]] = {}
    for *key, object_id in ranked:
        object_ids.setdefault(tuple(key), []).append(object_id)
    return [
        AuditGroup(
            created_at=group.created_at,
            actor_name=group.actor_name,
            action=group.action,
            object_type=group.object_type,
            count=group_size(group),
            object_ids=object_ids[group_key(group)],
        )
        for group in groups
    ]
