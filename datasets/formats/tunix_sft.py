"""``tunix_sft``: one Gemma chat-template string per trace, the shape early Tunix SFT scripts read."""

from __future__ import annotations

from typing import Any

from datasets.formats.base import ExportOptions, ExportTrace, legacy_response, metadata


def render(trace: ExportTrace, options: ExportOptions) -> dict[str, Any]:
    text = (
        "<start_of_turn>user\n"
        + trace.prompt
        + "<end_of_turn>\n<start_of_turn>model\n"
        + legacy_response(trace)
        + "<end_of_turn>"
    )
    return {
        "id": str(trace.id),
        "prompts": text,
        "final_answer": trace.final_answer,
        "metadata": {**metadata(trace), "format": "tunix_sft"},
    }
