"""Vocabulary shared by every generator: the protocol, the payload shape, the errors.

It lives apart from ``registry`` so that generator modules can use it while the
registry imports them, without a circular import.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any, Protocol

TRACE_VERSION = "1.0"

Payload = dict[str, Any]


class UnknownGenerator(KeyError):
    """Raised for an unregistered generator name; a KeyError, as for any lookup."""

    def __init__(self, name: str, available: Sequence[str]) -> None:
        super().__init__(name)
        self.name = name
        self.available = tuple(available)

    def __str__(self) -> str:
        available = ", ".join(self.available)
        return f"unknown generator {self.name!r}; available: {available}"


class InvalidGeneratorOption(ValueError):
    """Raised for a level, seed or count a generator cannot honour; names valid ones."""


class NotEnoughDistinctPrompts(ValueError):
    """Raised when a level cannot supply enough new prompts; says how many it could."""

    def __init__(self, message: str, *, requested: int, found: int) -> None:
        super().__init__(message)
        self.requested = requested
        self.found = found


class Generator(Protocol):
    """A named, seeded payload source; the same seed and level give the same stream."""

    @property
    def name(self) -> str: ...

    @property
    def description(self) -> str: ...

    @property
    def options(self) -> dict[str, Any]:
        """JSON-able accepted options: levels, default level, prompt-space sizes."""
        ...

    def iter_payloads(self, *, seed: int, level: str | None = None) -> Iterator[Payload]:
        """An endless deterministic stream; a bad level or seed raises on the call."""
        ...

    def expected_answer(self, payload: Mapping[str, Any]) -> str:
        """The correct answer, recomputed from the prompt rather than trusted."""
        ...

    def prompt_space_size(self, *, level: str | None = None) -> int:
        """How many distinct prompts the level can produce, so searches can stop."""
        ...

    def in_prompt_space(self, prompt: str, *, level: str | None = None) -> bool:
        """Whether the level could produce this exact prompt."""
        ...


def resolve_level(*, generator: str, levels: Mapping[str, str], default: str, level: str | None) -> str:
    """Map ``None`` to the default level; reject names the generator does not know."""
    if level is None:
        return default
    if level not in levels:
        raise InvalidGeneratorOption(
            f"invalid level {level!r} for generator {generator!r}; valid levels: {', '.join(levels)}"
        )
    return level


def check_seed(seed: int) -> int:
    """Accept only non-negative ints: ``random.Random`` seeds ``-n`` and ``n`` alike."""
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise InvalidGeneratorOption(f"seed must be a non-negative integer, got {seed!r}")
    return seed


def number_steps(steps: Sequence[tuple[str, str]]) -> list[dict[str, Any]]:
    """Turn ``(type, content)`` pairs into trace steps indexed from 0 in order."""
    return [{"i": i, "type": kind, "content": content} for i, (kind, content) in enumerate(steps)]
