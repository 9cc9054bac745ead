"""The reward functions of Tunix's GSM8K GRPO recipe, re-written once for curation and for GRPO.

Each function has the batch signature Tunix's ``GRPOLearner`` calls reward functions with,
``fn(prompts, completions, answer=..., **kwargs) -> list[float]``, so the same objects can be
handed to the trainer. ``tunix_reward_components`` scores one completion with all four: what a
curator sees in the ``tunix_reward`` score is what reinforcement learning optimises.

Values (from the recipe): exact format 0 or 3; approximate format -2.5..2.5 in steps of 0.5
(five checks of +/-0.5); answer check -1..3; number check 0 or 1.5. The maximum total is 10.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any

from traces.verifiers.steps import compare_steps, reasoning_lines, reference_steps

REASONING_START = "<reasoning>"
REASONING_END = "</reasoning>"
SOLUTION_START = "<answer>"
SOLUTION_END = "</answer>"

MATCH_FORMAT = re.compile(
    rf"^[\s]{{0,}}{REASONING_START}.+?{REASONING_END}.*?{SOLUTION_START}(.+?){SOLUTION_END}[\s]{{0,}}$",
    flags=re.MULTILINE | re.DOTALL,
)
MATCH_NUMBERS = re.compile(rf"{SOLUTION_START}.*?([\d\.]{{1,}})", flags=re.MULTILINE | re.DOTALL)

RewardFunction = Callable[..., list[float]]


def match_format_exactly(prompts: Sequence[str], completions: Sequence[str], **kwargs: Any) -> list[float]:
    """3 when the whole reasoning-then-answer shape is there, else 0."""
    return [3.0 if MATCH_FORMAT.search(text) is not None else 0.0 for text in completions]


def match_format_approximately(prompts: Sequence[str], completions: Sequence[str], **kwargs: Any) -> list[float]:
    """+0.5 per tag seen exactly once and for opening with ``<reasoning>``, -0.5 otherwise."""
    scores = []
    for text in completions:
        checks = (
            text.count(REASONING_START) == 1,
            text.find(REASONING_START) == 0,
            text.count(REASONING_END) == 1,
            text.count(SOLUTION_START) == 1,
            text.count(SOLUTION_END) == 1,
        )
        scores.append(sum(0.5 if ok else -0.5 for ok in checks))
    return scores


def _answer_score(guess: str | None, expected: str) -> float:
    if guess is None:
        return 0.0
    if guess == expected:
        return 3.0
    if guess.strip() == expected.strip():
        return 1.5
    try:
        ratio = float(guess) / float(expected)
    except (ValueError, ZeroDivisionError, OverflowError):
        return -0.5
    if 0.9 <= ratio <= 1.1:
        return 0.5
    if 0.8 <= ratio <= 1.2:
        return 0.25
    return -1.0


def check_answer(
    prompts: Sequence[str], completions: Sequence[str], answer: Sequence[str], **kwargs: Any
) -> list[float]:
    """3 for the exact answer, 1.5 equal but for spaces, 0.5/0.25 within 10%/20%, -1 wrong, -0.5 not a number."""
    guesses = [match.group(1) if (match := MATCH_FORMAT.search(text)) else None for text in completions]
    return [_answer_score(guess, str(expected)) for guess, expected in zip(guesses, answer, strict=True)]


def _number_score(guess: str | None, expected: str) -> float:
    if guess is None:
        return 0.0
    try:
        return 1.5 if float(guess) == float(expected) else 0.0
    except ValueError:
        return 0.0


def check_numbers(
    prompts: Sequence[str], completions: Sequence[str], answer: Sequence[str], **kwargs: Any
) -> list[float]:
    """1.5 when the first number after ``<answer>`` equals the expected answer as a number, else 0."""
    guesses = [match.group(1) if (match := MATCH_NUMBERS.search(text)) else None for text in completions]
    return [_number_score(guess, str(expected)) for guess, expected in zip(guesses, answer, strict=True)]


REWARD_FUNCTIONS: tuple[RewardFunction, ...] = (
    match_format_exactly,
    match_format_approximately,
    check_answer,
    check_numbers,
)


def check_steps(prompts: Sequence[str], completions: Sequence[str], **kwargs: Any) -> list[float]:
    """3 x the share of the arithmetic question's reference steps the reasoning writes, line for line.

    A process reward: partial credit for each right step, so a group whose answers are all wrong
    still ranks its samples. Lines beyond the reference count against the share; a prompt with
    no reference steps scores 0 for every completion (no advantage either way).
    """
    scores = []
    for prompt, text in zip(prompts, completions, strict=True):
        reference = reference_steps(str(prompt))
        scores.append(0.0 if reference is None else 3.0 * compare_steps(reference, reasoning_lines(text)).share)
    return scores


# What GRPO may choose from: the recipe's four and the process reward, which curators see as
# its own verifier (``step_match``) and which is not added into ``tunix_reward``.
GRPO_REWARD_FUNCTIONS: tuple[RewardFunction, ...] = (*REWARD_FUNCTIONS, check_steps)


def tunix_reward_components(*, prompt: str, completion: str, expected: str) -> dict[str, float]:
    """Each recipe reward for one completion, keyed by function name, in recipe order."""
    return {fn.__name__: fn([prompt], [completion], answer=[expected])[0] for fn in REWARD_FUNCTIONS}
