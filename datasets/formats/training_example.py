"""``training_example``: prompt/response pairs whose id is derived from the trace id, never random."""

from __future__ import annotations

import uuid
from typing import Any

from datasets.formats.base import ExportOptions, ExportTrace, legacy_response, metadata

NAMESPACE = uuid.UUID("6f1c1f5e-8a3b-5d0e-9c4a-2b7d3e1f0a91")
PROMPT_SUFFIX = "\n\nPlease show your reasoning steps."


def example_id(trace_id: Any) -> uuid.UUID:
    """``uuid5(NAMESPACE, str(trace_id))``: the same trace always gives the same example id."""
    return uuid.uuid5(NAMESPACE, str(trace_id))


def render(trace: ExportTrace, options: ExportOptions) -> dict[str, Any]:
    return {
        "id": str(example_id(trace.id)),
        "prompt": trace.prompt + PROMPT_SUFFIX,
        "response": legacy_response(trace),
        "metadata": {"source_trace_id": str(trace.id), **metadata(trace)},
    }
