"""Step-by-step checking (traces/verifiers/steps.py), the ``check_steps`` reward and the ``step_match`` verdict."""

from __future__ import annotations

import pytest

from traces.generators.arithmetic import ARITHMETIC, find_problem, parse_prompt
from traces.scoring import CannotVerify, TraceContent
from traces.scoring.verifiers import score_step_match
from traces.verifiers.completion import reasoning_completion
from traces.verifiers.rewards import GRPO_REWARD_FUNCTIONS, REWARD_FUNCTIONS, check_steps
from traces.verifiers.steps import compare_steps, reasoning_lines, reference_steps

TEMPLATE = "<start_of_turn>user\n{}<end_of_turn>\n<start_of_turn>model\n"


def _trace(level: str, seed: int = 1) -> TraceContent:
    p = next(ARITHMETIC.iter_payloads(seed=seed, level=level))
    return TraceContent(prompt=p["prompt"], final_answer=p["final_answer"], steps=p["steps"], meta=p["meta"])


@pytest.mark.parametrize("level", ["easy", "medium", "hard"])
def test_a_generated_trace_writes_every_reference_step(level: str) -> None:
    trace = _trace(level)
    reference = reference_steps(trace.prompt)
    assert reference == [f"{n}. {step['content']}" for n, step in enumerate(trace.steps, start=1)]
    result = score_step_match(trace)
    assert result.score == 1.0
    assert result.details == {
        "matched_steps": len(trace.steps),
        "reference_steps": len(trace.steps),
        "trace_steps": len(trace.steps),
        "first_wrong_step": None,
    }


def test_a_wrong_step_is_named_and_costs_its_share() -> None:
    trace = _trace("hard")
    steps = [dict(step) for step in trace.steps]
    steps[2]["content"] = "Tens: 1 + 1 = 3."
    result = score_step_match(TraceContent(prompt=trace.prompt, final_answer="0", steps=steps))
    assert result.score == round(7 / 8, 4)
    assert result.details["first_wrong_step"] == 3


def test_extra_or_missing_lines_count_against_the_share() -> None:
    reference = ["1. a", "2. b"]
    assert compare_steps(reference, ["1. a", "2. b", "3. c", "4. d"]).share == 0.5
    missing = compare_steps(reference, ["1. a"])
    assert (missing.share, missing.first_wrong) == (0.5, 2)
    assert compare_steps(reference, []).share == 0.0


def test_reasoning_lines_read_inside_the_tag_or_the_whole_text() -> None:
    assert reasoning_lines("<reasoning>1. a\n\n 2. b </reasoning>\n<answer>3</answer>") == ["1. a", "2. b"]
    assert reasoning_lines("<reasoning>1. a\n2. b") == ["1. a", "2. b"]
    assert reasoning_lines("1. a\n2. b") == ["1. a", "2. b"]


def test_only_questions_a_generator_level_produces_have_reference_steps() -> None:
    assert reference_steps("What is the capital of France?") is None
    assert reference_steps("What is 100 + 200?") is None  # three-digit operands: no level has them
    assert reference_steps("What is 12 - 40?") is None  # a negative result: no level has it
    with pytest.raises(CannotVerify, match="no reference steps"):
        score_step_match(TraceContent(prompt="Name a colour.", final_answer="red", steps=[]))


def test_find_problem_reads_a_question_inside_a_template() -> None:
    assert find_problem(TEMPLATE.format("What is 12 + 30 - 5?")) == parse_prompt("What is 12 + 30 - 5?")
    assert find_problem("no question here") is None


def test_check_steps_reward_is_three_times_the_share_from_a_templated_prompt() -> None:
    trace = _trace("hard")
    prompt = TEMPLATE.format(trace.prompt)
    right = reasoning_completion(trace)
    wrong = right.replace(trace.steps[7]["content"], "Combine: 0 tens and 0 ones, so 1 + 1 = 0.")
    assert check_steps([prompt, prompt, "Name a colour."], [right, wrong, right]) == [3.0, 3.0 * 7 / 8, 0.0]


def test_check_steps_is_offered_to_grpo_but_not_summed_into_tunix_reward() -> None:
    assert check_steps in GRPO_REWARD_FUNCTIONS
    assert check_steps not in REWARD_FUNCTIONS
