"""The curation endpoints: verifiers through score, bulk, duplicates, similar, compare diff, unique generation."""

from __future__ import annotations

import json
from typing import Any

import pytest
from rest_framework.test import APIClient

from traces.models import Score, Trace
from traces.services import trace_create, traces_import_batch
from traces.tests.factories import TraceFactory
from traces.tests.factories import make_payload as _payload

pytestmark = pytest.mark.django_db


def make_payload(n: int = 0, **overrides: Any) -> Any:
    """A valid trace payload, typed loosely for the services' ``TracePayload``."""
    return _payload(n, **overrides)


def post_json(client: APIClient, url: str, body: Any) -> Any:
    return client.post(url, data=json.dumps(body), content_type="application/json")


def test_score_with_each_verifier(api_client: APIClient) -> None:
    right = trace_create(payload=make_payload(5))  # "What is 5 + 2?" answered 7
    wrong = trace_create(payload=make_payload(6, final_answer="9"))
    for criteria, expected in (("answer_match", 1.0), ("format_match", 1.0), ("tunix_reward", 10.0)):
        body = post_json(api_client, f"/api/traces/{right.id}/score", {"criteria": criteria}).json()
        assert (body["criteria"], body["score"]) == (criteria, expected)
    body = post_json(api_client, f"/api/traces/{wrong.id}/score", {"criteria": "answer_match"}).json()
    assert body["score"] == 0.0 and body["details"]["expected_answer"] == "8"


def test_score_a_trace_that_cannot_be_verified_is_400(api_client: APIClient) -> None:
    trace = trace_create(payload=make_payload(1, prompt="Write a poem."))
    response = post_json(api_client, f"/api/traces/{trace.id}/score", {"criteria": "answer_match"})
    assert response.status_code == 400
    assert response.json()["detail"].startswith("cannot verify: ")
    assert Score.objects.count() == 0


def test_bulk_over_a_meta_filter(api_client: APIClient) -> None:
    easy = traces_import_batch(payloads=[make_payload(n, meta={"source": "gen", "level": "easy"}) for n in range(3)])
    hard = trace_create(payload=make_payload(9, meta={"source": "gen", "level": "hard"}))
    body = {"filters": {"meta__level": "easy"}, "status": "approved", "add_tags": ["checked"]}
    response = post_json(api_client, "/api/traces/bulk", body)
    assert response.status_code == 200
    assert response.json() == {"matched": 3, "changed": 3, "scored": 0, "skipped": 0}
    assert set(Trace.objects.filter(pk__in=[t.id for t in easy]).values_list("status", flat=True)) == {"approved"}
    assert Trace.objects.get(pk=hard.pk).status == "pending"
    assert Trace.objects.filter(tags__name="checked").count() == 3
    removed = post_json(api_client, "/api/traces/bulk", {"ids": [str(easy[0].id)], "remove_tags": ["checked"]})
    assert removed.json()["changed"] == 1
    assert Trace.objects.filter(tags__name="checked").count() == 2


def test_bulk_filters_and_ids_combine_and_score(api_client: APIClient) -> None:
    traces = traces_import_batch(payloads=[make_payload(n) for n in range(3)])
    other = trace_create(payload=make_payload(7, prompt="Write a poem.", meta={"source": "poems"}))
    ids = [str(traces[0].id), str(other.id)]
    body = {"filters": {"source": "unit-test"}, "ids": ids, "score": "answer_match"}
    assert post_json(api_client, "/api/traces/bulk", body).json() == {
        "matched": 1,
        "changed": 0,
        "scored": 1,
        "skipped": 0,
    }
    everything = post_json(api_client, "/api/traces/bulk", {"filters": {}, "score": "answer_match"}).json()
    assert (everything["matched"], everything["scored"], everything["skipped"]) == (4, 4 - 1, 1)


@pytest.mark.parametrize(
    "body",
    [
        {"filters": {"source": "x"}},
        {"status": "approved"},
        {"filters": {"nope": "1"}, "status": "approved"},
        {"filters": {"status": "maybe"}, "status": "approved"},
        {"filters": {"meta__bad key": "1"}, "status": "approved"},
        {"filters": [], "status": "approved"},
        {"ids": ["not-a-uuid"], "status": "approved"},
        {"filters": {}, "status": "done"},
        {"filters": {}, "add_tags": ["bad tag"]},
        {"filters": {}, "add_tags": ["a"], "remove_tags": ["a"]},
        {"filters": {}, "score": "nope"},
    ],
)
def test_bulk_bad_input_is_400_and_changes_nothing(api_client: APIClient, body: dict[str, Any]) -> None:
    trace = TraceFactory.create()
    response = post_json(api_client, "/api/traces/bulk", body)
    assert response.status_code == 400
    trace.refresh_from_db()
    assert trace.status == "pending" and trace.tags.count() == 0


