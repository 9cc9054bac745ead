from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from traces.generators import (
    InvalidGeneratorOption,
    NotEnoughDistinctPrompts,
    UnknownGenerator,
    available_generators,
    distinct_prompts,
    duel_result,
    generate,
    get_generator,
)
from traces.generators.arithmetic import Problem, solve

ARITHMETIC_LEVELS = ("easy", "medium", "hard")
RANK_ORDER = {rank: value for value, rank in enumerate("23456789TJQKA", start=2)}
ALL_CARDS = {rank + suit for rank in "23456789TJQKA" for suit in "CDHS"}
DUEL_PROMPT = re.compile(r"High card duel\. I hold (\w\w); the opponent reveals (\w\w)\. Win, loss or tie\?")

GOLDEN_EASY = {
    "trace_version": "1.0",
    "prompt": "What is 3 - 3?",
    "final_answer": "0",
    "steps": [{"i": 0, "type": "compute", "content": "3 - 3 = 0."}],
    "meta": {
        "source": "arithmetic",
        "generator": "arithmetic",
        "level": "easy",
        "seed": 172,
        "index": 0,
        "operands": [3, 3],
        "operators": ["-"],
    },
}

GOLDEN_MEDIUM = {
    "trace_version": "1.0",
    "prompt": "What is 55 - 16?",
    "final_answer": "39",
    "steps": [
        {"i": 0, "type": "ones", "content": "Ones: 5 < 6, borrow 1: 15 - 6 = 9."},
        {"i": 1, "type": "tens", "content": "Tens: 5 - 1 - 1 = 3."},
        {
            "i": 2,
            "type": "combine",
            "content": "Combine: 3 tens and 9 ones, so 55 - 16 = 39.",
        },
    ],
    "meta": {
        "source": "arithmetic",
        "generator": "arithmetic",
        "level": "medium",
        "seed": 172,
        "index": 0,
        "operands": [55, 16],
        "operators": ["-"],
    },
}

GOLDEN_HARD = {
    "trace_version": "1.0",
    "prompt": "What is 69 + 81 - 66?",
    "final_answer": "84",
    "steps": [
        {"i": 0, "type": "operation", "content": "Operation 1: 69 + 81."},
        {"i": 1, "type": "ones", "content": "Ones: 9 + 1 = 10, write 0, carry 1."},
        {"i": 2, "type": "tens", "content": "Tens: 6 + 8 + 1 = 15."},
        {
            "i": 3,
            "type": "combine",
            "content": "Combine: 15 tens and 0 ones, so 69 + 81 = 150.",
        },
        {"i": 4, "type": "operation", "content": "Operation 2: 150 - 66."},
        {"i": 5, "type": "ones", "content": "Ones: 0 < 6, borrow 1: 10 - 6 = 4."},
        {"i": 6, "type": "tens", "content": "Tens: 15 - 6 - 1 = 8."},
        {
            "i": 7,
            "type": "combine",
            "content": "Combine: 8 tens and 4 ones, so 150 - 66 = 84.",
        },
    ],
    "meta": {
        "source": "arithmetic",
        "generator": "arithmetic",
        "level": "hard",
        "seed": 172,
        "index": 0,
        "operands": [69, 81, 66],
        "operators": ["+", "-"],
    },
}

GOLDEN_DUEL = {
    "trace_version": "1.0",
    "prompt": "High card duel. I hold JH; the opponent reveals 3D. Win, loss or tie?",
    "final_answer": "win",
    "steps": [
        {"i": 0, "type": "legal_moves", "content": "Legal moves: reveal."},
        {"i": 1, "type": "hand", "content": "My hand: JH, rank J."},
        {
            "i": 2,
            "type": "unseen",
            "content": "Unseen: 51 cards, the opponent's card among them.",
        },
        {
            "i": 3,
            "type": "decision",
            "content": "Decision: reveal, the only legal move.",
        },
        {"i": 4, "type": "showdown", "content": "Opponent reveals 3D, rank 3."},
        {"i": 5, "type": "compare", "content": "J beats 3, so I win."},
    ],
    "meta": {
        "source": "high_card_duel",
        "generator": "high_card_duel",
        "game": "high_card_duel",
        "episode_index": 0,
        "my_card": "JH",
        "opponent_card": "3D",
        "result": "win",
        "seed": 172,
    },
}


