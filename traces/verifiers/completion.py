"""The completion a trace trains into: the one shape SFT teaches, GRPO rewards and verifiers check.

``datasets`` renders its ``prompt_completion`` and ``chat`` exports with these functions, so the
curator's ``format_match`` verdict is about the exact text a model is trained on.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from traces.gemma import CONTROL_TOKENS


class ReasoningContent(Protocol):
    @property
    def final_answer(self) -> str: ...

    @property
    def steps(self) -> Any: ...


def clean(text: str) -> str:
    """Removes Gemma control tokens so no trace can open or close a turn."""
    for token in CONTROL_TOKENS:
        text = text.replace(token, "")
    return text


def step_lines(steps: Sequence[Mapping[str, Any]]) -> str:
    """Step contents as ``"{n}. {content}"`` lines joined by newlines, numbered from 1."""
    return "\n".join(f"{n}. {step['content']}" for n, step in enumerate(steps, start=1))


def reasoning_completion(trace: ReasoningContent) -> str:
    """``<reasoning>..</reasoning>\\n<answer>..</answer>``: the output shape Tunix's GRPO reward matches."""
    return f"<reasoning>{clean(step_lines(trace.steps))}</reasoning>\n<answer>{clean(trace.final_answer)}</answer>"


def surviving_control_tokens(text: str) -> list[str]:
    """Control tokens still present in ``text`` (cleaning can join fragments into a new one)."""
    return [token for token in CONTROL_TOKENS if token in text]
