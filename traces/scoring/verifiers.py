"""Verifiers: ``answer_match``, ``format_match``, ``tunix_reward`` (the GRPO recipe's rewards) and
``step_match`` (arithmetic steps checked one by one, GRPO's ``check_steps``)."""

from __future__ import annotations

from traces.scoring import CannotVerify, ScoredTrace, ScoreResult, register
from traces.verifiers.answers import format_ok, normalise
from traces.verifiers.completion import reasoning_completion, surviving_control_tokens
from traces.verifiers.expected import Expected, NoExpectedAnswer, expected_answer
from traces.verifiers.rewards import tunix_reward_components
from traces.verifiers.steps import compare_steps, reasoning_lines, reference_steps


def _expected(trace: ScoredTrace) -> Expected:
    try:
        return expected_answer(prompt=trace.prompt, meta=trace.meta)
    except NoExpectedAnswer as exc:
        raise CannotVerify(str(exc)) from None


@register("answer_match")
def score_answer_match(trace: ScoredTrace) -> ScoreResult:
    """1.0 when the final answer equals the checked answer after evaluation's normalisation, else 0.0."""
    expected = _expected(trace)
    correct = normalise(trace.final_answer) == normalise(expected.answer)
    return ScoreResult(
        score=1.0 if correct else 0.0,
        details={"expected_answer": expected.answer, "final_answer": trace.final_answer, "method": expected.method},
    )


@register("format_match")
def score_format_match(trace: ScoredTrace) -> ScoreResult:
    """1.0 when the trained completion matches Tunix's reasoning pattern and holds no control token."""
    completion = reasoning_completion(trace)
    pattern_ok = format_ok(completion)
    tokens = surviving_control_tokens(completion)
    return ScoreResult(
        score=1.0 if pattern_ok and not tokens else 0.0,
        details={"pattern_ok": pattern_ok, "control_tokens": tokens},
    )


@register("tunix_reward")
def score_tunix_reward(trace: ScoredTrace) -> ScoreResult:
    """The sum of the GSM8K GRPO recipe's rewards for the trained completion (at most 10)."""
    expected = _expected(trace)
    components = tunix_reward_components(
        prompt=trace.prompt, completion=reasoning_completion(trace), expected=expected.answer
    )
    return ScoreResult(
        score=round(sum(components.values()), 2),
        details={**components, "expected_answer": expected.answer, "method": expected.method},
    )


@register("step_match")
def score_step_match(trace: ScoredTrace) -> ScoreResult:
    """The share of an arithmetic problem's reference steps the trace writes, each at its own line.

    The verdict behind GRPO's ``check_steps`` reward (3 x this share). Details name the first
    line that differs, so a reviewer sees where a model's reasoning went wrong.
    """
    reference = reference_steps(trace.prompt)
    if reference is None:
        raise CannotVerify("not an arithmetic problem a generator level produces: there are no reference steps")
    check = compare_steps(reference, reasoning_lines(reasoning_completion(trace)))
    return ScoreResult(
        score=round(check.share, 4),
        details={
            "matched_steps": check.matched,
            "reference_steps": check.total,
            "trace_steps": check.lines,
            "first_wrong_step": check.first_wrong,
        },
    )
