"""What every import format shares: validation exactly as the API's, and errors about the whole file."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from traces.serializers import TraceInputSerializer
from traces.types import TracePayload

Parsed = tuple[TracePayload | None, str | None]


class ImportFileError(Exception):
    """The file as a whole cannot be read in this format (not UTF-8, not Parquet, missing columns)."""


@dataclass(frozen=True)
class ImportFormat:
    """``records`` numbers the file's records (lines or rows) from 1; ``parse`` turns one into a payload or an error."""

    name: str
    unit: str
    records: Callable[[Path], Iterator[tuple[int, Any]]]
    parse: Callable[[Any], Parsed]
    description: str


def flatten_errors(errors: Any, prefix: str = "") -> list[str]:
    """DRF's nested error structure as ``field.sub[index]: message`` lines."""
    if isinstance(errors, dict):
        out: list[str] = []
        for key, value in errors.items():
            name = key if key != "non_field_errors" else ""
            out += flatten_errors(value, f"{prefix}.{name}".strip(".") if name else prefix)
        return out
    if isinstance(errors, list):
        if all(isinstance(e, str) for e in errors):
            return [f"{prefix}: {e}" if prefix else str(e) for e in errors]
        out = []
        for index, value in enumerate(errors):
            if value:
                out += flatten_errors(value, f"{prefix}[{index}]")
        return out
    return [f"{prefix}: {errors}" if prefix else str(errors)]


def validate_payload(data: Any) -> Parsed:
    """A trace body checked exactly as ``POST /api/traces`` checks it."""
    if not isinstance(data, dict):
        return None, "expected a JSON object"
    serializer = TraceInputSerializer(data=data)
    if not serializer.is_valid():
        return None, "; ".join(flatten_errors(serializer.errors))
    return serializer.validated_data, None


def text_lines(path: Path) -> Iterator[tuple[int, str]]:
    """The non-blank lines of a UTF-8 text file, numbered from 1."""
    try:
        with path.open(encoding="utf-8") as stream:
            for number, line in enumerate(stream, start=1):
                if line.strip():
                    yield number, line
    except UnicodeDecodeError as exc:
        raise ImportFileError(f"The file is not UTF-8 text: {exc}") from None
