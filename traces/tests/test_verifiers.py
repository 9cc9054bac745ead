from __future__ import annotations

from typing import Any

import pytest

from traces.scoring import CannotVerify, TraceContent, get_scorer
from traces.verifiers.rewards import (
    REWARD_FUNCTIONS,
    check_answer,
    check_numbers,
    match_format_approximately,
    match_format_exactly,
    tunix_reward_components,
)

STEPS = [{"i": 0, "type": "ones", "content": "7 + 8 = 15, write 5, carry 1."}]


def content(prompt: str, answer: str, meta: Any = None, steps: object = STEPS) -> TraceContent:
    return TraceContent(prompt=prompt, final_answer=answer, steps=steps, meta=meta)


def test_answer_match_recomputes_arithmetic() -> None:
    right = get_scorer("answer_match")(content("What is 47 + 38?", "85"))
    assert right.score == 1.0
    assert right.details == {"expected_answer": "85", "final_answer": "85", "method": "arithmetic"}
    assert get_scorer("answer_match")(content("What is 47 + 38?", "84")).score == 0.0
    assert get_scorer("answer_match")(content("What is 90 - 15 + 7?", " 82. ")).score == 1.0


def test_answer_match_recomputes_high_card_duel_from_the_cards() -> None:
    prompt = "High card duel. I hold KS; the opponent reveals TH. Win, loss or tie?"
    assert get_scorer("answer_match")(content(prompt, "win")).score == 1.0
    assert get_scorer("answer_match")(content(prompt, "loss")).score == 0.0
    from_meta = content("Another wording", "tie", meta={"my_card": "9C", "opponent_card": "9D"})
    assert get_scorer("answer_match")(from_meta).details["method"] == "high_card_duel"
    assert get_scorer("answer_match")(from_meta).score == 1.0


def test_answer_match_uses_expected_answer_with_evaluation_normalisation() -> None:
    meta = {"expected_answer": "1,000"}
    assert get_scorer("answer_match")(content("How many?", "1000.0", meta=meta)).score == 1.0
    assert get_scorer("answer_match")(content("How many?", "999", meta=meta)).score == 0.0
    assert get_scorer("answer_match")(content("Capital?", " paris. ", meta={"expected_answer": "Paris"})).score == 1.0


@pytest.mark.parametrize(
    "meta", [None, {}, {"expected_answer": ""}, {"expected_answer": True}, {"expected_answer": [1]}]
)
def test_answer_match_cannot_verify_without_anything_to_check(meta: object) -> None:
    with pytest.raises(CannotVerify, match="^cannot verify: "):
        get_scorer("answer_match")(content("Tell me a story.", "Once", meta=meta))
    with pytest.raises(CannotVerify):
        get_scorer("tunix_reward")(content("Tell me a story.", "Once", meta=meta))


def test_format_match_checks_the_trained_completion() -> None:
    assert get_scorer("format_match")(content("Any prompt", "42")).score == 1.0
    # Removing <eos> joins the pieces into a <start_of_turn> that survives cleaning.
    broken = get_scorer("format_match")(content("Any prompt", "<start_of_<eos>turn>42"))
    assert broken.score == 0.0 and broken.details["control_tokens"] == ["<start_of_turn>"]
    # An answer that is only control tokens leaves an empty <answer></answer>.
    empty = get_scorer("format_match")(content("Any prompt", "<eos>"))
    assert empty.score == 0.0 and empty.details["pattern_ok"] is False


def test_tunix_reward_sums_the_recipe_components() -> None:
    right = get_scorer("tunix_reward")(content("What is 47 + 38?", "85"))
    assert right.score == 10.0
    assert right.details == {
        "match_format_exactly": 3.0,
        "match_format_approximately": 2.5,
        "check_answer": 3.0,
        "check_numbers": 1.5,
        "expected_answer": "85",
        "method": "arithmetic",
    }
    close = get_scorer("tunix_reward")(content("What is 47 + 38?", "80"))
    assert close.details["check_answer"] == 0.5 and close.details["check_numbers"] == 0.0
    assert close.score == 6.0


GOOD = "<reasoning>1. add</reasoning>\n<answer>85</answer>"


def test_match_format_exactly_and_approximately() -> None:
    assert match_format_exactly([""], [GOOD, "  " + GOOD + "\n", "<answer>85</answer>"]) == [3.0, 3.0, 0.0]
    assert match_format_approximately([""], [GOOD]) == [2.5]
    assert match_format_approximately([""], ["no tags"]) == [-2.5]
    assert match_format_approximately([""], [" " + GOOD]) == [1.5]  # does not open with <reasoning>
    assert match_format_approximately([""], [GOOD + "<answer>"]) == [1.5]


@pytest.mark.parametrize(
    ("answer", "expected", "score"),
    [
        ("85", "85", 3.0),
        (" 85 ", "85", 1.5),
        ("80", "85", 0.5),
        ("70", "85", 0.25),
        ("10", "85", -1.0),
        ("eighty", "85", -0.5),
        ("5", "0", -0.5),
    ],
)
def test_check_answer_values(answer: str, expected: str, score: float) -> None:
    text = f"<reasoning>r</reasoning><answer>{answer}</answer>"
    assert check_answer([""], [text], answer=[expected]) == [score]


def test_check_answer_and_numbers_without_an_answer_score_zero() -> None:
    assert check_answer([""], ["nothing"], answer=["1"]) == [0.0]
    assert check_numbers([""], ["nothing"], answer=["1"]) == [0.0]


def test_check_numbers_reads_the_first_number_after_answer() -> None:
    assert check_numbers([""], ["<answer>It is 85 apples</answer>"], answer=["85"]) == [1.5]
    assert check_numbers([""], ["<answer>It is 84</answer>"], answer=["85"]) == [0.0]
    assert check_numbers([""], ["<answer>1.2.3</answer>"], answer=["85"]) == [0.0]


def test_components_are_the_four_recipe_functions_in_order() -> None:
    assert [fn.__name__ for fn in REWARD_FUNCTIONS] == list(
        tunix_reward_components(prompt="p", completion=GOOD, expected="85")
    )
