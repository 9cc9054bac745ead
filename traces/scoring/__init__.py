"""Scorer registry: each criterion is a pure function of a trace's content.

A scorer takes anything with ``prompt``, ``final_answer``, ``steps`` and ``meta`` (a stored
``Trace`` or a payload wrapped in ``TraceContent``) and returns a ``ScoreResult``; a verifier
that cannot judge a trace raises ``CannotVerify``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from tunix_rt.errors import InvalidInput


class ScoredTrace(Protocol):
    @property
    def prompt(self) -> str: ...

    @property
    def final_answer(self) -> str: ...

    @property
    def steps(self) -> Any: ...

    @property
    def meta(self) -> Any: ...


@dataclass(frozen=True)
class TraceContent:
    """A trace's reasoning content outside the database (tests, previews, generators)."""

    prompt: str
    final_answer: str
    steps: Any
    meta: Any = None


@dataclass(frozen=True)
class ScoreResult:
    score: float
    details: dict[str, Any] = field(default_factory=dict)


class CannotVerify(InvalidInput):
    """The trace carries nothing a verifier can check its answer against."""

    code = "cannot_verify"

    def __init__(self, reason: str) -> None:
        super().__init__(f"cannot verify: {reason}")


Scorer = Callable[[ScoredTrace], ScoreResult]

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


from traces.scoring import baseline, verifiers  # noqa: E402,F401  (register themselves)

CRITERIA: tuple[str, ...] = tuple(criteria_names())
