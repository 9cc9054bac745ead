"""The database itself refuses an audit entry whose actor does not exist."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, connection, transaction

from tunix_rt.audit import audit_record
from tunix_rt.models import AuditAction, AuditEntry, AuditObjectType

pytestmark = pytest.mark.django_db(transaction=True)


def test_an_actor_that_does_not_exist_is_refused_at_commit() -> None:
    audit_record(actor=None, action=AuditAction.CREATE, object_type=AuditObjectType.TRACE, object_id="t-1")
    with pytest.raises(IntegrityError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE tunix_rt_auditentry SET actor_id = %s", [987_654])
    assert list(AuditEntry.objects.values_list("actor_id", "object_id")) == [(None, "t-1")]
