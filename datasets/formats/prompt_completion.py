"""``prompt_completion``: Gemma turns split so the trainer computes the loss on the completion only."""

from __future__ import annotations

from typing import Any

from datasets.formats.base import ExportOptions, ExportTrace, clean, metadata, reasoning_completion


def render(trace: ExportTrace, options: ExportOptions) -> dict[str, Any]:
    system = clean(options.system_prompt) + "\n\n" if options.system_prompt else ""
    return {
        "id": str(trace.id),
        "prompt": "<start_of_turn>user\n" + system + clean(trace.prompt) + "<end_of_turn>\n<start_of_turn>model\n",
        "completion": reasoning_completion(trace) + "<end_of_turn>",
        "metadata": {**metadata(trace), "format": "prompt_completion"},
    }
