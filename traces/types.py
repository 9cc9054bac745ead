"""Typed shapes that cross the service boundary."""

from __future__ import annotations

from typing import Any, TypedDict


class Step(TypedDict):
    i: int
    type: str
    content: str


class TracePayload(TypedDict):
    """A validated trace as it arrives from the API, a file or a generator."""

    trace_version: str
    prompt: str
    final_answer: str
    steps: list[Step]
    meta: dict[str, Any] | None
