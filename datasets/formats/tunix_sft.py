"""``tunix_sft``: one Gemma chat-template string per trace, the shape early Tunix SFT scripts read."""

from __future__ import annotations

from typing import Any

from datasets.formats.base import ExportOptions, ExportTrace, legacy_response, metadata
from traces.gemma import gemma_model_turn_end, gemma_prompt


def render(trace: ExportTrace, options: ExportOptions) -> dict[str, Any]:
    text = gemma_prompt(trace.prompt) + gemma_model_turn_end(legacy_response(trace))
    return {
        "id": str(trace.id),
        "prompts": text,
        "final_answer": trace.final_answer,
        "metadata": {**metadata(trace), "format": "tunix_sft"},
    }
