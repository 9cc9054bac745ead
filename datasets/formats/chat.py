"""``chat``: role/content messages, the conversational shape of TRL and OpenAI-style fine-tuning.

``metadata.steps`` keeps what a conversation cannot hold, each step's index, type and length, so that
``import_traces --format chat`` cuts the reasoning into exactly the same steps (and content hash).
"""

from __future__ import annotations

from typing import Any

from datasets.formats.base import ExportOptions, ExportTrace, clean, metadata, reasoning_completion


def render(trace: ExportTrace, options: ExportOptions) -> dict[str, Any]:
    messages: list[dict[str, str]] = []
    if options.system_prompt:
        messages.append({"role": "system", "content": clean(options.system_prompt)})
    messages.append({"role": "user", "content": clean(trace.prompt)})
    messages.append({"role": "assistant", "content": reasoning_completion(trace)})
    return {
        "id": str(trace.id),
        "messages": messages,
        "metadata": {**metadata(trace), "format": "chat"},
    }
