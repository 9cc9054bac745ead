from __future__ import annotations

import hashlib
import json
import uuid
from typing import Any

import pytest
from django.conf import settings
from rest_framework.test import APIClient

from datasets.models import Dataset, DatasetExport
from datasets.services import export as export_module
from datasets.tests.factories import aged_traces, build, golden_trace
from traces.models import Trace
from traces.tests.factories import TraceFactory

pytestmark = pytest.mark.django_db


def post_json(client: APIClient, url: str, body: Any) -> Any:
    return client.post(url, data=json.dumps(body), content_type="application/json")


def body_of(response: Any) -> bytes:
    return b"".join(response.streaming_content)


def test_build_returns_201_and_writes_the_manifest(
    api_client: APIClient, django_capture_on_commit_callbacks: Any
) -> None:
    aged_traces(3, meta={"source": "gen", "split": "train"})
    with django_capture_on_commit_callbacks(execute=True):
        response = post_json(
            api_client,
            "/api/datasets/build",
            {"dataset_name": "arith", "dataset_version": "1.0", "filters": {"split": "train"}, "limit": 2},
        )
    assert response.status_code == 201
    body = response.json()
    assert set(body) == {"dataset_key", "build_id", "trace_count", "manifest_path"}
    assert body["dataset_key"] == "arith-1.0" and body["trace_count"] == 2
    path = settings.ARTIFACTS_DIR / "datasets" / "arith-1.0" / "manifest.json"
    assert body["manifest_path"] == str(path)
    assert json.loads(path.read_text(encoding="utf-8"))["build_id"] == body["build_id"]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"dataset_name": "has space"}, "dataset_name"),
        ({"dataset_version": "v/1"}, "dataset_version"),
        ({"dataset_name": 5}, "dataset_name"),
        ({"limit": 0}, "limit"),
        ({"limit": 10_001}, "limit"),
        ({"limit": "7"}, "limit"),
        ({"selection_strategy": "random"}, "seed"),
        ({"selection_strategy": "best"}, "selection_strategy"),
        ({"filters": [1]}, "filters"),
        ({"filters": {"k": "nul\x00"}}, "filters"),
        ({"parent_dataset_id": "missing-1"}, "parent_dataset_id"),
        ({"trace_ids": ["not-a-uuid"]}, "trace_ids"),
        ({"trace_ids": []}, "trace_ids"),
        ({"status": "maybe"}, "status"),
    ],
)
def test_build_rejects_bad_input_with_400(api_client: APIClient, change: dict[str, Any], field: str) -> None:
    TraceFactory.create()
    response = post_json(api_client, "/api/datasets/build", {"dataset_name": "a", "dataset_version": "1", **change})
    assert response.status_code == 400
    assert field in response.json()
    assert Dataset.objects.count() == 0


def test_build_unknown_trace_ids_names_them(api_client: APIClient) -> None:
    missing = str(uuid.uuid4())
    known = str(TraceFactory.create().id)
    response = post_json(
        api_client, "/api/datasets/build", {"dataset_name": "a", "dataset_version": "1", "trace_ids": [known, missing]}
    )
    assert response.status_code == 400
    assert missing in response.json()["trace_ids"][0]


def test_build_key_clash_is_409(api_client: APIClient) -> None:
    TraceFactory.create()
    body = {"dataset_name": "a", "dataset_version": "1"}
    assert post_json(api_client, "/api/datasets/build", body).status_code == 201
    response = post_json(api_client, "/api/datasets/build", body)
    assert response.status_code == 409
    assert "immutable" in response.json()["detail"]


def test_build_with_trace_ids_defaults_limit_to_their_number(api_client: APIClient) -> None:
    ids = [str(t.id) for t in aged_traces(150)]
    response = post_json(
        api_client, "/api/datasets/build", {"dataset_name": "a", "dataset_version": "1", "trace_ids": ids}
    )
    assert response.status_code == 201 and response.json()["trace_count"] == 150


def test_anonymous_is_401(anon_client: APIClient) -> None:
    assert anon_client.get("/api/datasets").status_code == 401
    assert post_json(anon_client, "/api/datasets/build", {}).status_code == 401
    assert anon_client.get("/api/datasets/a-1/export.jsonl").status_code == 401


def test_list_is_paginated_newest_first(api_client: APIClient) -> None:
    TraceFactory.create()
    for n in range(3):
        build(version=str(n))
    first = api_client.get("/api/datasets", {"limit": 2}).json()
    assert [d["dataset_key"] for d in first["data"]] == ["ds-2", "ds-1"]
    assert first["pagination"] == {"limit": 2, "offset": 0, "next_offset": 2}
    last = api_client.get("/api/datasets", {"limit": 2, "offset": 2}).json()
    assert [d["dataset_key"] for d in last["data"]] == ["ds-0"] and last["pagination"]["next_offset"] is None
    assert api_client.get("/api/datasets", {"limit": 101}).status_code == 400
    assert api_client.get("/api/").json()["datasets"].endswith("/api/datasets")


