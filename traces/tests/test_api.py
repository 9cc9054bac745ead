from __future__ import annotations

import json
import re
import uuid
from datetime import timedelta
from typing import Any
from unittest.mock import ANY

import pytest
from django.test import override_settings
from django.utils import timezone
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from rest_framework.test import APIClient

from traces.models import Score, Trace, TraceStatus
from traces.services import traces_import_batch
from traces.tests.factories import TraceFactory, make_payload

pytestmark = pytest.mark.django_db


def post_json(client: APIClient, url: str, body: Any) -> Any:
    return client.post(url, data=json.dumps(body), content_type="application/json")


def test_create_returns_201_with_id_created_at_and_version(api_client: APIClient) -> None:
    response = post_json(api_client, "/api/traces", make_payload(1))
    assert response.status_code == 201
    body = response.json()
    assert set(body) == {"id", "created_at", "trace_version"}
    assert body["trace_version"] == "1.0"
    stored = Trace.objects.get(id=body["id"])
    assert stored.source == "unit-test"
    assert stored.step_count == 2
    assert len(stored.content_hash) == 64
    assert body["created_at"].endswith("Z")


def test_anonymous_requests_get_401(anon_client: APIClient) -> None:
    assert anon_client.get("/api/traces").status_code == 401
    assert post_json(anon_client, "/api/traces", make_payload()).status_code == 401
    assert anon_client.get("/api/").status_code == 401


def test_session_login_is_accepted(client: Any, staff_user: Any) -> None:
    client.force_login(staff_user)
    assert client.get("/api/traces").status_code == 200


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"prompt": ""}, "prompt"),
        ({"prompt": 5}, "prompt"),
        ({"prompt": "x" * 50_001}, "prompt"),
        ({"final_answer": None}, "final_answer"),
        ({"trace_version": "v" * 65}, "trace_version"),
        ({"steps": []}, "steps"),
        ({"steps": "not a list"}, "steps"),
        ({"steps": [{"i": -1, "type": "t", "content": "c"}]}, "steps"),
        ({"steps": [{"i": "0", "type": "t", "content": "c"}]}, "steps"),
        ({"steps": [{"i": True, "type": "t", "content": "c"}]}, "steps"),
        ({"steps": [{"i": 0, "type": "t" * 65, "content": "c"}]}, "steps"),
        ({"steps": [{"i": 0, "type": "t", "content": "c" * 20_001}]}, "steps"),
        ({"steps": [{"i": 0, "type": "t", "content": "a"}, {"i": 0, "type": "t", "content": "b"}]}, "steps"),
        ({"steps": [{"i": n, "type": "t", "content": "c"} for n in range(1001)]}, "steps"),
        ({"meta": [1, 2]}, "meta"),
        ({"meta": {"source": 7}}, "meta"),
        ({"meta": {"note": "nul\x00byte"}}, "meta"),
        ({"prompt": "nul\x00byte"}, "prompt"),
    ],
)
def test_create_rejects_invalid_fields_with_400(api_client: APIClient, change: dict[str, Any], field: str) -> None:
    response = post_json(api_client, "/api/traces", make_payload(**change))
    assert response.status_code == 400
    assert field in response.json()
    assert Trace.objects.count() == 0


def test_missing_fields_are_named(api_client: APIClient) -> None:
    response = post_json(api_client, "/api/traces", {})
    assert response.status_code == 400
    assert set(response.json()) == {"trace_version", "prompt", "final_answer", "steps"}


@pytest.mark.parametrize("body", ["{not json", "[" * 100_000, "NaN", '{"prompt": NaN}'])
def test_malformed_json_is_400_not_500(api_client: APIClient, body: str) -> None:
    response = api_client.post("/api/traces", data=body, content_type="application/json")
    assert response.status_code == 400


def test_meta_may_be_null_or_missing(api_client: APIClient) -> None:
    payload = make_payload()
    del payload["meta"]
    assert post_json(api_client, "/api/traces", payload).status_code == 201
    assert post_json(api_client, "/api/traces", make_payload(meta=None)).status_code == 201


@override_settings(TRACE_MAX_BYTES=2_000)
def test_create_over_trace_max_bytes_is_413(api_client: APIClient) -> None:
    response = post_json(api_client, "/api/traces", make_payload(prompt="p" * 2_500))
    assert response.status_code == 413
    assert Trace.objects.count() == 0


