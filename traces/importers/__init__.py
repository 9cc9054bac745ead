"""The registry of import formats for ``import_traces``: each numbers a file's records and parses one.

Adding a format is one module here and one entry in ``IMPORT_FORMATS``.
"""

from __future__ import annotations

from traces.importers import chat, jsonl, parquet
from traces.importers.base import ImportFileError, ImportFormat, Parsed, text_lines

__all__ = ["IMPORT_FORMATS", "ImportFileError", "ImportFormat", "Parsed", "get_import_format", "import_format_names"]

IMPORT_FORMATS: dict[str, ImportFormat] = {
    f.name: f
    for f in (
        ImportFormat(
            "jsonl", "line", text_lines, jsonl.parse_line, "tunix-rt trace bodies or a trace export, one per line."
        ),
        ImportFormat("chat", "line", text_lines, chat.parse_line, "OpenAI/TRL conversations, one per line."),
        ImportFormat("parquet", "row", parquet.rows, parquet.parse_row, "A trace (or chat) export as Parquet."),
    )
}


def import_format_names() -> list[str]:
    return list(IMPORT_FORMATS)


def get_import_format(name: str) -> ImportFormat:
    return IMPORT_FORMATS[name]
