"""The table of built-in generators and the entry points services, API and CLI call."""

from __future__ import annotations

import itertools
from collections.abc import Set

from .arithmetic import ARITHMETIC
from .base import (
    Generator,
    InvalidGeneratorOption,
    NotEnoughDistinctPrompts,
    Payload,
    UnknownGenerator,
)
from .high_card_duel import HIGH_CARD_DUEL

__all__ = [
    "Generator",
    "InvalidGeneratorOption",
    "NotEnoughDistinctPrompts",
    "UnknownGenerator",
    "available_generators",
    "distinct_prompts",
    "generate",
    "get_generator",
]

_GENERATORS: dict[str, Generator] = {generator.name: generator for generator in (ARITHMETIC, HIGH_CARD_DUEL)}

_DRAWS_PER_PROMPT_IN_SPACE = 64
_DRAWS_PER_REQUESTED = 200
_DRAWS_BASE = 100_000


def available_generators() -> list[Generator]:
    """All registered generators, sorted by name so listings are stable."""
    return [_GENERATORS[name] for name in sorted(_GENERATORS)]


def get_generator(name: str) -> Generator:
    """The generator called ``name``; ``UnknownGenerator`` lists the available ones."""
    try:
        return _GENERATORS[name]
    except KeyError:
        raise UnknownGenerator(name, sorted(_GENERATORS)) from None


def _check_count(count: int) -> None:
    if isinstance(count, bool) or not isinstance(count, int) or count < 0:
        raise InvalidGeneratorOption(f"count must be a non-negative integer, got {count!r}")


def generate(*, name: str, count: int, seed: int, level: str | None = None) -> list[Payload]:
    """The first ``count`` payloads of the stream; a larger count extends a smaller."""
    generator = get_generator(name)
    _check_count(count)
    stream = generator.iter_payloads(seed=seed, level=level)
    return list(itertools.islice(stream, count))


def distinct_prompts(
    *,
    name: str,
    count: int,
    seed: int,
    level: str | None = None,
    exclude: Set[str] = frozenset(),
) -> list[Payload]:
    """``count`` payloads, in stream order, with new prompts distinct from each other.

    Fails at once when the level's prompt space minus ``exclude`` is too small, and
    gives up after a bounded number of draws otherwise, so it always ends quickly.
    """
    generator = get_generator(name)
    _check_count(count)
    space = generator.prompt_space_size(level=level)
    excluded = sum(1 for p in exclude if generator.in_prompt_space(p, level=level))
    available = space - excluded
    label = f"{name!r} level {level or generator.options['default_level']!r}"
    if count > available:
        raise NotEnoughDistinctPrompts(
            f"{label} has {space} distinct prompts, {excluded} of them excluded: "
            f"only {available} could be found, {count} requested",
            requested=count,
            found=available,
        )
    chosen: list[Payload] = []
    if count == 0:
        return chosen
    seen: set[str] = set()
    max_draws = min(_DRAWS_PER_PROMPT_IN_SPACE * space, _DRAWS_BASE + _DRAWS_PER_REQUESTED * count)
    stream = generator.iter_payloads(seed=seed, level=level)
    for payload in itertools.islice(stream, max_draws):
        prompt = payload["prompt"]
        if prompt in seen or prompt in exclude:
            continue
        seen.add(prompt)
        chosen.append(payload)
        if len(chosen) == count:
            return chosen
    raise NotEnoughDistinctPrompts(
        f"{label}: only {len(chosen)} new distinct prompts found in {max_draws} draws, {count} requested",
        requested=count,
        found=len(chosen),
    )
