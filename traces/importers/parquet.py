"""``parquet``: the columns ``export_dataset … --output x.parquet`` writes for ``trace`` (or ``chat``).

``trace`` rows hold ``prompts``, ``trace_steps`` (step contents), ``final_answer`` and
``metadata``, read as ``traces.importers.exported`` says (``metadata.steps`` gives each step's
index and type; ``metadata.meta`` the exact ``meta``). In files of the older spread layout, null
metadata values are dropped: a Parquet struct cannot tell a missing key from a null one.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from traces.importers.base import ImportFileError, Parsed
from traces.importers.chat import parse_conversation
from traces.importers.exported import is_fixed_layout, parse_trace_record

TRACE_COLUMNS = ("prompts", "trace_steps", "final_answer")
BATCH_ROWS = 500


def _columns(names: list[str]) -> list[str]:
    if all(name in names for name in TRACE_COLUMNS):
        return [*TRACE_COLUMNS, *(["metadata"] if "metadata" in names else [])]
    if "messages" in names:
        return ["messages", *(["metadata"] if "metadata" in names else [])]
    raise ImportFileError(
        "Expected the columns of a trace export (prompts, trace_steps, final_answer, metadata) or of a chat "
        f"export (messages, metadata); found: {', '.join(names) or 'none'}."
    )


def rows(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """The file's rows as dicts, numbered from 1, read one batch at a time."""
    try:
        file = pq.ParquetFile(path)
        columns = _columns(list(file.schema_arrow.names))
        number = 0
        for batch in file.iter_batches(batch_size=BATCH_ROWS, columns=columns):
            for row in batch.to_pylist():
                number += 1
                yield number, row
    except (pa.ArrowException, OSError) as exc:
        raise ImportFileError(f"Not a readable Parquet file: {exc}") from None


def _metadata(value: Any) -> tuple[Any, str | None]:
    """The row's metadata as a dict (a struct, or JSON text from a file whose metadata could not be typed)."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except (ValueError, RecursionError):
            return None, "metadata: expected a struct or a JSON object"
    if value is not None and not isinstance(value, dict):
        return None, "metadata: expected a struct or a JSON object"
    return value, None


def parse_row(row: dict[str, Any]) -> Parsed:
    metadata, error = _metadata(row.get("metadata"))
    if error is not None:
        return None, error
    if "messages" in row:
        if isinstance(metadata, dict) and not is_fixed_layout(metadata):
            metadata = {key: value for key, value in metadata.items() if value is not None}
        return parse_conversation({"messages": row["messages"], "metadata": metadata})
    return parse_trace_record({**row, "metadata": metadata}, drop_nulls=True)
