"""Writing and reading the audit trail.

Services call these inside their own transaction, so an entry exists exactly when the
write it describes was committed. Bulk writes cost a constant number of queries.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from django.core.exceptions import EmptyResultSet
from django.db import connection
from django.db.models import F, QuerySet
from django.utils import timezone

from tunix_rt.db.functions import uuid_text_sql
from tunix_rt.db.rows import Table, insert_rows
from tunix_rt.models import AuditEntry


def _actor_fields(actor: Any) -> dict[str, Any]:
    if actor is None or not getattr(actor, "is_authenticated", False):
        return {"actor": None, "actor_name": ""}
    return {"actor": actor, "actor_name": actor.get_username()}


def audit_record(
    *, actor: Any, action: str, object_type: str, object_id: Any, changes: dict[str, Any] | None = None
) -> AuditEntry:
    """One entry (one query)."""
    return AuditEntry.objects.create(
        **_actor_fields(actor), action=action, object_type=object_type, object_id=str(object_id), changes=changes
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
    head = (timezone.now(), fields["actor"].pk if fields["actor"] is not None else None, fields["actor_name"])
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
    created = connection.ops.adapt_datetimefield_value(timezone.now())
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
    if created_after:
        entries = entries.filter(created_at__gte=created_after)
    if created_before:
        entries = entries.filter(created_at__lt=created_before)
    return entries.order_by("-created_at", "-id")
