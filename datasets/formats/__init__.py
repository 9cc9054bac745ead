"""The registry of export formats: each is a pure function of (trace, options) -> JSON object.

Adding a format is one module here and one entry in ``FORMATS``; the API's ``format``
choice, the OpenAPI schema, the command and the admin read this registry.
"""

from __future__ import annotations

from typing import Any

from datasets.formats import chat, prompt_completion, trace, training_example, tunix_sft
from datasets.formats.base import ExportFormat, ExportOptions, ExportTrace
from tunix_rt.errors import InvalidInput
from tunix_rt.jsontext import dumps

__all__ = ["DEFAULT_FORMAT", "FORMATS", "ExportFormat", "ExportOptions", "format_names", "get_format", "render_line"]

FORMATS: dict[str, ExportFormat] = {
    f.name: f
    for f in (
        ExportFormat("trace", trace.render, "The stored trace: prompt, step contents, answer, metadata."),
        ExportFormat("tunix_sft", tunix_sft.render, "One Gemma chat-template string (legacy Tunix SFT scripts)."),
        ExportFormat("training_example", training_example.render, "Prompt/response pairs with a derived uuid5 id."),
        ExportFormat(
            "prompt_completion",
            prompt_completion.render,
            "Gemma prompt and completion kept apart for completion-only loss.",
            option_names=("system_prompt",),
        ),
        ExportFormat("chat", chat.render, "system/user/assistant messages.", option_names=("system_prompt",)),
    )
}
DEFAULT_FORMAT = "trace"


def format_names() -> list[str]:
    return list(FORMATS)


def get_format(name: str) -> ExportFormat:
    """The format called ``name``; an unknown name is ``InvalidInput`` that lists the valid ones."""
    try:
        return FORMATS[name]
    except KeyError:
        valid = ", ".join(FORMATS)
        raise InvalidInput(f"Unknown export format {name!r}; choose one of: {valid}.", field="format") from None


def render_line(fmt: ExportFormat, trace_obj: ExportTrace, options: ExportOptions) -> str:
    """One JSONL line: keys in the format's order, ``ensure_ascii=False``, ``", "``/``": "`` separators, newline;
    a record of any stored depth encodes."""
    record: dict[str, Any] = fmt.render(trace_obj, options)
    return dumps(record, ensure_ascii=False, separators=(", ", ": ")) + "\n"