def test_bulk_has_duplicates_filter(api_client: APIClient) -> None:
    traces_import_batch(payloads=[make_payload(1), make_payload(1), make_payload(2)])
    body = {"filters": {"has_duplicates": True}, "status": "rejected"}
    assert post_json(api_client, "/api/traces/bulk", body).json()["matched"] == 2
    assert api_client.get("/api/traces", {"has_duplicates": "false"}).json()["data"][0]["status"] == "pending"


def test_duplicates_groups_largest_first(api_client: APIClient) -> None:
    first = traces_import_batch(payloads=[make_payload(1)] * 3)
    second = traces_import_batch(payloads=[make_payload(2)] * 2)
    trace_create(payload=make_payload(3))
    body = api_client.get("/api/traces/duplicates", {"limit": 1}).json()
    assert body["pagination"] == {"limit": 1, "offset": 0, "next_offset": 1}
    (group,) = body["data"]
    assert group == {
        "content_hash": first[0].content_hash,
        "count": 3,
        "trace_ids": [str(t.id) for t in sorted(first, key=lambda t: (t.created_at, t.id))],
    }
    rest = api_client.get("/api/traces/duplicates", {"limit": 5, "offset": 1}).json()
    assert [(g["count"], g["content_hash"]) for g in rest["data"]] == [(2, second[0].content_hash)]
    assert rest["pagination"]["next_offset"] is None
    assert api_client.get("/api/traces/duplicates", {"limit": 0}).status_code == 400


LONG = (
    "A farmer has 17 sheep and buys 25 more at the market on Tuesday. Then 8 of them wander off into the hills "
    "and are never found again. How many sheep does the farmer have at the end of the week?"
)


def test_similar_finds_a_near_duplicate_and_not_an_unrelated_trace(api_client: APIClient) -> None:
    base = trace_create(payload=make_payload(1, prompt=LONG))
    near, other, same = traces_import_batch(
        payloads=[
            make_payload(2, prompt=LONG.replace("Tuesday", "Monday")),
            make_payload(3, prompt="Translate 'good morning' into French and explain the greeting's register."),
            make_payload(4, prompt=LONG),
        ]
    )
    body = api_client.get(f"/api/traces/{base.id}/similar", {"threshold": 0.8}).json()
    found = {row["id"]: row["similarity"] for row in body["data"]}
    assert set(found) == {str(near.id), str(same.id)}
    assert found[str(same.id)] == 1.0 and 0.8 <= found[str(near.id)] < 1.0
    assert [row["id"] for row in body["data"]][0] == str(same.id)
    assert str(other.id) not in found and str(base.id) not in found
    strict = api_client.get(f"/api/traces/{base.id}/similar", {"threshold": 1}).json()
    assert [row["id"] for row in strict["data"]] == [str(same.id)]


def test_similar_rejects_bad_threshold_and_unknown_trace(api_client: APIClient) -> None:
    trace = trace_create(payload=make_payload(1))
    assert api_client.get(f"/api/traces/{trace.id}/similar", {"threshold": 1.5}).status_code == 400
    assert api_client.get(f"/api/traces/{trace.id}/similar", {"threshold": "x"}).status_code == 400
    assert api_client.get("/api/traces/00000000-0000-0000-0000-000000000000/similar").status_code == 404


def test_compare_has_a_step_level_diff(api_client: APIClient) -> None:
    steps = [{"i": n, "type": "t", "content": c} for n, c in enumerate(["read", "add", "check"])]
    base = TraceFactory.create(steps=steps, final_answer="7")
    changed = [
        *steps[:1],
        {"i": 1, "type": "t", "content": "add again"},
        *steps[2:],
        {"i": 3, "type": "t", "content": "x"},
    ]
    other = TraceFactory.create(steps=changed, final_answer="7", prompt=base.prompt)
    diff = api_client.get("/api/traces/compare", {"base": str(base.id), "other": str(other.id)}).json()["diff"]
    assert diff["prompt_equal"] is True and diff["final_answer_equal"] is True
    assert [row["op"] for row in diff["steps"]] == ["equal", "changed", "equal", "added"]
    assert diff["steps"][1] == {
        "op": "changed",
        "base": {"n": 2, "type": "t", "content": "add"},
        "other": {"n": 2, "type": "t", "content": "add again"},
    }
    assert diff["steps"][3]["base"] is None


def test_generate_is_unique_by_default_and_names_the_limit(api_client: APIClient) -> None:
    response = post_json(api_client, "/api/generators/arithmetic/generate", {"count": 155, "seed": 1, "level": "easy"})
    assert response.status_code == 201
    hashes = Trace.objects.values_list("content_hash", flat=True)
    assert len(set(hashes)) == len(hashes) == 155
    too_many = post_json(api_client, "/api/generators/arithmetic/generate", {"count": 156, "level": "easy"})
    assert too_many.status_code == 400
    assert "holds 155 distinct" in too_many.json()["count"][0]
    repeats = {"count": 300, "level": "easy", "unique": False, "persist": False}
    assert post_json(api_client, "/api/generators/arithmetic/generate", repeats).status_code == 201