def test_manifest_with_dotted_key_and_404(api_client: APIClient) -> None:
    traces = aged_traces(2)
    build(name="my.set_v", version="1.0-rc.1", seed=3)
    response = api_client.get("/api/datasets/my.set_v-1.0-rc.1")
    assert response.status_code == 200
    body = response.json()
    assert body["dataset_schema_version"] == "1.0"
    assert body["trace_ids"] == [str(traces[1].id), str(traces[0].id)]
    assert body["stats"]["trace_count"] == 2 and body["seed"] == 3 and body["exports"] == []
    assert api_client.get("/api/datasets/nope-1").status_code == 404
    assert api_client.get("/api/datasets/nope-1/export.jsonl").status_code == 404


def test_export_streams_ndjson_in_manifest_order_and_skips_deleted(api_client: APIClient) -> None:
    traces = aged_traces(3)
    build(name="s", version="1.0")
    Trace.objects.filter(id=traces[1].id).delete()
    response = api_client.get("/api/datasets/s-1.0/export.jsonl", {"format": "tunix_sft"})
    assert response.status_code == 200
    assert response.streaming
    assert response["Content-Type"] == "application/x-ndjson"
    lines = body_of(response).decode("utf-8").splitlines()
    assert [json.loads(line)["id"] for line in lines] == [str(traces[2].id), str(traces[0].id)]


def test_export_default_format_is_trace_and_accepts_ndjson(api_client: APIClient) -> None:
    golden_trace()
    build()
    response = api_client.get("/api/datasets/ds-1.0/export.jsonl", HTTP_ACCEPT="application/x-ndjson")
    assert response.status_code == 200
    assert json.loads(body_of(response))["prompts"] == "What is 2 + 3 * 4?"
    bad = api_client.get("/api/datasets/ds-1.0/export.jsonl", {"format": "nope"}, HTTP_ACCEPT="application/x-ndjson")
    assert bad.status_code == 400


def test_invalid_format_is_400_naming_the_valid_ones(api_client: APIClient) -> None:
    TraceFactory.create()
    build()
    response = api_client.get("/api/datasets/ds-1.0/export.jsonl", {"format": "alpaca"})
    assert response.status_code == 400
    message = response.json()["format"][0]
    assert all(name in message for name in ["trace", "tunix_sft", "training_example", "prompt_completion", "chat"])


def test_export_is_deterministic_and_records_its_digest(api_client: APIClient) -> None:
    aged_traces(4, meta={"source": "x", "b": 2, "a": 1})
    build()
    url = "/api/datasets/ds-1.0/export.jsonl"
    query = {"format": "chat", "system_prompt": "Be brief."}
    first = body_of(api_client.get(url, query))
    second = body_of(api_client.get(url, query))
    assert first == second and first.count(b"\n") == 4
    (record,) = DatasetExport.objects.all()
    assert record.sha256 == hashlib.sha256(first).hexdigest() and record.line_count == 4
    assert record.options == {"system_prompt": "Be brief."}
    exports = api_client.get("/api/datasets/ds-1.0").json()["exports"]
    assert [(e["format"], e["sha256"], e["line_count"]) for e in exports] == [("chat", record.sha256, 4)]


def _export_queries(api_client: APIClient, django_assert_num_queries: Any, size: int, key: str) -> int:
    aged_traces(size, meta={"source": key})
    build(name=key, filters={"source": key}, limit=size)
    for count in range(1, 30):
        try:
            with django_assert_num_queries(count):
                response = api_client.get(f"/api/datasets/{key}-1.0/export.jsonl", {"format": "training_example"})
                assert len(body_of(response).splitlines()) == size
            return count
        except pytest.fail.Exception:
            continue
    raise AssertionError("no query count matched")