def _evaluate_prompt(prompt: str) -> tuple[list[int], int]:
    """Independent check: read 'What is a op b [op c]?' and fold left with ints."""
    assert prompt.startswith("What is ") and prompt.endswith("?")
    tokens = prompt[len("What is ") : -1].split(" ")
    operands = [int(token) for token in tokens[0::2]]
    value = operands[0]
    for op, token in zip(tokens[1::2], tokens[2::2], strict=True):
        assert op in {"+", "-"}
        value = value + int(token) if op == "+" else value - int(token)
    return operands, value


def _assert_trace_shape(payload: dict[str, Any]) -> None:
    assert set(payload) == {"trace_version", "prompt", "final_answer", "steps", "meta"}
    assert payload["trace_version"] == "1.0"
    assert payload["prompt"] and payload["final_answer"]
    steps = payload["steps"]
    assert [step["i"] for step in steps] == list(range(len(steps)))
    for step in steps:
        assert set(step) == {"i", "type", "content"}
        assert 1 <= len(step["type"]) <= 64
        assert step["content"]
    assert json.loads(json.dumps(payload)) == payload


def test_golden_first_payload_of_each_arithmetic_level() -> None:
    assert generate(name="arithmetic", count=1, seed=172, level="easy") == [GOLDEN_EASY]
    assert generate(name="arithmetic", count=1, seed=172, level="medium") == [GOLDEN_MEDIUM]
    assert generate(name="arithmetic", count=1, seed=172, level="hard") == [GOLDEN_HARD]


def test_golden_first_duel() -> None:
    assert generate(name="high_card_duel", count=1, seed=172) == [GOLDEN_DUEL]


def test_medium_is_the_default_arithmetic_level() -> None:
    assert generate(name="arithmetic", count=1, seed=172) == [GOLDEN_MEDIUM]


@pytest.mark.parametrize(
    ("name", "level"),
    [("arithmetic", level) for level in ARITHMETIC_LEVELS] + [("high_card_duel", None)],
)
def test_same_arguments_give_identical_payloads(name: str, level: str | None) -> None:
    first = generate(name=name, count=200, seed=7, level=level)
    assert first == generate(name=name, count=200, seed=7, level=level)
    assert generate(name=name, count=50, seed=7, level=level) == first[:50]
    assert first != generate(name=name, count=200, seed=8, level=level)


@pytest.mark.parametrize("level", ARITHMETIC_LEVELS)
def test_every_arithmetic_answer_matches_an_independent_evaluation(level: str) -> None:
    payloads = generate(name="arithmetic", count=2000, seed=3, level=level)
    generator = get_generator("arithmetic")
    low, high = {"easy": (0, 9), "medium": (10, 99), "hard": (10, 99)}[level]
    for index, payload in enumerate(payloads):
        _assert_trace_shape(payload)
        operands, value = _evaluate_prompt(payload["prompt"])
        assert payload["final_answer"] == str(value)
        assert generator.expected_answer(payload) == str(value)
        assert len(operands) == (3 if level == "hard" else 2)
        assert all(low <= operand <= high for operand in operands)
        assert value >= 0
        last = payload["steps"][-1]["content"]
        assert last.endswith(f"= {value}.")
        meta = payload["meta"]
        assert meta["source"] == meta["generator"] == "arithmetic"
        assert (meta["level"], meta["seed"], meta["index"]) == (level, 3, index)
        assert meta["operands"] == operands


def test_hard_steps_chain_the_first_result_into_the_second_operation() -> None:
    for payload in generate(name="arithmetic", count=500, seed=11, level="hard"):
        a, op1, b, _, _ = payload["prompt"][len("What is ") : -1].split(" ")
        first = int(a) + int(b) if op1 == "+" else int(a) - int(b)
        contents = [step["content"] for step in payload["steps"]]
        assert len(contents) == 8
        assert contents[3].endswith(f"= {first}.")
        assert contents[4].startswith(f"Operation 2: {first} ")