def test_batch_creates_all_in_input_order(api_client: APIClient) -> None:
    payloads = [make_payload(n) for n in range(5)]
    response = post_json(api_client, "/api/traces/batch", payloads)
    assert response.status_code == 201
    body = response.json()
    assert body["created_count"] == 5
    prompts = [Trace.objects.get(id=item["id"]).prompt for item in body["traces"]]
    assert prompts == [p["prompt"] for p in payloads]
    assert all(set(item) == {"id", "created_at", "trace_version"} for item in body["traces"])


def test_batch_with_one_invalid_item_stores_nothing_and_keys_errors_by_index(api_client: APIClient) -> None:
    payloads = [make_payload(0), make_payload(1, prompt=""), make_payload(2), make_payload(3, steps=[])]
    response = post_json(api_client, "/api/traces/batch", payloads)
    assert response.status_code == 400
    assert set(response.json()) == {"1", "3"}
    assert "prompt" in response.json()["1"]
    assert Trace.objects.count() == 0


@pytest.mark.parametrize("body", [[], {"not": "a list"}, "text"])
def test_batch_rejects_empty_or_non_list(api_client: APIClient, body: Any) -> None:
    assert post_json(api_client, "/api/traces/batch", body).status_code == 400


@override_settings(TRACE_BATCH_MAX=3)
def test_batch_over_trace_batch_max_is_400(api_client: APIClient) -> None:
    response = post_json(api_client, "/api/traces/batch", [make_payload(n) for n in range(4)])
    assert response.status_code == 400
    assert Trace.objects.count() == 0


@override_settings(TRACE_BATCH_MAX_BYTES=5_000, TRACE_MAX_BYTES=100)
def test_batch_body_limit_is_its_own_413(api_client: APIClient) -> None:
    small = post_json(api_client, "/api/traces/batch", [make_payload(1)])
    assert small.status_code == 201
    large = post_json(api_client, "/api/traces/batch", [make_payload(n) for n in range(30)])
    assert large.status_code == 413
    assert Trace.objects.count() == 1


def _batch_queries(api_client: APIClient, size: int, django_assert_num_queries: Any, expected: int) -> None:
    payloads = [make_payload(n) for n in range(size)]
    with django_assert_num_queries(expected):
        response = post_json(api_client, "/api/traces/batch", payloads)
    assert response.status_code == 201
    assert response.json()["created_count"] == size


def test_batch_query_count_does_not_grow_with_size(api_client: APIClient, django_assert_num_queries: Any) -> None:
    # token lookup with the role, savepoint/transaction, one INSERT of traces, one of signatures with their
    # band keys, one of audit entries, one re-fetch: the same for 2 and 1,000 traces
    _batch_queries(api_client, 2, django_assert_num_queries, 7)
    _batch_queries(api_client, 1000, django_assert_num_queries, 7)
    assert Trace.objects.count() == 1002


def test_list_shape_newest_first_and_pagination(api_client: APIClient) -> None:
    now = timezone.now()
    traces = [TraceFactory.create(created_at=now - timedelta(minutes=n)) for n in range(5)]
    response = api_client.get("/api/traces", {"limit": 2})
    assert response.status_code == 200
    body = response.json()
    assert [row["id"] for row in body["data"]] == [str(t.id) for t in traces[:2]]
    assert body["pagination"] == {"limit": 2, "offset": 0, "next_offset": 2, "next_cursor": ANY}
    last = api_client.get("/api/traces", {"limit": 2, "offset": 4}).json()
    assert [row["id"] for row in last["data"]] == [str(traces[4].id)]
    assert last["pagination"]["next_offset"] is None
    row = body["data"][0]
    assert {"id", "created_at", "trace_version", "status", "tags", "source", "step_count"} <= set(row)


def test_list_ties_on_created_at_break_by_id(api_client: APIClient) -> None:
    moment = timezone.now()
    traces = [TraceFactory.create(created_at=moment) for _ in range(4)]
    ids = [row["id"] for row in api_client.get("/api/traces").json()["data"]]
    assert ids == sorted((str(t.id) for t in traces), reverse=True)


@pytest.mark.parametrize("params", [{"limit": 0}, {"limit": 101}, {"offset": -1}, {"limit": "x"}])
def test_list_out_of_range_paging_is_400(api_client: APIClient, params: dict[str, Any]) -> None:
    assert api_client.get("/api/traces", params).status_code == 400


