"""Step-by-step checking: a completion's reasoning lines against the problem's reference steps.

An arithmetic question is solved again by the generator's own solver, so every line of a
reasoning can be checked, not only the final answer: a process reward for GRPO
(``rewards.check_steps``) and the ``step_match`` verdict a curator sees are both this module.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from traces.generators import arithmetic

_REASONING = re.compile(r"<reasoning>(.*?)(?:</reasoning>|$)", re.DOTALL)


@dataclass(frozen=True)
class StepCheck:
    """How many reference steps a reasoning reproduces, each at its own line."""

    matched: int
    total: int
    lines: int
    first_wrong: int | None  # 1-based line of the first mismatch, or None when all match

    @property
    def share(self) -> float:
        """Matched steps over the longer of the reference and the reasoning (extra lines cost)."""
        return self.matched / max(self.total, self.lines)


def reference_steps(text: str) -> list[str] | None:
    """The numbered reference steps (``"1. …"``) of the arithmetic question in ``text``, else ``None``.

    ``None`` too for a question no generator level produces: its steps would be a guess.
    """
    problem = arithmetic.find_problem(text)
    if problem is None:
        return None
    level = next((name for name in arithmetic.LEVELS if arithmetic.fits_level(problem, name)), None)
    if level is None:
        return None
    steps, _ = arithmetic.solve(problem, level)
    return [f"{n}. {content}" for n, (_, content) in enumerate(steps, start=1)]


def reasoning_lines(completion: str) -> list[str]:
    """The non-empty lines inside ``<reasoning>`` (the whole text when the tag is missing), stripped."""
    match = _REASONING.search(completion)
    body = match.group(1) if match is not None else completion
    return [line.strip() for line in body.splitlines() if line.strip()]


def compare_steps(reference: Sequence[str], lines: Sequence[str]) -> StepCheck:
    """Line ``n`` of the reasoning must be reference step ``n``, exactly."""
    matched, first_wrong = 0, None
    for n in range(max(len(reference), len(lines))):
        if n < len(reference) and n < len(lines) and lines[n] == reference[n]:
            matched += 1
        elif first_wrong is None:
            first_wrong = n + 1
    return StepCheck(matched=matched, total=len(reference), lines=len(lines), first_wrong=first_wrong)
