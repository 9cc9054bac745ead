"""Preference pairs: the service's rules, the API, the admin's compare page and mining."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from typing import Any

import pytest
from django.core.management import call_command
from django.test import Client
from rest_framework.test import APIClient

from traces.models import Preference, Trace
from traces.preferences import preference_create
from traces.tests.factories import TraceFactory
from traces.verifiers.steps import reference_steps
from tunix_rt.errors import Conflict, InvalidInput
from tunix_rt.models import AuditEntry
from tunix_rt.roles import CURATOR, VIEWER

pytestmark = pytest.mark.django_db
RoleClient = Callable[[str], APIClient]


def arithmetic(answer: str, *, prompt: str = "What is 2 + 3?", source: str = "factory") -> Trace:
    return TraceFactory.create(prompt=prompt, final_answer=answer, meta={"source": source})


def post(client: APIClient, body: Any) -> Any:
    return client.post("/api/preferences", data=json.dumps(body), content_type="application/json")


def test_create_checks_sides_and_prompt_and_audits(user: Any) -> None:
    good, bad = arithmetic("5"), arithmetic("6", prompt="what is  2 + 3?")
    pref = preference_create(chosen_id=good.id, rejected_id=bad.id, reason="right sum", actor=user)
    assert (pref.prompt, pref.chosen, pref.rejected, pref.created_by) == ("What is 2 + 3?", good, bad, user)
    assert AuditEntry.objects.filter(object_type="preference", object_id=str(pref.id), action="create").exists()
    with pytest.raises(Conflict, match="already preferred"):
        preference_create(chosen_id=good.id, rejected_id=bad.id)
    with pytest.raises(InvalidInput, match="over itself") as same:
        preference_create(chosen_id=good.id, rejected_id=good.id)
    assert same.value.field == "rejected"
    with pytest.raises(InvalidInput, match="different prompts"):
        preference_create(chosen_id=good.id, rejected_id=arithmetic("7", prompt="What is 2 + 4?").id)
    with pytest.raises(InvalidInput, match="not found") as missing:
        preference_create(chosen_id="00000000-0000-0000-0000-000000000000", rejected_id=bad.id)
    assert missing.value.field == "chosen"
    assert Preference.objects.count() == 1


def test_api_curator_writes_viewer_reads(role_client: RoleClient) -> None:
    good, bad = arithmetic("5"), arithmetic("6")
    viewer, curator = role_client(VIEWER), role_client(CURATOR)
    refused = post(viewer, {"chosen": str(good.id), "rejected": str(bad.id)})
    assert refused.status_code == 403 and "curator role" in refused.json()["detail"]
    created = post(curator, {"chosen": str(good.id), "rejected": str(bad.id), "reason": "5 is right"})
    assert created.status_code == 201
    body = created.json()
    assert {k: body[k] for k in ("prompt", "chosen", "rejected", "reason", "created_by")} == {
        "prompt": "What is 2 + 3?", "chosen": str(good.id), "rejected": str(bad.id), "reason": "5 is right",
        "created_by": "user-curator",
    }  # fmt: skip
    assert post(curator, {"chosen": str(good.id), "rejected": str(bad.id)}).status_code == 409
    same = post(curator, {"chosen": str(good.id), "rejected": str(good.id)})
    assert same.status_code == 400 and "over itself" in same.json()["rejected"][0]
    assert post(curator, {"chosen": "nope", "rejected": str(bad.id)}).json()["chosen"]
    listed = viewer.get("/api/preferences", {"limit": 1})
    assert listed.status_code == 200
    assert [row["id"] for row in listed.json()["data"]] == [body["id"]]
    assert listed.json()["pagination"] == {"limit": 1, "offset": 0, "next_offset": None}
    assert viewer.get("/api/preferences", {"trace": str(bad.id)}).json()["data"][0]["id"] == body["id"]
    assert viewer.get("/api/preferences", {"trace": str(TraceFactory.create().id)}).json()["data"] == []
    assert viewer.get("/api/preferences", {"created_by": "someone-else"}).json()["data"] == []
    assert viewer.get("/api/preferences", {"trace": "bad"}).status_code == 400
    assert viewer.get(f"/api/preferences/{body['id']}").json()["reason"] == "5 is right"
    assert viewer.get("/api/preferences/00000000-0000-0000-0000-000000000000").status_code == 404


def test_compare_page_prefers_one_side(admin_client: Client) -> None:
    good, bad = arithmetic("5"), arithmetic("6")
    url = f"/admin/traces/trace/compare/?base={good.id}&other={bad.id}"
    page = admin_client.get(url)
    assert page.status_code == 200 and b"Prefer this one" in page.content
    response = admin_client.post(url, {"op": "prefer", "chosen": str(bad.id), "rejected": str(good.id),
                                       "reason": "shorter"})  # fmt: skip
    assert response.status_code == 302
    pref = Preference.objects.get()
    assert (pref.chosen, pref.rejected, pref.reason) == (bad, good, "shorter")
    again = admin_client.post(url, {"op": "prefer", "chosen": str(bad.id), "rejected": str(good.id)}, follow=True)
    assert b"already preferred" in again.content and Preference.objects.count() == 1
    listing = admin_client.get("/admin/traces/preference/")
    assert listing.status_code == 200 and str(good.id).encode() in listing.content
    assert admin_client.get(f"/admin/traces/preference/{pref.id}/change/").status_code == 200


def mine(*args: str) -> str:
    out = io.StringIO()
    call_command("mine_preferences", *args, stdout=out)
    return out.getvalue().strip().splitlines()[-1]


def test_mining_pairs_accepted_with_rejected_per_prompt_once(user: Any) -> None:
    right = arithmetic("5")
    wrong = arithmetic("6", source="model")
    arithmetic("7", source="other")  # a second wrong answer: the oldest one is paired
    arithmetic("9", prompt="What is 4 + 4?")  # wrong, but nothing right to pair it with
    TraceFactory.create(prompt="Tell me a story", final_answer="Once")  # the verifier cannot judge it
    assert mine("--dry-run") == "scanned=5 unverifiable=1 existing=0 would store=1"
    assert not Preference.objects.exists()
    assert mine("--user", user.username) == "scanned=5 unverifiable=1 existing=0 stored=1"
    pref = Preference.objects.get()
    assert (pref.chosen, pref.rejected, pref.created_by) == (right, wrong, user)
    assert pref.reason.startswith("mined: answer_match")
    assert mine() == "scanned=5 unverifiable=1 existing=1 stored=0"
    assert Preference.objects.count() == 1
    assert AuditEntry.objects.filter(object_type="preference").count() == 1


def test_mining_limit_and_rejected_source() -> None:
    for n in range(3):
        arithmetic(str(n + 2), prompt=f"What is {n} + 2?")
        arithmetic("0", prompt=f"What is {n} + 2?", source="model" if n == 0 else "human")
    assert mine("--rejected-source", "model", "--dry-run").endswith("would store=1")
    assert mine("--limit", "2") == "scanned=6 unverifiable=0 existing=0 stored=2"
    assert mine() == "scanned=6 unverifiable=0 existing=2 stored=1"
    with pytest.raises(Exception, match="limit must be between"):
        mine("--limit", "0")


def test_mining_on_policy_pairs_the_models_own_samples_per_prompt() -> None:
    reference = arithmetic("5")  # a curated right answer: not the model's, so never chosen below
    right = [arithmetic("5", source="model") for _ in range(2)]
    wrong = [arithmetic(str(n), source="model") for n in (6, 7, 8)]
    arithmetic("3", prompt="What is 1 + 1?", source="model")  # wrong with no right sample of its own
    args = ("--chosen-source", "model", "--rejected-source", "model")
    assert mine(*args, "--per-prompt", "3") == "scanned=7 unverifiable=0 existing=0 stored=2"
    pairs = set(Preference.objects.values_list("chosen_id", "rejected_id"))
    assert pairs == {(right[0].id, wrong[0].id), (right[1].id, wrong[1].id)}
    assert reference.id not in {chosen for chosen, _ in pairs}
    assert mine(*args, "--per-prompt", "3") == "scanned=7 unverifiable=0 existing=2 stored=0"
    assert mine().endswith("stored=1")  # any source: the oldest right answer, the reference, over the oldest wrong
    assert Preference.objects.filter(chosen=reference, rejected=wrong[0]).exists()
    with pytest.raises(Exception, match="per_prompt must be between 1 and 16"):
        mine("--per-prompt", "17")


def test_deleting_a_trace_deletes_its_preferences() -> None:
    good, bad = arithmetic("5"), arithmetic("6")
    preference_create(chosen_id=good.id, rejected_id=bad.id)
    bad.delete()
    assert not Preference.objects.exists() and Trace.objects.filter(id=good.id).exists()


def attempt(right_steps: int, *, answer: str = "16") -> Trace:
    """A model's attempt at 12 + 34 whose first ``right_steps`` lines are the reference steps."""
    reference = [line.split(". ", 1)[1] for line in reference_steps("What is 12 + 34?") or []]
    lines = reference[:right_steps] + ["Ones: 2 + 4 = 7."] * (len(reference) - right_steps)
    return TraceFactory.create(
        prompt="What is 12 + 34?", final_answer=answer, meta={"source": "model"},
        steps=[{"i": i, "type": "generated", "content": line} for i, line in enumerate(lines)],
    )  # fmt: skip


