from __future__ import annotations

import enum
import io
import json
import re
import sys
import types
from dataclasses import dataclass
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from rest_framework.test import APIClient

from traces.models import Trace

pytestmark = pytest.mark.django_db

RANKS = "23456789TJQKA"


def post(client: APIClient, url: str, body: Any) -> Any:
    return client.post(url, data=json.dumps(body), content_type="application/json")


def meta_of(trace: Trace) -> dict[str, Any]:
    assert isinstance(trace.meta, dict)
    return trace.meta


def evaluate(prompt: str) -> int:
    match = re.fullmatch(r"What is (\d+) ([+-]) (\d+)(?: ([+-]) (\d+))?\?", prompt)
    assert match, prompt
    total = int(match[1])
    for op, operand in ((match[2], match[3]), (match[4], match[5])):
        if op:
            total = total + int(operand) if op == "+" else total - int(operand)
    return total


def test_list_generators(api_client: APIClient) -> None:
    body = api_client.get("/api/generators").json()
    assert [g["name"] for g in body] == ["arithmetic", "high_card_duel"]
    assert set(body[0]["options"]["levels"]) == {"easy", "medium", "hard"}


def test_preview_is_deterministic_and_stores_nothing(api_client: APIClient) -> None:
    request = {"count": 20, "seed": 11, "persist": False}
    first = post(api_client, "/api/generators/arithmetic/generate", request)
    second = post(api_client, "/api/generators/arithmetic/generate", request)
    assert first.status_code == 201
    assert first.json() == second.json()
    assert first.json()["trace_ids"] == []
    assert len(first.json()["preview"]) == 5
    assert Trace.objects.count() == 0


@pytest.mark.parametrize("level", ["easy", "medium", "hard"])
def test_persisted_arithmetic_answers_equal_the_evaluated_problem(api_client: APIClient, level: str) -> None:
    response = post(api_client, "/api/generators/arithmetic/generate", {"count": 50, "seed": 3, "level": level})
    assert response.status_code == 201
    ids = response.json()["trace_ids"]
    assert len(ids) == 50
    for trace in Trace.objects.filter(id__in=ids):
        assert int(trace.final_answer) == evaluate(trace.prompt)
        assert trace.source == "arithmetic" and meta_of(trace)["level"] == level


def test_persisted_duels_agree_with_their_cards(api_client: APIClient) -> None:
    response = post(api_client, "/api/generators/high_card_duel/generate", {"count": 200, "seed": 5})
    traces = Trace.objects.filter(id__in=response.json()["trace_ids"])
    assert traces.count() == 200
    for trace in traces:
        mine, theirs = RANKS.index(meta_of(trace)["my_card"][0]), RANKS.index(meta_of(trace)["opponent_card"][0])
        expected = "win" if mine > theirs else "loss" if mine < theirs else "tie"
        assert meta_of(trace)["result"] == expected == trace.final_answer
        assert trace.source == "high_card_duel"


@pytest.mark.parametrize(
    ("url", "body", "code"),
    [
        ("/api/generators/nope/generate", {"count": 1}, 404),
        ("/api/generators/arithmetic/generate", {"count": 0}, 400),
        ("/api/generators/arithmetic/generate", {"count": 10_001}, 400),
        ("/api/generators/arithmetic/generate", {"count": 1, "level": "impossible"}, 400),
        ("/api/generators/arithmetic/generate", {"count": 1, "seed": -1}, 400),
    ],
)
def test_bad_names_and_options(api_client: APIClient, url: str, body: dict[str, Any], code: int) -> None:
    response = post(api_client, url, body)
    assert response.status_code == code
    assert Trace.objects.count() == 0


def test_generators_need_authentication(anon_client: APIClient) -> None:
    assert anon_client.get("/api/generators").status_code == 401


def test_ungar_absent(api_client: APIClient) -> None:
    assert api_client.get("/api/ungar/status").json() == {"available": False, "version": None}
    response = post(api_client, "/api/ungar/high-card-duel/generate", {"count": 3})
    assert response.status_code == 501
    assert "pip install" in response.json()["detail"]
    assert post(api_client, "/api/ungar/high-card-duel/generate", {"count": 101}).status_code == 400


class Suit(enum.Enum):
    SPADES = 1
    HEARTS = 2


class Rank(enum.Enum):
    TWO = 2
    ACE = 14


@dataclass
class FakeCard:
    suit: Suit
    rank: Rank


@pytest.fixture
def fake_ungar(monkeypatch: pytest.MonkeyPatch) -> None:
    """Stands in for UNGAR's documented interface: a spec, a random-episode runner, episodes."""
    package = types.ModuleType("ungar")
    package.__version__ = "0.0.0-test"  # type: ignore[attr-defined]
    games = types.ModuleType("ungar.games.high_card_duel")
    games.make_high_card_duel_spec = lambda: "spec"  # type: ignore[attr-defined]
    runner = types.ModuleType("ungar.runner")

    def play_random_episode(spec: str, seed: int) -> Any:
        hands = (FakeCard(Suit.SPADES, Rank.ACE), FakeCard(Suit.HEARTS, Rank.TWO))
        if seed % 2:
            hands = hands[::-1]
        final = types.SimpleNamespace(hands=hands)
        move = types.SimpleNamespace(name="reveal")
        return types.SimpleNamespace(
            states=[final], moves=[move, move], rewards=(1.0, -1.0) if seed % 2 == 0 else (-1.0, 1.0)
        )

    runner.play_random_episode = play_random_episode  # type: ignore[attr-defined]
    for name, module in (("ungar", package), ("ungar.games.high_card_duel", games), ("ungar.runner", runner)):
        monkeypatch.setitem(sys.modules, name, module)
    monkeypatch.setattr("importlib.util.find_spec", lambda name, *a: object() if name == "ungar" else None)


def test_ungar_present_plays_and_stores_episodes(api_client: APIClient, fake_ungar: None) -> None:
    assert api_client.get("/api/ungar/status").json() == {"available": True, "version": "0.0.0-test"}
    response = post(api_client, "/api/ungar/high-card-duel/generate", {"count": 2, "seed": 0})
    assert response.status_code == 201
    traces = {meta_of(t)["episode_index"]: t for t in Trace.objects.filter(id__in=response.json()["trace_ids"])}
    assert meta_of(traces[0])["my_card"] == "AS" and traces[0].final_answer == "win"
    assert meta_of(traces[1])["my_card"] == "2H" and traces[1].final_answer == "loss"
    assert traces[0].source == "ungar"


def run(*args: Any) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def test_generate_traces_command_and_dry_run() -> None:
    assert "Stored 30 arithmetic trace(s)." in run("generate_traces", "arithmetic", "--count", "30", "--seed", "1")
    preview = run("generate_traces", "high_card_duel", "--count", "3", "--dry-run")
    assert "none stored" in preview
    assert json.loads(preview.splitlines()[0])["meta"]["game"] == "high_card_duel"
    assert Trace.objects.count() == 30
    with pytest.raises(CommandError):
        run("generate_traces", "arithmetic", "--count", "0")
    with pytest.raises(CommandError, match="level"):
        run("generate_traces", "arithmetic", "--level", "galaxy")


def test_load_demo_data_only_into_an_empty_store() -> None:
    assert "Loaded 360 demo traces" in run("load_demo_data")
    assert set(Trace.objects.values_list("source", flat=True)) == {"arithmetic", "high_card_duel"}
    assert "already stored" in run("load_demo_data")
    assert Trace.objects.count() == 360