def test_medium_covers_carries_and_borrows() -> None:
    text = " ".join(
        step["content"]
        for payload in generate(name="arithmetic", count=300, seed=5, level="medium")
        for step in payload["steps"]
    )
    for phrase in ("carry 1", "no carry", "borrow 1", "no borrow"):
        assert phrase in text


@pytest.mark.parametrize(
    ("operands", "op", "combine"),
    [
        ((27, 16), "-", "Combine: 1 ten and 1 one, so 27 - 16 = 11."),
        ((50, 40), "-", "Combine: 1 ten and 0 ones, so 50 - 40 = 10."),
        ((12, 10), "+", "Combine: 2 tens and 2 ones, so 12 + 10 = 22."),
        ((55, 56), "+", "Combine: 11 tens and 1 one, so 55 + 56 = 111."),
    ],
)
def test_combine_step_says_one_ten_and_one_one(operands: tuple[int, int], op: str, combine: str) -> None:
    steps, _ = solve(Problem(operands=operands, operators=(op,)), "medium")
    assert steps[-1] == ("combine", combine)


def test_no_generated_step_says_one_tens_or_one_ones() -> None:
    for level in ("medium", "hard"):
        for payload in generate(name="arithmetic", count=2000, seed=9, level=level):
            for step in payload["steps"]:
                assert not re.search(r"\b1 (tens|ones)\b", step["content"]), step["content"]


def test_every_duel_result_agrees_with_its_cards() -> None:
    generator = get_generator("high_card_duel")
    payloads = generate(name="high_card_duel", count=3000, seed=9)
    results = set()
    for index, payload in enumerate(payloads):
        _assert_trace_shape(payload)
        meta = payload["meta"]
        assert set(meta) == {
            "source",
            "generator",
            "game",
            "episode_index",
            "my_card",
            "opponent_card",
            "result",
            "seed",
        }
        assert meta["source"] == meta["generator"] == meta["game"] == "high_card_duel"
        assert (meta["episode_index"], meta["seed"]) == (index, 9)
        mine, theirs = meta["my_card"], meta["opponent_card"]
        assert mine in ALL_CARDS and theirs in ALL_CARDS and mine != theirs
        match = DUEL_PROMPT.fullmatch(payload["prompt"])
        assert match is not None and match.groups() == (mine, theirs)
        difference = RANK_ORDER[mine[0]] - RANK_ORDER[theirs[0]]
        expected = "win" if difference > 0 else "loss" if difference < 0 else "tie"
        assert payload["final_answer"] == meta["result"] == expected
        assert generator.expected_answer(payload) == expected
        results.add(expected)
    assert results == {"win", "loss", "tie"}
    assert {payload["meta"]["my_card"] for payload in payloads} == ALL_CARDS


def test_duel_result_helper() -> None:
    assert duel_result("AS", "KH") == "win"
    assert duel_result("TH", "JC") == "loss"
    assert duel_result("2C", "2D") == "tie"
    assert duel_result("9D", "TS") == "loss"
    for bad in (("1S", "2C"), ("as", "2C"), ("AS", "AS"), ("AX", "2C")):
        with pytest.raises(ValueError):
            duel_result(*bad)


def test_unknown_generator() -> None:
    with pytest.raises(UnknownGenerator) as excinfo:
        generate(name="chess", count=1, seed=0)
    assert isinstance(excinfo.value, KeyError)
    assert "arithmetic" in str(excinfo.value)
    assert "high_card_duel" in str(excinfo.value)
    with pytest.raises(KeyError):
        get_generator("chess")


def test_bad_level_names_the_valid_levels() -> None:
    with pytest.raises(InvalidGeneratorOption, match="easy, medium, hard"):
        generate(name="arithmetic", count=1, seed=0, level="expert")
    with pytest.raises(InvalidGeneratorOption, match="standard"):
        generate(name="high_card_duel", count=1, seed=0, level="hard")
    with pytest.raises(InvalidGeneratorOption):
        get_generator("arithmetic").iter_payloads(seed=0, level="expert")


