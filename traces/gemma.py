"""Gemma's chat template, in one place: verifiers check it, the exports write it, the engine samples with it.

Gemma has no system role; a system prompt goes at the head of the user turn.
"""

from __future__ import annotations

START_OF_TURN = "<start_of_turn>"
END_OF_TURN = "<end_of_turn>"
USER_TURN = START_OF_TURN + "user\n"
MODEL_TURN = END_OF_TURN + "\n" + START_OF_TURN + "model\n"
# Literal control tokens a trace must never carry into a training text.
CONTROL_TOKENS = (START_OF_TURN, END_OF_TURN, "<bos>", "<eos>")


def gemma_prompt(text: str) -> str:
    """A user turn holding ``text``, followed by the opening of the model's turn."""
    return USER_TURN + text + MODEL_TURN


def gemma_model_turn_end(text: str) -> str:
    """The model's reply ``text`` closed as a turn."""
    return text + END_OF_TURN
