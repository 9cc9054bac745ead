"""High card duel from one player's side: I hold a card, reveal it, higher rank wins.

The prompt names both cards as they stand at the showdown, so the result can be
checked from the prompt alone; the steps walk through the decision as it looked
before the reveal, when 51 cards were unseen.
"""

from __future__ import annotations

import itertools
import random
import re
from collections.abc import Iterator, Mapping
from typing import Any

from .base import TRACE_VERSION, Payload, check_seed, number_steps, resolve_level

NAME = "high_card_duel"
RANKS = "23456789TJQKA"
SUITS = "CDHS"
DECK: tuple[str, ...] = tuple(rank + suit for rank in RANKS for suit in SUITS)
DEFAULT_LEVEL = "standard"
LEVELS: dict[str, str] = {
    "standard": "one card each from a freshly shuffled 52-card deck; move: reveal",
}
PROMPT_SPACE = len(DECK) * (len(DECK) - 1)

_CARD = f"[{RANKS}][{SUITS}]"
_PROMPT_RE = re.compile(
    rf"High card duel\. I hold ({_CARD}); the opponent reveals ({_CARD})\. "
    r"Win, loss or tie\?"
)


def _check_card(card: str) -> None:
    if card not in DECK:
        raise ValueError(f"not a card: {card!r}; write rank then suit, ranks {RANKS}, suits {SUITS}")


def duel_result(my_card: str, opponent_card: str) -> str:
    """``win``, ``loss`` or ``tie`` for me, by rank alone: suits never break ties."""
    _check_card(my_card)
    _check_card(opponent_card)
    if my_card == opponent_card:
        raise ValueError(f"both players cannot hold {my_card}: a deck has one of each")
    mine, theirs = RANKS.index(my_card[0]), RANKS.index(opponent_card[0])
    if mine > theirs:
        return "win"
    if mine < theirs:
        return "loss"
    return "tie"


def prompt_for(my_card: str, opponent_card: str) -> str:
    return f"High card duel. I hold {my_card}; the opponent reveals {opponent_card}. Win, loss or tie?"


def parse_prompt(prompt: str) -> tuple[str, str] | None:
    """The two cards of one of this generator's prompts, else ``None``."""
    match = _PROMPT_RE.fullmatch(prompt)
    if match is None or match.group(1) == match.group(2):
        return None
    return match.group(1), match.group(2)


def _comparison(my_card: str, opponent_card: str, result: str) -> str:
    mine, theirs = my_card[0], opponent_card[0]
    if result == "win":
        return f"{mine} beats {theirs}, so I win."
    if result == "loss":
        return f"{mine} loses to {theirs}, so I lose."
    return f"Both ranks are {mine}, so it is a tie."


def build_payload(*, my_card: str, opponent_card: str, seed: int, episode_index: int) -> Payload:
    """Turn one dealt episode into a trace told from my side."""
    result = duel_result(my_card, opponent_card)
    steps = [
        ("legal_moves", "Legal moves: reveal."),
        ("hand", f"My hand: {my_card}, rank {my_card[0]}."),
        ("unseen", f"Unseen: {len(DECK) - 1} cards, the opponent's card among them."),
        ("decision", "Decision: reveal, the only legal move."),
        ("showdown", f"Opponent reveals {opponent_card}, rank {opponent_card[0]}."),
        ("compare", _comparison(my_card, opponent_card, result)),
    ]
    return {
        "trace_version": TRACE_VERSION,
        "prompt": prompt_for(my_card, opponent_card),
        "final_answer": result,
        "steps": number_steps(steps),
        "meta": {
            "source": NAME,
            "generator": NAME,
            "game": NAME,
            "episode_index": episode_index,
            "my_card": my_card,
            "opponent_card": opponent_card,
            "result": result,
            "seed": seed,
        },
    }


class HighCardDuelGenerator:
    """Endless seeded high card duel episodes."""

    name = NAME
    description = (
        "High card duel: each player draws one card from a freshly shuffled "
        "52-card deck; the higher rank wins and equal ranks tie. Traces are told "
        "from my side and answer win, loss or tie."
    )

    @property
    def options(self) -> dict[str, Any]:
        return {
            "levels": dict(LEVELS),
            "default_level": DEFAULT_LEVEL,
            "prompt_space": {DEFAULT_LEVEL: PROMPT_SPACE},
        }

    def _level(self, level: str | None) -> str:
        return resolve_level(generator=NAME, levels=LEVELS, default=DEFAULT_LEVEL, level=level)

    def iter_payloads(self, *, seed: int, level: str | None = None) -> Iterator[Payload]:
        self._level(level)
        check_seed(seed)
        return self._stream(seed=seed)

    def _stream(self, *, seed: int) -> Iterator[Payload]:
        rng = random.Random(seed)  # noqa: S311 -- reproducible data, not security
        for episode_index in itertools.count():
            deck = list(DECK)
            rng.shuffle(deck)
            yield build_payload(
                my_card=deck[0],
                opponent_card=deck[1],
                seed=seed,
                episode_index=episode_index,
            )

    def expected_answer(self, payload: Mapping[str, Any]) -> str:
        cards = parse_prompt(str(payload["prompt"]))
        if cards is None:
            raise ValueError(f"not a high card duel prompt: {payload['prompt']!r}")
        return duel_result(*cards)

    def prompt_space_size(self, *, level: str | None = None) -> int:
        self._level(level)
        return PROMPT_SPACE

    def in_prompt_space(self, prompt: str, *, level: str | None = None) -> bool:
        self._level(level)
        return parse_prompt(prompt) is not None


HIGH_CARD_DUEL = HighCardDuelGenerator()