def test_list_default_limit_is_20(api_client: APIClient) -> None:
    TraceFactory.create_batch(25)
    body = api_client.get("/api/traces").json()
    assert len(body["data"]) == 20
    cursor = body["pagination"]["next_cursor"]
    assert cursor and body["pagination"] == {"limit": 20, "offset": 0, "next_offset": 20, "next_cursor": cursor}


def test_list_filters(api_client: APIClient) -> None:
    old = TraceFactory.create(
        meta={"source": "games", "level": 3, "game": "duel"}, created_at=timezone.now() - timedelta(days=3)
    )
    new = TraceFactory.create(meta={"source": "math", "level": "3"}, prompt="Needle in a haystack", status="approved")
    new.tags.create(name="gold")

    def ids(**params: Any) -> set[str]:
        response = api_client.get("/api/traces", params)
        assert response.status_code == 200, response.json()
        return {row["id"] for row in response.json()["data"]}

    assert ids(source="games") == {str(old.id)}
    assert ids(status="approved") == {str(new.id)}
    assert ids(tag="gold") == {str(new.id)}
    assert ids(q="needle") == {str(new.id)}
    assert ids(created_before=(timezone.now() - timedelta(days=1)).isoformat()) == {str(old.id)}
    assert ids(created_after=(timezone.now() - timedelta(days=1)).isoformat()) == {str(new.id)}
    assert ids(meta__game="duel") == {str(old.id)}
    assert ids(meta__level="3") == {str(old.id), str(new.id)}
    assert ids(meta__missing="x") == set()


@pytest.mark.parametrize("params", [{"status": "bogus"}, {"created_after": "yesterday"}, {"meta__bad key": "1"}])
def test_list_invalid_filters_are_400(api_client: APIClient, params: dict[str, str]) -> None:
    assert api_client.get("/api/traces", params).status_code == 400


def test_list_query_budget_and_no_step_contents(api_client: APIClient, django_assert_num_queries: Any) -> None:
    TraceFactory.create_batch(30)
    tagged = TraceFactory.create()
    tagged.tags.create(name="zeta")
    tagged.tags.create(name="alpha")
    with django_assert_num_queries(2) as captured:  # token with the role; rows with creator and tags
        response = api_client.get("/api/traces", {"limit": 30})
    assert response.status_code == 200
    rows_sql = captured.captured_queries[1]["sql"]
    assert '"steps"' not in rows_sql and '"final_answer"' not in rows_sql
    rows = response.json()["data"]
    assert rows[0]["id"] == str(tagged.id) and rows[0]["tags"] == ["alpha", "zeta"]
    assert all(row["tags"] == [] for row in rows[1:])


def test_retrieve_returns_payload_and_curation_fields(api_client: APIClient) -> None:
    created = post_json(api_client, "/api/traces", make_payload(7)).json()
    body = api_client.get(f"/api/traces/{created['id']}").json()
    assert body["id"] == created["id"]
    assert body["payload"] == {
        "trace_version": "1.0",
        "prompt": "What is 7 + 2?",
        "final_answer": "9",
        "steps": [
            {"i": 0, "type": "parse", "content": "Read the numbers 7 and 2."},
            {"i": 1, "type": "compute", "content": "7 + 2 = 9"},
        ],
        "meta": {"source": "unit-test", "n": 7},
    }
    assert body["status"] == "pending" and body["tags"] == [] and body["notes"] == ""


@pytest.mark.parametrize("trace_id", ["5f0c3a34-9c1e-4d57-9a2b-6c1f2e8d7b40", "not-a-uuid", "123"])
def test_retrieve_missing_or_malformed_is_404(api_client: APIClient, trace_id: str) -> None:
    response = api_client.get(f"/api/traces/{trace_id}")
    assert response.status_code == 404
    assert "detail" in response.json()


def test_patch_changes_curation_fields_only(api_client: APIClient) -> None:
    trace = TraceFactory.create()
    url = f"/api/traces/{trace.id}"
    body = {"status": "approved", "tags": ["gold", "math", "gold"], "notes": "clean"}
    response = api_client.patch(url, data=json.dumps(body), content_type="application/json")
    assert response.status_code == 200
    assert response.json()["status"] == "approved"
    assert response.json()["tags"] == ["gold", "math"]
    assert response.json()["notes"] == "clean"
    immutable = api_client.patch(url, data=json.dumps({"prompt": "changed"}), content_type="application/json")
    assert immutable.status_code == 400
    assert "prompt" in immutable.json()
    trace.refresh_from_db()
    assert trace.prompt != "changed"
    assert trace.status == TraceStatus.APPROVED