def test_step_match_mining_pairs_a_better_attempt_with_a_worse_one() -> None:
    best, good, poor, worst = attempt(3, answer="46"), attempt(2), attempt(1), attempt(0)
    assert mine("--criteria", "step_match").endswith("stored=1")  # the default gap of 1: all steps over none
    Preference.objects.all().delete()
    assert mine("--criteria", "step_match", "--min-gap", "0.3", "--per-prompt", "2", "--dry-run").endswith(
        "would store=2"
    )
    assert mine("--criteria", "step_match", "--min-gap", "0.5", "--per-prompt", "2").endswith("stored=1")
    pair = Preference.objects.get()
    assert (pair.chosen, pair.rejected) == (best, worst)  # 1 over 0; 2/3 over 1/3 is only 1/3 apart
    assert pair.reason == "mined: step_match scores the chosen trace 1 and the other 0"
    assert mine("--criteria", "step_match", "--min-gap", "0.3", "--per-prompt", "2").endswith("existing=1 stored=1")
    assert Preference.objects.filter(chosen=good, rejected=poor).exists()
    with pytest.raises(Exception, match="min_gap must be above 0 and at most 1"):
        mine("--min-gap", "0")


def test_mining_one_evaluations_samples_only() -> None:
    first, second = "0b7f3c1e-1d2a-4c3b-9e8f-000000000001", "0b7f3c1e-1d2a-4c3b-9e8f-000000000002"
    made = {
        run: [TraceFactory.create(prompt="What is 2 + 3?", final_answer=answer,
                                  meta={"source": "model", "evaluation_run_id": run}) for answer in ("5", "6")]
        for run in (first, second)
    }  # fmt: skip
    arithmetic("5")  # a curated answer, in no evaluation
    assert mine("--evaluation", second) == "scanned=2 unverifiable=0 existing=0 stored=1"
    assert Preference.objects.filter(chosen=made[second][0], rejected=made[second][1]).exists()
    assert mine("--evaluation", second.upper()).endswith("existing=1 stored=0")
    with pytest.raises(Exception, match="'run-7' is not an evaluation id"):
        mine("--evaluation", "run-7")