def test_export_queries_grow_with_chunks_not_records(
    api_client: APIClient, django_assert_num_queries: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(export_module, "EXPORT_CHUNK_SIZE", 5)
    small = _export_queries(api_client, django_assert_num_queries, 5, "small")
    large = _export_queries(api_client, django_assert_num_queries, 23, "large")
    # token auth, dataset, ids, one per chunk of 5, digest record (savepoint-wrapped insert)
    assert large - small == 4


def test_openapi_lists_export_formats(api_client: APIClient) -> None:
    schema = api_client.get("/api/schema", {"format": "json"}).json()
    export = schema["paths"]["/api/datasets/{key}/export.jsonl"]["get"]
    (param,) = [p for p in export["parameters"] if p["name"] == "format"]
    assert param["schema"]["enum"] == ["trace", "tunix_sft", "training_example", "prompt_completion", "chat"]
    assert "application/x-ndjson" in export["responses"]["200"]["content"]
    assert "/api/datasets/build" in schema["paths"]


def repeated_prompt_traces(groups: int, per_group: int = 2) -> list[Trace]:
    traces = []
    for g in range(groups):
        for k in range(per_group):
            traces += aged_traces(1, prompt=f"Prompt {g}" if k == 0 else f"PROMPT   {g}", final_answer=f"{g}/{k}")
    return traces


def test_build_with_splits_serves_splits_and_leakage(api_client: APIClient) -> None:
    repeated_prompt_traces(10)
    body = {"dataset_name": "sp", "dataset_version": "1", "limit": 100, "seed": 3}
    response = post_json(api_client, "/api/datasets/build", {**body, "splits": {"train": 0.8, "test": 0.2}})
    assert response.status_code == 201 and response.json()["trace_count"] == 20
    manifest = api_client.get("/api/datasets/sp-1").json()
    assert list(manifest["splits"]) == ["train", "test"]
    assert [(s["count"], s["group_count"]) for s in manifest["splits"].values()] == [(16, 8), (4, 2)]
    assert manifest["leakage"] == {"split_group": "prompt", "shared_groups": 0}
    prompts = {str(t.id): t.prompt.split()[-1] for t in Trace.objects.all()}
    lines = {
        name: [json.loads(line) for line in body_of(api_client.get("/api/datasets/sp-1/export.jsonl", {"split": name}))
               .decode().splitlines()]
        for name in ("train", "test")
    }  # fmt: skip
    assert {prompts[r["id"]] for r in lines["train"]}.isdisjoint({prompts[r["id"]] for r in lines["test"]})
    test_ids = [r["id"] for r in lines["test"]]
    assert test_ids == [i for i in manifest["trace_ids"] if i in set(test_ids)]
    expected = hashlib.sha256("".join(f"{i}\n" for i in test_ids).encode()).hexdigest()
    assert manifest["splits"]["test"]["sha256"] == expected
    again = post_json(
        api_client, "/api/datasets/build", {**body, "dataset_version": "2", "splits": {"train": 0.8, "test": 0.2}}
    )
    assert again.status_code == 201
    assert api_client.get("/api/datasets/sp-2").json()["splits"] == manifest["splits"]
    recorded = api_client.get("/api/datasets/sp-1").json()["exports"]
    assert sorted((e["split"], e["file_format"]) for e in recorded) == [("test", "jsonl"), ("train", "jsonl")]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"splits": {"train": 0.8, "test": 0.1}}, "sum to 1"),
        ({"splits": {"train": 1.1, "test": -0.1}}, "greater than 0"),
        ({"splits": {"Train": 1.0}}, "must match"),
        ({"splits": [0.5, 0.5]}, "non-empty object"),
        ({"splits": "train"}, "JSON object"),
        ({"splits": {"train": "half", "test": 0.5}}, "must be a number"),
        ({"splits": {"train": 1.0}, "split_group": "shape"}, "not a valid choice"),
    ],
)
def test_build_with_bad_splits_is_400(api_client: APIClient, change: dict[str, Any], message: str) -> None:
    repeated_prompt_traces(2)
    response = post_json(api_client, "/api/datasets/build", {"dataset_name": "a", "dataset_version": "1", **change})
    assert response.status_code == 400
    field = "split_group" if "split_group" in change else "splits"
    assert message in " ".join(response.json()[field])
    assert Dataset.objects.count() == 0


def test_export_of_an_unknown_split_is_400(api_client: APIClient) -> None:
    repeated_prompt_traces(2)
    build(name="sp", version="1", splits={"train": 0.5, "test": 0.5})
    build(name="plain", version="1")
    response = api_client.get("/api/datasets/sp-1/export.jsonl", {"split": "dev"})
    assert response.status_code == 400 and "its splits: train, test" in response.json()["split"][0]
    assert api_client.get("/api/datasets/plain-1/export.jsonl", {"split": "train"}).status_code == 400
    assert api_client.get("/api/datasets/missing-1/export.jsonl", {"split": "train"}).status_code == 404


def test_diff_of_two_builds(api_client: APIClient, django_assert_num_queries: Any) -> None:
    traces = aged_traces(6)
    newest_first = [str(t.id) for t in reversed(traces)]
    build(name="d", version="1", trace_ids=[t.id for t in traces[:4]])
    build(name="d", version="2", trace_ids=[t.id for t in traces[2:]])
    with django_assert_num_queries(8):  # token with the role, both datasets, counts and capped id lists
        response = api_client.get("/api/datasets/d-1/diff", {"against": "d-2"})
    assert response.status_code == 200
    assert response.json() == {
        "base": "d-1",
        "against": "d-2",
        "added_count": 2,
        "removed_count": 2,
        "common_count": 2,
        "added": newest_first[:2],
        "removed": newest_first[4:],
    }
    reverse = api_client.get("/api/datasets/d-2/diff", {"against": "d-1"}).json()
    assert (reverse["added"], reverse["removed"]) == (newest_first[4:], newest_first[:2])
    same = api_client.get("/api/datasets/d-1/diff", {"against": "d-1"}).json()
    assert (same["added_count"], same["removed_count"], same["common_count"]) == (0, 0, 4)


def test_diff_errors(api_client: APIClient) -> None:
    aged_traces(1)
    build(name="d", version="1")
    assert api_client.get("/api/datasets/d-1/diff", {"against": "nope-1"}).status_code == 404
    assert api_client.get("/api/datasets/nope-1/diff", {"against": "d-1"}).status_code == 404
    missing = api_client.get("/api/datasets/d-1/diff")
    assert missing.status_code == 400 and "against" in missing.json()
