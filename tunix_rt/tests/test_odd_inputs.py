"""Every input that used to answer 500 now answers a 4xx with a JSON body, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from django.db import connections
from rest_framework.test import APIClient

from datasets.tests.factories import build
from traces.models import Trace
from traces.tests.factories import TraceFactory, make_payload

pytestmark = pytest.mark.django_db

LISTS = ["/api/traces", "/api/datasets", "/api/training/runs", "/api/eval/sets", "/api/eval/runs"]


def post_json(client: APIClient, url: str, body: Any, **extra: Any) -> Any:
    return client.post(url, json.dumps(body), content_type="application/json", **extra)


@pytest.mark.parametrize("url", ["/api/traces", "/api/traces/batch", "/api/datasets/build", "SCORE"])
def test_options_describes_the_input_of_each_post(api_client: APIClient, url: str) -> None:
    if url == "SCORE":
        url = f"/api/traces/{TraceFactory.create().id}/score"
    response = api_client.options(url)
    assert response.status_code == 200
    assert response.json()["actions"]["POST"]


def test_browsable_api_renders_trace_views(api_client: APIClient, client: Any, staff_user: Any) -> None:
    trace = TraceFactory.create()
    client.force_login(staff_user)
    for url in ("/api/traces", f"/api/traces/{trace.id}", "/api/datasets"):
        for agent in (api_client, client):
            response = agent.get(url, HTTP_ACCEPT="text/html")
            assert response.status_code == 200, url
            assert response["Content-Type"].startswith("text/html")
    assert b"trace_version" in client.get("/api/traces", HTTP_ACCEPT="text/html").content
    assert client.options(f"/api/traces/{trace.id}", HTTP_ACCEPT="text/html").status_code == 200


@pytest.mark.parametrize("url", LISTS)
@pytest.mark.parametrize("params", [{"offset": str(2**63)}, {"limit": str(2**63)}, {"offset": "1000000001"}])
def test_paging_beyond_its_bounds_is_400_on_every_list(api_client: APIClient, url: str, params: dict[str, str]) -> None:
    response = api_client.get(url, params)
    assert response.status_code == 400
    assert set(response.json()) == set(params)


@pytest.mark.parametrize(
    "value",
    [
        "2026-01-01T00:00:00+16:00",
        "2026-01-01T00:00:00-23:59",
        "0001-01-01T00:00:00+01:00",
        "9999-12-31T23:59:59-01:00",
    ],
)
def test_date_times_out_of_range_are_400(api_client: APIClient, value: str) -> None:
    response = api_client.get("/api/traces", {"created_after": value})
    assert response.status_code == 400
    assert "created_after" in response.json()


def test_date_time_offsets_are_honoured(api_client: APIClient) -> None:
    trace = TraceFactory.create()
    before = trace.created_at.strftime("%Y-%m-%dT%H:%M:%S") + "+15:59"  # 15:59 earlier in UTC
    assert [row["id"] for row in api_client.get("/api/traces", {"created_after": before}).json()["data"]] == [
        str(trace.id)
    ]


@pytest.mark.parametrize("value", ["NaN", "Infinity", "-Infinity", "1e999", "99999999999999999999", "nan"])
def test_meta_filter_values_that_are_no_storable_number_match_as_text(api_client: APIClient, value: str) -> None:
    TraceFactory.create(meta={"source": "x", "k": value})
    TraceFactory.create(meta={"source": "x", "k": 1})
    response = api_client.get("/api/traces", {"meta__k": value})
    assert response.status_code == 200
    assert len(response.json()["data"]) == 1


def test_meta_filter_with_a_nul_is_400(api_client: APIClient) -> None:
    response = api_client.get("/api/traces", QUERY_STRING="meta__k=%00")
    assert response.status_code == 400
    assert "NUL" in response.json()["meta__k"][0]


def test_query_bytes_that_are_not_utf8_do_not_break_the_list(api_client: APIClient) -> None:
    assert api_client.get("/api/traces", QUERY_STRING="q=%ED%A0%80&source=%FF").status_code == 200


@pytest.mark.parametrize(
    "url",
    [
        "/api/traces?status=",
        "/api/traces?source=",
        "/api/traces?q=",
        "/api/traces?tag=",
        "/api/traces?created_before=",
        "/api/traces?meta__source=",
        "/api/traces?limit=",
        "/api/training/runs?status=",
        "/api/eval/runs?offset=",
        "/api/ungar/high-card-duel/export.jsonl?trace_ids=",
        "/api/traces/compare?base=&other=",
    ],
)
def test_empty_query_values_are_400(api_client: APIClient, url: str) -> None:
    response = api_client.get(url)
    assert response.status_code == 400
    name = url.split("?")[1].split("=")[0]
    assert name in response.json()


def test_empty_export_options_are_400(api_client: APIClient) -> None:
    TraceFactory.create()
    build(name="ds", version="1")
    assert api_client.get("/api/datasets/ds-1/export.jsonl?system_prompt=").status_code == 400
    assert api_client.get("/api/datasets/ds-1/export.jsonl?format=").status_code == 400
    assert api_client.get("/api/datasets/ds-1/export.jsonl").status_code == 200


RAW_BODIES = {
    "surrogate in a meta value": b'{"trace_version": "1", "prompt": "p", "final_answer": "a", '
    b'"steps": [{"i": 0, "type": "t", "content": "c"}], "meta": {"k": "\\ud800"}}',
    "surrogate in a meta key": b'{"trace_version": "1", "prompt": "p", "final_answer": "a", '
    b'"steps": [{"i": 0, "type": "t", "content": "c"}], "meta": {"\\udbff": 1}}',
    "NaN in meta": b'{"trace_version": "1", "prompt": "p", "final_answer": "a", '
    b'"steps": [{"i": 0, "type": "t", "content": "c"}], "meta": {"k": NaN}}',
    "1e999 in meta": b'{"trace_version": "1", "prompt": "p", "final_answer": "a", '
    b'"steps": [{"i": 0, "type": "t", "content": "c"}], "meta": {"k": 1e999}}',
}


@pytest.mark.parametrize("body", RAW_BODIES.values(), ids=RAW_BODIES.keys())
def test_unstorable_trace_bodies_are_field_errors_and_store_nothing(api_client: APIClient, body: bytes) -> None:
    response = api_client.post("/api/traces", body, content_type="application/json")
    assert response.status_code == 400
    assert list(response.json()) == ["meta"]
    batch = api_client.post("/api/traces/batch", b"[" + body + b"]", content_type="application/json")
    assert batch.status_code == 400
    assert list(batch.json()) == ["0"]
    assert Trace.objects.count() == 0


def test_unstorable_dataset_filters_and_training_config_keys_are_400(api_client: APIClient) -> None:
    TraceFactory.create()
    build(name="ds", version="1")
    filters = b'{"dataset_name": "x", "dataset_version": "1", "filters": {"k": "\\ud800"}}'
    response = api_client.post("/api/datasets/build", filters, content_type="application/json")
    assert response.status_code == 400 and list(response.json()) == ["filters"]
    config = b'{"dataset_key": "ds-1", "config": {"\\ud800": 1}}'
    response = api_client.post("/api/training/runs", config, content_type="application/json")
    assert response.status_code == 400 and list(response.json()) == ["config"]


def test_unknown_api_paths_are_json_404(api_client: APIClient) -> None:
    for url in ("/api/datasets/%C2%84", "/api/eval/sets/%C2%84", "/api/nothing-here"):
        response = api_client.get(url)
        assert response.status_code == 404
        assert response.json()["detail"] == "Not found."


@contextmanager
def unreachable_database() -> Iterator[None]:
    """Points the default alias at a database that cannot be opened: a closed port or a missing directory."""
    original = connections["default"]
    broken = dict(original.settings_dict)
    if original.vendor == "postgresql":
        broken.update(HOST="127.0.0.1", PORT="1")
    else:
        broken.update(NAME="/nonexistent-directory/tunix-rt.sqlite3")
    connections["default"] = original.__class__(broken, alias="default")
    try:
        yield
    finally:
        connections["default"].close()
        connections["default"] = original


def test_unreachable_database_is_a_json_503(api_client: APIClient, client: Any, staff_user: Any) -> None:
    client.force_login(staff_user)
    post_body = make_payload()
    with unreachable_database():
        for response in (
            api_client.get("/api/traces"),
            post_json(api_client, "/api/traces", post_body),
            client.get("/api/traces/batch"),
            client.get("/admin/traces/trace/"),
        ):
            assert response.status_code == 503
            assert response.json() == {
                "detail": "The database is unavailable; try again later.",
                "code": "database_unavailable",
            }
        health = api_client.get("/api/health")
        assert health.status_code == 503 and health.json()["status"] == "unhealthy"


def deep_text(levels: int, key: str = "a") -> str:
    """A JSON value of ``levels`` nested objects, as text: built without recursion at any depth."""
    return f'{{"{key}": ' * levels + "1" + "}" * levels


DEEP_DOORS = [
    ("/api/traces", lambda deep: json.dumps(make_payload(1))[:-1] + ', "meta": ' + deep + "}", "meta"),
    ("/api/traces/batch", lambda deep: "[" + json.dumps(make_payload(1))[:-1] + ', "meta": ' + deep + "}]", "0"),
    ("/api/traces/bulk", lambda deep: '{"status": "approved", "filters": {"meta__a": ' + deep + "}}", "filters"),
    (
        "/api/datasets/build",
        lambda deep: '{"dataset_name": "d", "dataset_version": "1", "filters": ' + deep + "}",
        "filters",
    ),
    ("/api/generators/arithmetic/generate", lambda deep: '{"count": ' + deep + "}", "count"),
    ("/api/training/runs", lambda deep: '{"dataset_key": "x-1", "config": ' + deep + "}", "config"),
    ("/api/eval/sets", lambda deep: '{"name": "e", "items": [{"id": "1", "category": ' + deep + "}]}", "items"),
]


@pytest.mark.parametrize(("url", "body", "field"), DEEP_DOORS, ids=[door[0] for door in DEEP_DOORS])
@pytest.mark.parametrize("levels", [65, 489, 931, 1_020, 1_100, 10_000])
def test_json_nested_past_the_limit_is_400_naming_the_field_at_every_door(
    api_client: APIClient, url: str, body: Any, field: str, levels: int
) -> None:
    response = api_client.post(url, body(deep_text(levels)), content_type="application/json")
    assert response.status_code == 400, response.content[:300]
    message = "nests deeper than 64 levels of objects and arrays."
    if levels < 1_024:  # the parser reads about 1,000 levels; past that, the document as a whole is refused
        assert str(response.json()[field][0]).endswith(message)
    else:
        assert response.json() == {"non_field_errors": [f"The document {message}"]}
    assert Trace.objects.count() == 0


def test_a_trace_meta_nested_exactly_64_levels_is_stored_and_65_is_not(api_client: APIClient) -> None:
    at_limit = json.dumps(make_payload(1))[:-1] + ', "meta": ' + deep_text(64) + "}"
    response = api_client.post("/api/traces", at_limit, content_type="application/json")
    assert response.status_code == 201
    stored = Trace.objects.get(id=response.json()["id"]).meta
    assert json.dumps(stored) == deep_text(64)
    past = json.dumps(make_payload(2))[:-1] + ', "meta": ' + deep_text(65) + "}"
    refused = api_client.post("/api/traces", past, content_type="application/json")
    assert refused.status_code == 400
    assert refused.json()["meta"] == ["meta" + ".a" * 64 + " nests deeper than 64 levels of objects and arrays."]
    assert Trace.objects.count() == 1


def meta_param(segments: int) -> str:
    return "meta__" + "__".join(["a"] * segments)


@pytest.mark.parametrize("url", ["/api/traces", "BULK"])
def test_meta_filter_paths_hold_at_most_8_segments(api_client: APIClient, url: str) -> None:
    TraceFactory.create(meta={"a": {"a": {"a": {"a": {"a": {"a": {"a": {"a": 7}}}}}}}})

    def ask(segments: int) -> Any:
        if url == "BULK":
            body = {"filters": {meta_param(segments): 7}, "status": "approved"}
            return post_json(api_client, "/api/traces/bulk", body)
        return api_client.get(url, {meta_param(segments): "7"})

    assert ask(8).status_code == 200
    for segments in (9, 155, 1_000):
        response = ask(segments)
        assert response.status_code == 400, segments
        text = json.dumps(response.json())
        assert "at most 8 segments" in text
        assert f"has {segments}" in text


def test_meta_filter_names_that_nearly_match_are_refused_at_once(api_client: APIClient) -> None:
    response = api_client.get("/api/traces", {"meta__" + "a__" * 40 + "!": "1"})
    assert response.status_code == 400
    assert list(response.json()) == ["meta__" + "a__" * 40 + "!"]


def test_dataset_build_filter_paths_hold_at_most_8_segments(api_client: APIClient) -> None:
    TraceFactory.create(meta={"a": {"a": {"a": {"a": {"a": {"a": {"a": {"a": 7}}}}}}}})
    body = {"dataset_name": "seg", "dataset_version": "1", "filters": {"__".join(["a"] * 8): 7}}
    built = post_json(api_client, "/api/datasets/build", body)
    assert built.status_code == 201
    assert built.json()["trace_count"] == 1
    body = {"dataset_name": "seg", "dataset_version": "2", "filters": {"__".join(["a"] * 9): 7}}
    refused = post_json(api_client, "/api/datasets/build", body)
    assert refused.status_code == 400
    assert "at most 8 segments" in refused.json()["filters"][0]


@pytest.mark.parametrize("value", ["maybe", "yes", "2", "none", "truee"])
def test_boolean_filters_refuse_unknown_words(api_client: APIClient, value: str) -> None:
    response = api_client.get("/api/traces", {"has_duplicates": value})
    assert response.status_code == 400
    assert response.json() == {"has_duplicates": [f'"{value}" is not a boolean; use true or false.']}


def test_boolean_filters_read_true_and_false_in_any_case(api_client: APIClient) -> None:
    twin = make_payload(1)
    first = post_json(api_client, "/api/traces", twin).json()["id"]
    second = post_json(api_client, "/api/traces", twin).json()["id"]
    lone = post_json(api_client, "/api/traces", make_payload(2)).json()["id"]
    for word, expected in (("true", {first, second}), ("1", {first, second}), ("FALSE", {lone}), ("0", {lone})):
        response = api_client.get("/api/traces", {"has_duplicates": word})
        assert response.status_code == 200
        assert {row["id"] for row in response.json()["data"]} == expected, word


@pytest.mark.parametrize(
    ("url", "parameter", "known"),
    [
        ("/admin/traces/trace/", "duplicates", "yes"),
        ("/admin/traces/trace/", "answer", "wrong"),
        ("/admin/traces/trace/", "format", "unscored"),
        ("/admin/training/evaluationresult/", "outcome", "bad_format"),
    ],
)
def test_admin_list_filters_refuse_unknown_values(admin_client: Any, url: str, parameter: str, known: str) -> None:
    TraceFactory.create()
    assert admin_client.get(url, {parameter: known}).status_code == 200
    refused = admin_client.get(url, {parameter: "maybe"})
    assert refused.status_code == 302
    assert refused["Location"].endswith("?e=1")
    assert admin_client.get(url, {parameter: "maybe", "e": "1"}).status_code == 200
