from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.contrib.admin.sites import site
from django.db import connection, transaction
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from rest_framework.test import APIClient

from traces.bulk import traces_bulk_update
from traces.models import Trace, TraceStatus
from traces.services import trace_update_curation, traces_score
from traces.tests.factories import TraceFactory, make_payload
from tunix_rt.audit import (
    audit_group_list,
    audit_list,
    audit_operation,
    audit_record,
    audit_record_many,
    audit_record_selection,
)
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


def staff_api(staff_user: Any) -> APIClient:
    client = APIClient()
    client.force_authenticate(staff_user)
    return client


def groups(client: APIClient, **params: Any) -> list[dict[str, Any]]:
    response = client.get("/api/audit/groups", params)
    assert response.status_code == 200, response.json()
    return response.json()["data"]


def test_a_bulk_score_in_chunks_and_a_bulk_approve_each_read_as_one_group(staff_user: Any, user: Any) -> None:
    pending = TraceFactory.create_batch(5, status=TraceStatus.PENDING)
    rejected = TraceFactory.create_batch(2, status=TraceStatus.REJECTED)
    single = TraceFactory.create(status=TraceStatus.APPROVED)
    bulk_ids = {str(t.id) for t in pending + rejected}
    traces_score(traces=Trace.objects.all(), chunk_size=3, actor=user)  # three chunks, three statements
    trace_update_curation(trace=single, notes="checked by hand", actor=user)
    traces_bulk_update(traces=Trace.objects.exclude(id=single.id), status="approved", actor=user)  # two old statuses

    rows = groups(staff_api(staff_user))
    assert [(g["action"], g["count"], g["actor"], g["object_type"]) for g in rows] == [
        ("update", 7, "curator", "trace"),
        ("update", 1, "curator", "trace"),
        ("score", 8, "curator", "trace"),
    ]
    assert set(rows[0]["object_ids"]) == bulk_ids and len(rows[0]["object_ids"]) == 7
    assert rows[1]["object_ids"] == [str(single.id)]
    assert set(rows[2]["object_ids"]) == bulk_ids | {str(single.id)}
    assert set(rows[0]) == {"created_at", "actor", "action", "object_type", "count", "object_ids"}
    assert AuditEntry.objects.count() == 16  # the entries themselves are unchanged: one per trace and change


def test_a_group_expands_to_exactly_its_entries_through_the_list(staff_user: Any, user: Any) -> None:
    TraceFactory.create_batch(6)
    traces_score(traces=Trace.objects.all(), chunk_size=4, actor=user)
    audit_record(actor=user, action="score", object_type="trace", object_id="later")
    client = staff_api(staff_user)
    group = groups(client, action="score")[1]
    assert group["count"] == 6
    params = {k: group[k] for k in ("created_at", "actor", "action", "object_type")}
    listed = client.get("/api/audit", {**params, "limit": 100}).json()["data"]
    assert sorted(row["object_id"] for row in listed) == sorted(
        str(i) for i in Trace.objects.values_list("id", flat=True)
    )
    assert {row["created_at"] for row in listed} == {group["created_at"]}


def test_a_group_names_its_first_twenty_objects_in_the_order_written(staff_user: Any) -> None:
    ids = [f"obj-{n:02}" for n in range(25)]
    audit_record_many(actor=None, action="create", object_type="trace", object_ids=ids)
    (group,) = groups(staff_api(staff_user))
    assert group["count"] == 25 and group["object_ids"] == ids[:20] and group["actor"] is None


def test_groups_count_the_entries_that_match_the_filters(staff_user: Any) -> None:
    audit_record_many(actor=None, action="delete", object_type="trace", object_ids=["a", "b", "c"])
    client = staff_api(staff_user)
    assert [(g["count"], g["object_ids"]) for g in groups(client, object_id="b")] == [(1, ["b"])]
    assert groups(client, action="create") == []
    for bad in ({"action": "explode"}, {"created_at": "yesterday"}, {"limit": "0"}, {"actor": ""}):
        assert client.get("/api/audit/groups", bad).status_code == 400, bad


def test_groups_page_like_every_list_and_cost_two_queries_whatever_the_sizes(
    staff_user: Any, django_assert_num_queries: Any
) -> None:
    client = staff_api(staff_user)
    for n in range(5):
        with audit_operation():
            audit_record_many(
                actor=None, action="create", object_type="trace", object_ids=[f"{n}-{i}" for i in range(n * 30 + 1)]
            )
    with django_assert_num_queries(2):  # the page of groups, then their first object ids
        body = client.get("/api/audit/groups", {"limit": 2, "offset": 1}).json()
    assert [g["count"] for g in body["data"]] == [91, 61]
    assert body["pagination"] == {"limit": 2, "offset": 1, "next_offset": 3}
    with django_assert_num_queries(2):
        assert [g["count"] for g in groups(client, limit=100)] == [121, 91, 61, 31, 1]
    with django_assert_num_queries(1):  # a page past the end has no object ids to read
        assert groups(client, offset=5) == []
    response = staff_api(staff_user).get("/api/audit/groups", {"limit": 1})
    assert response.status_code == 200


def test_only_staff_read_the_groups(role_client: Callable[[str], APIClient], anon_client: APIClient) -> None:
    assert role_client("trainer").get("/api/audit/groups").status_code == 403
    assert anon_client.get("/api/audit/groups").status_code in {401, 403}
    assert role_client("admin").get("/api/audit/groups").status_code == 200


