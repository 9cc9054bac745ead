"""``trace``: the stored trace as existing readers expect it; ``metadata.steps`` adds each step's index and type."""

from __future__ import annotations

from typing import Any

from datasets.formats.base import ExportOptions, ExportTrace, metadata, step_contents


def render(trace: ExportTrace, options: ExportOptions) -> dict[str, Any]:
    return {
        "id": str(trace.id),
        "prompts": trace.prompt,
        "trace_steps": step_contents(trace),
        "final_answer": trace.final_answer,
        "metadata": metadata(trace),
    }