@pytest.mark.parametrize("body", [{"status": "done"}, {"tags": ["bad tag"]}, {"tags": "gold"}, {}])
def test_patch_invalid_is_400(api_client: APIClient, body: dict[str, Any]) -> None:
    trace = TraceFactory.create()
    response = api_client.patch(f"/api/traces/{trace.id}", data=json.dumps(body), content_type="application/json")
    assert response.status_code == 400


def test_delete_is_204_then_404(api_client: APIClient) -> None:
    trace = TraceFactory.create()
    assert api_client.delete(f"/api/traces/{trace.id}").status_code == 204
    assert api_client.get(f"/api/traces/{trace.id}").status_code == 404
    assert api_client.delete(f"/api/traces/{trace.id}").status_code == 404


def test_score_stores_baseline(api_client: APIClient) -> None:
    trace = TraceFactory.create(steps=[{"i": n, "type": "t", "content": "x" * 250} for n in range(5)])
    response = post_json(api_client, f"/api/traces/{trace.id}/score", {"criteria": "baseline"})
    assert response.status_code == 201
    body = response.json()
    assert body["trace_id"] == str(trace.id)
    assert body["score"] == 50.0
    assert body["details"]["step_count"] == 5
    assert body["details"]["avg_step_length"] == 250.0
    assert body["details"]["total_chars"] == 1250
    assert body["details"]["step_score"] == 25.0
    assert body["details"]["length_score"] == 25.0
    assert body["details"]["criteria"] == "baseline"
    assert "scored_at" in body["details"]
    assert Score.objects.filter(trace=trace).count() == 1


def test_score_defaults_to_baseline_and_rejects_unknown(api_client: APIClient) -> None:
    trace = TraceFactory.create()
    assert post_json(api_client, f"/api/traces/{trace.id}/score", {}).status_code == 201
    bad = post_json(api_client, f"/api/traces/{trace.id}/score", {"criteria": "vibes"})
    assert bad.status_code == 400
    assert "criteria" in bad.json()
    assert post_json(api_client, f"/api/traces/{uuid.uuid4()}/score", {}).status_code == 404


def test_compare_returns_both_sides_scored(api_client: APIClient) -> None:
    base = TraceFactory.create(steps=[{"i": n, "type": "t", "content": "y" * 500} for n in range(10)])
    other = TraceFactory.create()
    response = api_client.get("/api/traces/compare", {"base": str(base.id), "other": str(other.id)})
    assert response.status_code == 200
    body = response.json()
    assert body["base"]["id"] == str(base.id) and body["base"]["score"] == 100.0
    assert body["other"]["payload"]["prompt"] == other.prompt
    assert set(body["base"]) == {"id", "created_at", "score", "trace_version", "status", "payload"}


def test_compare_missing_side_is_404_naming_it(api_client: APIClient) -> None:
    base = TraceFactory.create()
    missing = uuid.uuid4()
    response = api_client.get("/api/traces/compare", {"base": str(base.id), "other": str(missing)})
    assert response.status_code == 404
    assert "Other" in response.json()["detail"]
    assert api_client.get("/api/traces/compare", {"base": "nope", "other": str(base.id)}).status_code == 400


def test_health_is_open_and_healthy(anon_client: APIClient) -> None:
    response = anon_client.get("/api/health")
    assert response.status_code == 200
    assert response.json()["status"] == "healthy"


def test_health_is_503_when_database_fails(anon_client: APIClient, monkeypatch: pytest.MonkeyPatch) -> None:
    from django.db import DatabaseError

    from tunix_rt import health

    def broken_cursor() -> Any:
        raise DatabaseError("connection refused")

    monkeypatch.setattr(health.connection, "cursor", broken_cursor)
    response = anon_client.get("/api/health")
    assert response.status_code == 503
    assert response.json()["status"] == "unhealthy"


