from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.contrib.admin.sites import site
from django.test import RequestFactory
from django.utils import timezone
from rest_framework.test import APIClient

from traces.bulk import traces_bulk_update
from traces.models import Trace, TraceStatus
from traces.tests.factories import TraceFactory, make_payload
from tunix_rt.audit import audit_record, audit_record_selection
from tunix_rt.models import AuditEntry

pytestmark = pytest.mark.django_db


def post(client: APIClient, url: str, body: Any) -> Any:
    return client.post(url, data=json.dumps(body), content_type="application/json")


def test_create_update_and_delete_through_the_api_are_audited(api_client: APIClient, staff_user: Any) -> None:
    trace_id = post(api_client, "/api/traces", make_payload(1)).json()["id"]
    api_client.patch(f"/api/traces/{trace_id}", {"status": "approved", "tags": ["gold"]}, format="json")
    api_client.patch(f"/api/traces/{trace_id}", {"status": "approved"}, format="json")  # no change: no entry
    api_client.delete(f"/api/traces/{trace_id}")

    admin = APIClient()
    admin.force_authenticate(staff_user)
    body = admin.get("/api/audit", {"object_id": trace_id}).json()
    rows = body["data"]
    assert [row["action"] for row in rows] == ["delete", "update", "create"]
    assert {row["actor"] for row in rows} == {"curator"}
    assert {row["object_type"] for row in rows} == {"trace"}
    assert rows[1]["changes"] == {"status": ["pending", "approved"], "tags": [[], ["gold"]]}
    assert rows[0]["changes"] is None and rows[2]["changes"] is None
    assert set(rows[0]) == {"id", "created_at", "actor", "action", "object_type", "object_id", "changes"}
    assert body["pagination"] == {"limit": 20, "offset": 0, "next_offset": None}


def test_audit_filters(staff_user: Any, user: Any) -> None:
    old = audit_record(actor=user, action="create", object_type="trace", object_id="a")
    AuditEntry.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=3))
    audit_record(actor=None, action="build", object_type="dataset", object_id="ds-1")
    audit_record(actor=user, action="score", object_type="trace", object_id="b", changes={"baseline": [None, 1.0]})
    admin = APIClient()
    admin.force_authenticate(staff_user)

    def ids(**params: Any) -> list[str]:
        response = admin.get("/api/audit", params)
        assert response.status_code == 200, response.json()
        return [row["object_id"] for row in response.json()["data"]]

    assert ids() == ["b", "ds-1", "a"]
    assert ids(actor="curator") == ["b", "a"]
    assert ids(action="build") == ["ds-1"]
    assert ids(object_type="trace", object_id="a") == ["a"]
    yesterday = (timezone.now() - timedelta(days=1)).isoformat()
    assert ids(created_after=yesterday) == ["b", "ds-1"]
    assert ids(created_before=yesterday) == ["a"]
    assert ids(limit=1, offset=1) == ["ds-1"]
    assert admin.get("/api/audit", {"action": "explode"}).status_code == 400
    system = admin.get("/api/audit", {"action": "build"}).json()["data"][0]
    assert system["actor"] is None


def test_audit_is_read_only_everywhere(staff_user: Any, user: Any) -> None:
    entry = audit_record(actor=user, action="create", object_type="trace", object_id="x")
    admin = APIClient()
    admin.force_authenticate(staff_user)
    assert admin.post("/api/audit", {}, format="json").status_code == 405
    assert admin.delete("/api/audit").status_code == 405
    request = RequestFactory().get("/")
    request.user = staff_user
    model_admin = site._registry[AuditEntry]
    assert model_admin.has_view_permission(request, entry)
    assert not model_admin.has_add_permission(request)
    assert not model_admin.has_change_permission(request, entry)
    assert not model_admin.has_delete_permission(request, entry)


def test_admin_audit_page_lists_and_filters(client: Any, staff_user: Any, user: Any) -> None:
    audit_record(actor=user, action="create", object_type="trace", object_id="seen-one")
    audit_record(actor=user, action="build", object_type="dataset", object_id="other-one")
    client.force_login(staff_user)
    page = client.get("/admin/tunix_rt/auditentry/", {"action__exact": "create"})
    assert page.status_code == 200
    assert b"seen-one" in page.content and b"other-one" not in page.content


def test_batch_audit_costs_one_query_whatever_its_size(
    api_client: APIClient, staff_user: Any, django_assert_num_queries: Any
) -> None:
    for size in (3, 1000):
        payloads = [make_payload(n + size) for n in range(size)]
        with django_assert_num_queries(7):  # 6 without the near-duplicate index INSERT
            assert post(api_client, "/api/traces/batch", payloads).status_code == 201
    assert AuditEntry.objects.filter(action="create", object_type="trace").count() == 1003
    stored = {str(i) for i in Trace.objects.values_list("id", flat=True)}
    assert set(AuditEntry.objects.values_list("object_id", flat=True)) == stored


