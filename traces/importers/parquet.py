"""``parquet``: the columns ``export_dataset … --output x.parquet`` writes for ``trace`` (or ``chat``).

``trace`` rows hold ``prompts``, ``trace_steps`` (step contents), ``final_answer`` and
``metadata``; a step's type is not in that format, so imported steps get the default type
unless ``metadata.steps`` names them. Null metadata values are dropped: a Parquet struct
cannot tell a missing key from a null one.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from traces.importers.base import ImportFileError, Parsed, validate_payload
from traces.importers.chat import from_metadata, parse_conversation, step_list

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


def _metadata(value: Any) -> dict[str, Any] | None:
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return None
    if not isinstance(value, dict):
        return None
    return {key: item for key, item in value.items() if item is not None}


def parse_row(row: dict[str, Any]) -> Parsed:
    metadata = _metadata(row.get("metadata"))
    if row.get("metadata") is not None and metadata is None:
        return None, "metadata: expected a struct or a JSON object"
    if "messages" in row:
        return parse_conversation({"messages": row["messages"], "metadata": metadata})
    contents = row.get("trace_steps")
    if not isinstance(contents, list) or not all(isinstance(c, str) for c in contents):
        return None, "trace_steps: expected a list of strings"
    version, meta, info = from_metadata(metadata or {})
    return validate_payload(
        {
            "trace_version": version,
            "prompt": row.get("prompts"),
            "final_answer": row.get("final_answer"),
            "steps": step_list(contents, info),
            "meta": meta or None,
        }
    )
