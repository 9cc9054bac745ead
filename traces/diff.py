"""Step-level differences between two traces, aligned with ``difflib`` on step contents."""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence
from typing import Any

Step = Mapping[str, Any]


def _side(step: Step | None, number: int | None) -> dict[str, Any] | None:
    if step is None:
        return None
    return {"n": number, "type": step["type"], "content": step["content"]}


def step_diff(base: Sequence[Step], other: Sequence[Step]) -> list[dict[str, Any]]:
    """One row per aligned pair: ``op`` is ``equal``, ``changed``, ``removed`` (base only) or ``added`` (other only).

    Each side is ``{"n", "type", "content"}`` with ``n`` the 1-based step number, or null.
    """
    matcher = difflib.SequenceMatcher(
        a=[str(s["content"]) for s in base], b=[str(s["content"]) for s in other], autojunk=False
    )
    rows: list[dict[str, Any]] = []
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        left, right = list(range(i1, i2)), list(range(j1, j2))
        for k in range(max(len(left), len(right))):
            i = left[k] if k < len(left) else None
            j = right[k] if k < len(right) else None
            if tag == "equal":
                op = "equal"
            elif i is not None and j is not None:
                op = "changed"
            else:
                op = "removed" if j is None else "added"
            rows.append(
                {
                    "op": op,
                    "base": _side(base[i] if i is not None else None, None if i is None else i + 1),
                    "other": _side(other[j] if j is not None else None, None if j is None else j + 1),
                }
            )
    return rows


def trace_diff(base: Any, other: Any) -> dict[str, Any]:
    """Whether prompt and final answer are equal, and the step rows of ``step_diff``."""
    return {
        "prompt_equal": base.prompt == other.prompt,
        "final_answer_equal": base.final_answer == other.final_answer,
        "steps": step_diff(base.steps, other.steps),
    }