def test_bulk_status_change_is_audited_per_trace_in_constant_queries(user: Any, django_assert_num_queries: Any) -> None:
    TraceFactory.create_batch(5, status=TraceStatus.PENDING)
    TraceFactory.create_batch(3, status=TraceStatus.REJECTED)
    already = TraceFactory.create(status=TraceStatus.APPROVED)
    # savepoint, count, one audit INSERT ... SELECT per other old status, two UPDATEs, release:
    # the same for any number of traces
    with django_assert_num_queries(7):
        result = traces_bulk_update(traces=Trace.objects.all(), status="approved", actor=user)
    assert result.changed == 8
    entries = AuditEntry.objects.filter(action="update", object_type="trace")
    assert entries.count() == 8
    assert not entries.filter(object_id=str(already.id)).exists()
    by_change = {json.dumps(e.changes) for e in entries}
    assert by_change == {'{"status": ["pending", "approved"]}', '{"status": ["rejected", "approved"]}'}
    assert {e.actor_name for e in entries} == {"curator"}
    assert {uuid.UUID(e.object_id) for e in entries} == set(
        Trace.objects.exclude(id=already.id).values_list("id", flat=True)
    )


def test_selection_audit_writes_canonical_ids_and_needs_one_query(django_assert_num_queries: Any) -> None:
    traces = TraceFactory.create_batch(4)
    with django_assert_num_queries(1):
        audit_record_selection(actor=None, action="delete", object_type="trace", queryset=Trace.objects.all())
    assert sorted(AuditEntry.objects.values_list("object_id", flat=True)) == sorted(str(t.id) for t in traces)
    assert set(AuditEntry.objects.values_list("actor_name", flat=True)) == {""}


def test_admin_bulk_delete_and_actions_record_the_staff_member(client: Any, staff_user: Any) -> None:
    traces = TraceFactory.create_batch(2)
    client.force_login(staff_user)
    client.post(
        "/admin/traces/trace/",
        {"action": "approve", "_selected_action": [str(t.id) for t in traces]},
    )
    client.post(
        "/admin/traces/trace/",
        {"action": "delete_selected", "_selected_action": [str(t.id) for t in traces], "post": "yes"},
    )
    assert not Trace.objects.exists()
    actions = sorted(AuditEntry.objects.values_list("action", "actor_name"))
    assert actions == [("delete", "admin"), ("delete", "admin"), ("update", "admin"), ("update", "admin")]


def test_dataset_build_eval_set_and_runs_are_audited(
    api_client: APIClient, staff_user: Any, role_client: Callable[[str], APIClient]
) -> None:
    post(api_client, "/api/traces/batch", [make_payload(n) for n in range(3)])
    assert post(api_client, "/api/datasets/build", {"dataset_name": "d", "dataset_version": "1"}).status_code == 201
    item = {"id": "q1", "prompt": "What is 9 + 9?", "expected_answer": "18"}
    assert post(api_client, "/api/eval/sets", {"name": "held", "items": [item]}).status_code == 201
    run = post(api_client, "/api/training/runs", {"dataset_key": "d-1"}).json()
    assert post(api_client, f"/api/training/runs/{run['run_id']}/cancel", {}).status_code == 200
    rows = {(e.action, e.object_type, e.object_id) for e in AuditEntry.objects.exclude(object_type="trace")}
    assert rows == {
        ("build", "dataset", "d-1"),
        ("create", "eval_set", "held"),
        ("start", "training_run", run["run_id"]),
        ("cancel", "training_run", run["run_id"]),
    }


def test_deleting_a_user_clears_the_references_the_database_does_not_check(api_client: APIClient, user: Any) -> None:
    """``Trace.created_by`` and ``AuditEntry.actor`` have no database constraint: Django's SET_NULL
    must still empty them, and the entries keep the name."""
    created = post(api_client, "/api/traces/batch", [make_payload(n) for n in range(3)]).json()["traces"]
    ids = [item["id"] for item in created]
    assert set(Trace.objects.filter(id__in=ids).values_list("created_by", flat=True)) == {user.pk}
    name = user.username
    user.delete()
    assert set(Trace.objects.filter(id__in=ids).values_list("created_by", flat=True)) == {None}
    entries = AuditEntry.objects.filter(object_id__in=ids)
    assert entries.count() == 3
    assert set(entries.values_list("actor", "actor_name")) == {(None, name)}
    listed = api_client.get("/api/traces?limit=5")
    assert listed.status_code in {401, 403}  # the token went with its user
