"""The database itself refuses a trace or a signature that points at nothing."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.db import IntegrityError, connection, transaction

from traces.models import Trace, TraceSignature
from traces.near_duplicates import trace_index_write
from traces.services import trace_create
from traces.tests.factories import TraceFactory, make_payload
from tunix_rt.models import AuditEntry

pytestmark = pytest.mark.django_db(transaction=True)


def _uuid_param(value: uuid.UUID) -> Any:
    return Trace._meta.pk.get_db_prep_value(value, connection)


def test_a_creator_that_does_not_exist_is_refused_at_commit() -> None:
    trace = TraceFactory.create()
    with pytest.raises(IntegrityError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE traces_trace SET created_by_id = %s WHERE id = %s", [987_654, _uuid_param(trace.pk)])
    trace.refresh_from_db()
    assert trace.created_by_id is None


def test_a_signature_of_no_trace_is_refused_at_commit() -> None:
    trace = TraceFactory.create()
    trace_index_write(prompts={trace.pk: trace.prompt})
    with pytest.raises(IntegrityError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "UPDATE traces_tracesignature SET trace_id = %s WHERE trace_id = %s",
            [_uuid_param(uuid.uuid4()), _uuid_param(trace.pk)],
        )
    assert list(TraceSignature.objects.values_list("trace_id", flat=True)) == [trace.pk]


def test_deleting_a_user_keeps_their_traces_and_audit_entries() -> None:
    author = get_user_model().objects.create_user(username="author")
    trace = trace_create(payload=make_payload(1), actor=author)  # type: ignore[arg-type]
    author.delete()
    trace.refresh_from_db()
    assert trace.created_by_id is None
    entry = AuditEntry.objects.get(object_id=str(trace.pk))
    assert (entry.actor_id, entry.actor_name) == (None, "author")


def test_deleting_a_trace_deletes_its_signature() -> None:
    trace = trace_create(payload=make_payload(2))  # type: ignore[arg-type]
    assert TraceSignature.objects.filter(trace_id=trace.pk).exists()
    trace.delete()
    assert not TraceSignature.objects.exists()
