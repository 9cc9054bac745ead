"""Adapter to the optional UNGAR card-game engine, imported only when asked for.

UNGAR's deck has 56 cards (four Jokers); a Joker is written ``X`` + suit, and ranks
above Ace, as UNGAR ranks it.
"""

from __future__ import annotations

import importlib
import importlib.util
from typing import Any

from tunix_rt.errors import FeatureUnavailable

INSTALL_HINT = (
    "UNGAR is not installed. Install the optional engine into this environment "
    "(pip install ungar, or from its source checkout: pip install -e path/to/ungar) and restart."
)
_RANKS = {
    "TWO": "2", "THREE": "3", "FOUR": "4", "FIVE": "5", "SIX": "6", "SEVEN": "7", "EIGHT": "8",
    "NINE": "9", "TEN": "T", "JACK": "J", "QUEEN": "Q", "KING": "K", "ACE": "A", "JOKER": "X",
}  # fmt: skip
_SUITS = {"CLUBS": "C", "DIAMONDS": "D", "HEARTS": "H", "SPADES": "S"}
_RESULTS = {1.0: "win", -1.0: "loss", 0.0: "tie"}


def ungar_installed() -> bool:
    return importlib.util.find_spec("ungar") is not None


def ungar_status() -> dict[str, Any]:
    if not ungar_installed():
        return {"available": False, "version": None}
    module = importlib.import_module("ungar")
    return {"available": True, "version": str(getattr(module, "__version__", "unknown"))}


def card_code(card: Any) -> str:
    return _RANKS[card.rank.name] + _SUITS[card.suit.name]


def _episode_payload(episode: Any, *, index: int, seed: int) -> dict[str, Any]:
    final = episode.states[-1]
    mine, theirs = (card_code(c) for c in final.hands)
    result = _RESULTS[float(episode.rewards[0])]
    moves = ", ".join(sorted({m.name for m in episode.moves})) or "none"
    return {
        "trace_version": "1.0",
        "prompt": f"High card duel. I hold {mine}; the opponent reveals {theirs}. Win, loss or tie?",
        "final_answer": result,
        "steps": [
            {"i": 0, "type": "legal_moves", "content": f"Legal moves: {moves}."},
            {"i": 1, "type": "hand", "content": f"My hand: {mine}."},
            {"i": 2, "type": "unseen", "content": "Unseen: every card but mine, the opponent's among them."},
            {"i": 3, "type": "decision", "content": "Decision: reveal, the only legal move."},
            {"i": 4, "type": "showdown", "content": f"Opponent reveals {theirs}; the result is a {result}."},
        ],
        "meta": {
            "source": "ungar",
            "generator": "ungar",
            "game": "high_card_duel",
            "episode_index": index,
            "my_card": mine,
            "opponent_card": theirs,
            "result": result,
            "seed": seed,
        },
    }


def high_card_duel_payloads(*, count: int, seed: int) -> list[dict[str, Any]]:
    """Plays ``count`` random episodes; episode ``n`` uses seed ``seed + n`` so runs repeat."""
    if not ungar_installed():
        raise FeatureUnavailable(INSTALL_HINT)
    games = importlib.import_module("ungar.games.high_card_duel")
    runner = importlib.import_module("ungar.runner")
    spec = games.make_high_card_duel_spec()
    return [_episode_payload(runner.play_random_episode(spec, seed=seed + n), index=n, seed=seed) for n in range(count)]
