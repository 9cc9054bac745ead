"""``jsonl``: tunix-rt's own trace bodies, one per line, as ``POST /api/traces`` takes them, or the lines
of a ``trace`` export (``prompts``, ``trace_steps``, ``final_answer``, ``metadata``)."""

from __future__ import annotations

import json

from traces.importers.base import Parsed, validate_payload
from traces.importers.exported import is_trace_record, parse_trace_record
from tunix_rt.validation import JSON_MAX_DEPTH


def load_json(text: str) -> tuple[object, str | None]:
    """The parsed line, or why it is not JSON; a document too deep for the parser is an error, not a crash."""
    try:
        return json.loads(text), None
    except json.JSONDecodeError as exc:
        return None, f"invalid JSON ({exc.msg} at column {exc.colno})"
    except RecursionError:
        return None, f"nests deeper than {JSON_MAX_DEPTH} levels of objects and arrays"
    except ValueError as exc:
        return None, f"invalid JSON ({exc.__class__.__name__})"


def parse_line(text: str) -> Parsed:
    data, error = load_json(text)
    if error is not None:
        return None, error
    if is_trace_record(data):
        return parse_trace_record(data)  # type: ignore[arg-type]
    return validate_payload(data)
