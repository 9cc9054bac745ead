"""``prompt_completion``: Gemma turns split so the trainer computes the loss on the completion only."""

from __future__ import annotations

from typing import Any

from datasets.formats.base import ExportOptions, ExportTrace, clean, metadata, reasoning_completion
from traces.gemma import gemma_model_turn_end, gemma_prompt


def render(trace: ExportTrace, options: ExportOptions) -> dict[str, Any]:
    system = clean(options.system_prompt) + "\n\n" if options.system_prompt else ""
    return {
        "id": str(trace.id),
        "prompt": gemma_prompt(system + clean(trace.prompt)),
        "completion": gemma_model_turn_end(reasoning_completion(trace)),
        "metadata": {**metadata(trace), "format": "prompt_completion"},
    }