def test_one_operation_shares_one_stamp_and_a_nested_one_keeps_it() -> None:
    with audit_operation() as stamp:
        first = audit_record(actor=None, action="create", object_type="trace", object_id="a")
        with audit_operation() as inner:
            audit_record_many(actor=None, action="create", object_type="trace", object_ids=["b", "c"])
        audit_record_selection(actor=None, action="delete", object_type="trace", queryset=Trace.objects.none())
    after = audit_record(actor=None, action="create", object_type="trace", object_id="d")
    assert inner == stamp == first.created_at
    assert set(AuditEntry.objects.exclude(object_id="d").values_list("created_at", flat=True)) == {stamp}
    assert after.created_at > stamp


@hypothesis_settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(sizes=st.lists(st.integers(min_value=1, max_value=30), min_size=1, max_size=6))
def test_each_operation_reads_as_one_group_of_its_size(sizes: list[int]) -> None:
    with transaction.atomic():
        for n, size in enumerate(sizes):
            ids = [f"{n}-{i}" for i in range(size)]
            if size == 1:
                audit_record(actor=None, action="update", object_type="trace", object_id=ids[0])
            else:
                audit_record_many(actor=None, action="update", object_type="trace", object_ids=ids)
        found = audit_group_list(entries=audit_list(), offset=0, count=100)
        transaction.set_rollback(True)
    assert [group.count for group in found] == sizes[::-1]
    assert [group.object_ids for group in found] == [
        [f"{n}-{i}" for i in range(min(s, 20))] for n, s in enumerate(sizes)
    ][::-1]


def admin_rows(page: Any) -> list[str]:
    html = page.content.decode()
    body = html.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    return [row for row in body.split("<tr")[1:]]


def test_the_admin_shows_one_row_per_operation_that_expands_to_its_entries(
    client: Any, staff_user: Any, user: Any
) -> None:
    traces = TraceFactory.create_batch(2, status=TraceStatus.PENDING)
    traces += TraceFactory.create_batch(2, status=TraceStatus.REJECTED)
    traces_bulk_update(traces=Trace.objects.all(), status="approved", actor=user)
    audit_record(actor=user, action="update", object_type="trace", object_id="by-hand", changes={"notes": ["", "x"]})
    traces_score(traces=Trace.objects.all(), chunk_size=3, actor=user)
    client.force_login(staff_user)
    page = client.get("/admin/tunix_rt/auditentry/")
    assert page.status_code == 200
    rows = admin_rows(page)
    assert len(rows) == 3
    # the factory's traces score alike, so the score group shows the one change they share
    assert "4 entries" in rows[0] and "baseline" in rows[0] and "differ" not in rows[0]
    assert "by-hand" in rows[1] and "notes" in rows[1] and "entries" not in rows[1]
    assert "4 entries" in rows[2] and "(differ per entry)" in rows[2]  # pending or rejected before
    for row, action in ((rows[0], "score"), (rows[2], "update")):
        link = row.split('class="audit-group"', 1)[0].rsplit('href="', 1)[1].split('"', 1)[0]
        expanded = client.get("/admin/tunix_rt/auditentry/" + link.replace("&amp;", "&"))
        assert expanded.status_code == 200
        shown = admin_rows(expanded)
        assert len(shown) == 4 and all(action.capitalize() in r for r in shown)
        assert sorted(next(str(t.id) for t in traces if str(t.id) in r) for r in shown) == sorted(
            str(t.id) for t in traces
        )
    every = admin_rows(client.get("/admin/tunix_rt/auditentry/", {"entries": "each"}))
    assert len(every) == 9
    filtered = admin_rows(client.get("/admin/tunix_rt/auditentry/", {"action__exact": "update"}))
    assert len(filtered) == 2


def test_the_admin_refuses_an_unknown_view_and_reads_in_constant_queries(client: Any, staff_user: Any) -> None:
    client.force_login(staff_user)
    assert client.get("/admin/tunix_rt/auditentry/", {"entries": "all"})["Location"].endswith("?e=1")
    counts = []
    for size in (2, 40):
        with audit_operation():
            audit_record_many(
                actor=None, action="delete", object_type="trace", object_ids=[f"{size}-{i}" for i in range(size)]
            )
        audit_record(actor=None, action="build", object_type="dataset", object_id=f"ds-{size}")
        with CaptureQueriesContext(connection) as queries:
            assert client.get("/admin/tunix_rt/auditentry/").status_code == 200
        counts.append(len(queries))
    assert counts[0] == counts[1]
    (newest_group, *_) = [row for row in admin_rows(client.get("/admin/tunix_rt/auditentry/")) if "entries" in row]
    link = newest_group.split('class="audit-group"', 1)[0].rsplit('href="', 1)[1].split('"', 1)[0]
    assert "actor_name__exact=&" in link.replace("&amp;", "&")  # a command's entries have no actor
    shown = admin_rows(client.get("/admin/tunix_rt/auditentry/" + link.replace("&amp;", "&")))
    assert sorted(row.split('field-objects">', 1)[1].split("<", 1)[0] for row in shown) == sorted(
        f"40-{i}" for i in range(40)
    )