@pytest.mark.parametrize(("seed", "count"), [(-1, 1), (0, -1), (True, 1)])
def test_bad_seed_or_count(seed: int, count: int) -> None:
    with pytest.raises(InvalidGeneratorOption):
        generate(name="arithmetic", count=count, seed=seed)


def test_listing_is_json_and_states_prompt_spaces() -> None:
    listing = {generator.name: (generator.description, generator.options) for generator in available_generators()}
    assert list(listing) == ["arithmetic", "high_card_duel"]
    assert json.loads(json.dumps(listing)) == {k: list(v) for k, v in listing.items()}
    arithmetic = listing["arithmetic"][1]
    assert arithmetic["default_level"] == "medium"
    assert arithmetic["prompt_space"] == {"easy": 155, "medium": 12195, "hard": 1829790}
    assert listing["high_card_duel"][1]["prompt_space"] == {"standard": 2652}


def test_prompt_space_sizes_by_brute_force() -> None:
    def single(low: int, high: int) -> int:
        values = range(low, high + 1)
        return sum(1 for _ in values for _ in values) + sum(1 for a in values for b in values if a - b >= 0)

    assert single(0, 9) == 155
    assert single(10, 99) == 12195
    values = range(10, 100)
    hard = 0
    for a in values:
        for b in values:
            for first in (a + b, a - b):
                if first >= 0:
                    hard += len(values) + sum(1 for c in values if first - c >= 0)
    assert hard == 1829790


def test_distinct_prompts_are_new_and_unique() -> None:
    excluded = {p["prompt"] for p in generate(name="arithmetic", count=40, seed=1)}
    chosen = distinct_prompts(name="arithmetic", count=500, seed=2, level="medium", exclude=excluded)
    prompts = [payload["prompt"] for payload in chosen]
    assert len(prompts) == len(set(prompts)) == 500
    assert not excluded & set(prompts)
    again = distinct_prompts(name="arithmetic", count=500, seed=2, level="medium", exclude=excluded)
    assert again == chosen


def test_distinct_prompts_can_take_a_whole_small_space() -> None:
    easy = distinct_prompts(name="arithmetic", count=155, seed=4, level="easy")
    assert len({payload["prompt"] for payload in easy}) == 155
    duels = distinct_prompts(name="high_card_duel", count=2652, seed=4, level=None)
    assert len({payload["prompt"] for payload in duels}) == 2652


def test_distinct_prompts_raise_quickly_when_easy_is_exhausted() -> None:
    excluded = {"What is 1 + 1?", "What is 9 - 2?", "not a prompt", "What is 12 + 3?"}
    with pytest.raises(NotEnoughDistinctPrompts) as excinfo:
        distinct_prompts(name="arithmetic", count=154, seed=0, level="easy", exclude=excluded)
    assert excinfo.value.found == 153
    assert excinfo.value.requested == 154
    assert "153" in str(excinfo.value)
    chosen = distinct_prompts(name="arithmetic", count=153, seed=0, level="easy", exclude=excluded)
    assert not {payload["prompt"] for payload in chosen} & excluded
    with pytest.raises(NotEnoughDistinctPrompts):
        distinct_prompts(name="arithmetic", count=10_000, seed=0, level="easy")


def test_ten_thousand_payloads_are_all_well_formed() -> None:
    for name, level in [("arithmetic", "hard"), ("high_card_duel", None)]:
        payloads = generate(name=name, count=10_000, seed=0, level=level)
        assert len(payloads) == 10_000
        assert all(p["steps"] and p["final_answer"] for p in payloads)


def test_generators_import_without_django() -> None:
    root = Path(__file__).resolve().parents[2]
    code = "import sys, traces.generators; sys.exit('django' in sys.modules)"
    completed = subprocess.run(  # noqa: S603 -- fixed argv, our own interpreter
        [sys.executable, "-c", code], cwd=root, check=False
    )
    assert completed.returncode == 0