def test_schema_lists_enums_and_docs_serve_locally(anon_client: APIClient) -> None:
    schema = anon_client.get("/api/schema", {"format": "json"})
    assert schema.status_code == 200
    document = schema.json()
    assert document["openapi"].startswith("3.")
    assert "/api/traces/batch" in document["paths"]
    components = document["components"]["schemas"]
    assert components["TraceStatusEnum"]["enum"] == ["pending", "approved", "rejected"]
    criteria = ["answer_match", "baseline", "format_match", "step_match", "tunix_reward"]
    assert components["CriteriaEnum"]["enum"] == criteria
    docs = anon_client.get("/api/docs")
    assert docs.status_code == 200
    html = docs.content.decode()
    assert "swagger-ui" in html
    # Every asset comes from this server (a random token in the page may spell "cdn"; an address may not).
    assets = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert assets and all(a.startswith("/") for a in assets), assets


def test_api_root_lists_collections(api_client: APIClient) -> None:
    body = api_client.get("/api/").json()
    assert body["traces"].endswith("/api/traces")


def test_cursor_walk_returns_every_trace_once_newest_first_despite_inserts(api_client: APIClient) -> None:
    stored = traces_import_batch(payloads=[make_payload(n) for n in range(25)])  # type: ignore[misc]  # one created_at for all: ties
    newest_first = sorted(stored, key=lambda t: (t.created_at, t.id), reverse=True)
    seen: list[str] = []
    params: dict[str, Any] = {"limit": 10}
    while True:
        body = api_client.get("/api/traces", params).json()
        seen += [row["id"] for row in body["data"]]
        if len(seen) == 10:
            post_json(api_client, "/api/traces", make_payload(99))  # lands before the walk's start
        cursor = body["pagination"]["next_cursor"]
        assert body["pagination"]["offset"] is None or "cursor" not in params
        if cursor is None:
            break
        params = {"limit": 10, "cursor": cursor}
    assert seen == [str(t.id) for t in newest_first]


def test_deep_offsets_read_the_same_rows_as_a_plain_slice(api_client: APIClient, monkeypatch: Any) -> None:
    traces_import_batch(payloads=[make_payload(n) for n in range(12)])  # type: ignore[misc]
    shallow = api_client.get("/api/traces", {"limit": 5, "offset": 4}).json()
    monkeypatch.setattr("tunix_rt.pagination.DEFERRED_FROM", 1)
    deep = api_client.get("/api/traces", {"limit": 5, "offset": 4}).json()
    assert deep == shallow and len(deep["data"]) == 5


@pytest.mark.parametrize(
    "params",
    [
        {"cursor": "not-a-cursor"},
        {"cursor": "WyJ4IiwgInkiXQ=="},  # base64 of ["x", "y"]
        {"cursor": "WyIyMDI2LTAxLTAxVDAwOjAwOjAwIiwgIngiXQ=="},  # naive time, bad id
        {"cursor": "", "limit": 5},
    ],
)
def test_bad_cursors_are_400(api_client: APIClient, params: dict[str, str]) -> None:
    response = api_client.get("/api/traces", params)
    assert response.status_code == 400
    assert "cursor" in response.json()


def test_cursor_and_offset_together_are_400(api_client: APIClient) -> None:
    TraceFactory.create_batch(3)
    cursor = api_client.get("/api/traces", {"limit": 1}).json()["pagination"]["next_cursor"]
    response = api_client.get("/api/traces", {"limit": 1, "cursor": cursor, "offset": 0})
    assert response.status_code == 400 and "offset" in response.json()


def shaped_meta(depth: int, kinds: list[str]) -> Any:
    """A ``meta`` object exactly ``depth`` levels deep, its inner levels objects or arrays as ``kinds`` says."""
    value: Any = "leaf"
    for level in range(depth - 1):
        kind = kinds[level % len(kinds)]
        value = [value, level] if kind == "[" else {kind: value, "n": level}
    return {"top": value}


@hypothesis_settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(depth=st.integers(min_value=1, max_value=200), kinds=st.lists(st.sampled_from(["[", "a", "é-b"]), min_size=1))
def test_property_meta_within_the_depth_limit_round_trips_and_past_it_is_400(
    api_client: APIClient, depth: int, kinds: list[str]
) -> None:
    meta = shaped_meta(depth, kinds)
    response = post_json(api_client, "/api/traces", make_payload(1, meta=meta))
    if depth <= 64:
        assert response.status_code == 201
        stored = api_client.get(f"/api/traces/{response.json()['id']}").json()
        assert stored["payload"]["meta"] == meta
    else:
        assert response.status_code == 400
        [message] = response.json()["meta"]
        assert message.startswith("meta.top")
        assert message.endswith(" nests deeper than 64 levels of objects and arrays.")
