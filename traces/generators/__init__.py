"""Built-in seeded trace generators; pure Python, shared by services, API and CLI."""

from __future__ import annotations

from .base import TRACE_VERSION, Payload
from .high_card_duel import duel_result
from .registry import (
    Generator,
    InvalidGeneratorOption,
    NotEnoughDistinctPrompts,
    UnknownGenerator,
    available_generators,
    distinct_prompts,
    generate,
    get_generator,
)

__all__ = [
    "TRACE_VERSION",
    "Generator",
    "InvalidGeneratorOption",
    "NotEnoughDistinctPrompts",
    "Payload",
    "UnknownGenerator",
    "available_generators",
    "distinct_prompts",
    "duel_result",
    "generate",
    "get_generator",
]
