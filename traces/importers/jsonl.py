"""``jsonl``: tunix-rt's own trace bodies, one per line, as ``POST /api/traces`` takes them."""

from __future__ import annotations

import json

from traces.importers.base import Parsed, validate_payload
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
    return validate_payload(data)
