"""The answer a trace should give, found without trusting the trace's own final answer.

Arithmetic prompts are re-evaluated, High Card Duel results recomputed from the cards, and
any other trace is compared with its ``meta.expected_answer`` when one is set.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from traces.generators import arithmetic, high_card_duel


class NoExpectedAnswer(ValueError):
    """Nothing in the trace says what its answer should be."""


@dataclass(frozen=True)
class Expected:
    answer: str
    method: str


def _cards_from_meta(meta: Mapping[str, Any]) -> tuple[str, str] | None:
    mine, theirs = meta.get("my_card"), meta.get("opponent_card")
    if isinstance(mine, str) and isinstance(theirs, str) and mine != theirs:
        if mine in high_card_duel.DECK and theirs in high_card_duel.DECK:
            return mine, theirs
    return None


def expected_answer(*, prompt: str, meta: Any) -> Expected:
    """The checked answer and how it was found; ``NoExpectedAnswer`` says why there is none."""
    problem = arithmetic.parse_prompt(prompt)
    if problem is not None:
        return Expected(answer=str(arithmetic.evaluate(problem)), method="arithmetic")
    meta = meta if isinstance(meta, dict) else {}
    cards = high_card_duel.parse_prompt(prompt) or _cards_from_meta(meta)
    if cards is not None:
        return Expected(answer=high_card_duel.duel_result(*cards), method="high_card_duel")
    value = meta.get("expected_answer")
    if isinstance(value, bool) or not isinstance(value, (str, int, float)) or str(value).strip() == "":
        raise NoExpectedAnswer(
            "not an arithmetic or High Card Duel problem, and meta.expected_answer is not set to a string or number"
        )
    return Expected(answer=str(value), method="meta.expected_answer")
