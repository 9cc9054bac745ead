"""Scorer registry: each criterion is a pure function of a trace's content."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from tunix_rt.errors import InvalidInput


@dataclass(frozen=True)
class ScoreResult:
    score: float
    details: dict[str, Any] = field(default_factory=dict)


Scorer = Callable[[Sequence[Mapping[str, Any]]], ScoreResult]

_REGISTRY: dict[str, Scorer] = {}


def register(name: str) -> Callable[[Scorer], Scorer]:
    def decorator(func: Scorer) -> Scorer:
        _REGISTRY[name] = func
        return func

    return decorator


def criteria_names() -> list[str]:
    return sorted(_REGISTRY)


def get_scorer(name: str) -> Scorer:
    try:
        return _REGISTRY[name]
    except KeyError:
        valid = ", ".join(criteria_names())
        raise InvalidInput(f'"{name}" is not a valid criteria; valid: {valid}.', field="criteria") from None


from traces.scoring import baseline  # noqa: E402,F401  (registers itself)
