"""The ``dpo`` export of preference pairs: golden text written out, the API's filters and the dataset rule."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from rest_framework.test import APIClient

from datasets.services import dataset_build
from datasets.services.preferences import preferences_export_lines, preferences_for_export
from traces.models import Preference
from traces.preferences import preference_list
from traces.tests.factories import TraceFactory

pytestmark = pytest.mark.django_db

WHEN = dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC)
CHOSEN = uuid.UUID("11111111-1111-1111-1111-111111111111")
REJECTED = uuid.UUID("22222222-2222-2222-2222-222222222222")
PAIR = uuid.UUID("33333333-3333-3333-3333-333333333333")

GOLDEN = (
    '{"id": "33333333-3333-3333-3333-333333333333", '
    '"prompt": "<start_of_turn>user\\nWhat is 2 + 3?<end_of_turn>\\n<start_of_turn>model\\n", '
    '"chosen": "<reasoning>1. Ones: 2 + 3 = 5.</reasoning>\\n<answer>5</answer><end_of_turn>", '
    '"rejected": "<reasoning>1. Ones: 2 + 3 = 6.\\n2. Guess.</reasoning>\\n<answer>6</answer><end_of_turn>", '
    '"metadata": {"created_at": "2026-01-02T03:04:05Z", "chosen_trace_id": "11111111-1111-1111-1111-111111111111", '
    '"rejected_trace_id": "22222222-2222-2222-2222-222222222222", "reason": "the sum is 5", "format": "dpo"}}\n'
)


def make_pair() -> Preference:
    chosen = TraceFactory.create(id=CHOSEN, prompt="What is 2 + 3?", final_answer="5",
                                 steps=[{"i": 0, "type": "t", "content": "Ones: 2 + 3 = 5."}])  # fmt: skip
    rejected = TraceFactory.create(
        id=REJECTED, prompt="What is 2 + 3?", final_answer="6",
        steps=[{"i": 0, "type": "t", "content": "Ones: 2 + 3 = 6."}, {"i": 1, "type": "t", "content": "Guess."}],
    )  # fmt: skip
    return Preference.objects.create(id=PAIR, created_at=WHEN, prompt=chosen.prompt, chosen=chosen,
                                     rejected=rejected, reason="the sum is 5")  # fmt: skip


def test_dpo_line_is_the_golden_text() -> None:
    make_pair()
    lines = list(preferences_export_lines(preferences=preferences_for_export(preferences=preference_list())))
    assert lines == [GOLDEN]


def test_api_streams_dpo_with_filters_and_system_prompt(api_client: APIClient) -> None:
    make_pair()
    response = api_client.get("/api/preferences/export.jsonl")
    assert response.status_code == 200 and response["Content-Type"] == "application/x-ndjson"
    assert b"".join(response.streaming_content).decode() == GOLDEN  # type: ignore[attr-defined]
    system = api_client.get("/api/preferences/export.jsonl", {"format": "dpo", "system_prompt": "Be brief."})
    text = b"".join(system.streaming_content).decode()  # type: ignore[attr-defined]
    assert '"prompt": "<start_of_turn>user\\nBe brief.\\n\\nWhat is 2 + 3?<end_of_turn>' in text
    other = api_client.get("/api/preferences/export.jsonl", {"trace": str(uuid.uuid4())})
    assert b"".join(other.streaming_content) == b""  # type: ignore[attr-defined]
    assert api_client.get("/api/preferences/export.jsonl", {"format": "chat"}).status_code == 400
    assert api_client.get("/api/preferences/export.jsonl", {"limit": 0}).status_code == 400
    missing = api_client.get("/api/preferences/export.jsonl", {"dataset": "nope-1.0"})
    assert missing.status_code == 400 and "nope-1.0" in missing.json()["dataset"][0]


def test_a_dataset_exports_the_pairs_between_its_traces_made_before_its_build(api_client: APIClient) -> None:
    pair = make_pair()
    pair.created_at = dt.datetime(2020, 1, 1, tzinfo=dt.UTC)
    pair.save()
    dataset_build(name="both", version="1", filters={}, limit=10, trace_ids=[CHOSEN, REJECTED])
    dataset_build(name="one", version="1", filters={}, limit=10, trace_ids=[CHOSEN])

    def export(key: str) -> list[str]:
        response = api_client.get("/api/preferences/export.jsonl", {"dataset": key})
        return b"".join(response.streaming_content).decode().splitlines()  # type: ignore[attr-defined]

    assert len(export("both-1")) == 1 and export("one-1") == []
    later = TraceFactory.create(prompt="What is 2 + 3?", final_answer="5 (again)")
    Preference.objects.create(prompt=later.prompt, chosen=later, rejected_id=REJECTED)
    assert len(export("both-1")) == 1
