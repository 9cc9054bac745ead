"""What tunix-rt's own exports carry besides the text: ``metadata``, read back exactly.

An export's ``metadata`` has fixed keys (``created_at``, ``trace_version``, ``steps``, ``meta``,
``format``, ``source_trace_id``); ``meta`` is the trace's ``meta`` as JSON text (or null), and
``steps`` gives each step's index, type and length. Files exported before that layout spread
``meta``'s keys into ``metadata``: they are still read, with what that layout lost (``{}`` reads as
null, a ``meta`` key named like an export key is gone, Parquet's null values are dropped).
Nothing is guessed where the file says otherwise: a value the file holds in the wrong shape is an
error, never replaced by a default.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from traces.importers.base import Parsed, validate_payload
from tunix_rt.validation import load_json

DEFAULT_TRACE_VERSION = "1.0"
DEFAULT_STEP_TYPE = "reasoning"
LAYOUT_KEYS = frozenset({"created_at", "trace_version", "format", "source_trace_id", "steps", "meta"})
SPREAD_EXPORT_KEYS = ("created_at", "trace_version", "format", "steps", "source_trace_id")


@dataclass(frozen=True)
class Exported:
    """What ``metadata`` says about the trace: ``trace_version`` and ``steps`` are None when it does not say.

    ``exact`` is true for the fixed layout, whose ``meta`` is the trace's own, key for key.
    """

    trace_version: str | None
    meta: dict[str, Any] | None
    steps: list[dict[str, Any]] | None
    exact: bool


NOTHING = Exported(trace_version=None, meta=None, steps=None, exact=False)


def is_fixed_layout(metadata: dict[str, Any]) -> bool:
    """Whether ``metadata`` has the fixed layout: ``meta`` as text (or null) beside export keys only."""
    return (
        "meta" in metadata
        and (metadata["meta"] is None or isinstance(metadata["meta"], str))
        and (set(metadata) <= LAYOUT_KEYS)
    )


def _is_step_info(value: Any) -> bool:
    return (
        isinstance(value, list)
        and bool(value)
        and all(
            isinstance(s, dict)
            and isinstance(s.get("i"), int)
            and not isinstance(s.get("i"), bool)
            and isinstance(s.get("type"), str)
            for s in value
        )
    )


def _meta_from_text(text: str | None) -> tuple[dict[str, Any] | None, str | None]:
    if text is None:
        return None, None
    try:
        meta, problems = load_json(text)
    except ValueError:
        return None, "metadata.meta: expected the JSON text of an object, or null"
    if not isinstance(meta, dict):
        return None, "metadata.meta: expected the JSON text of an object, or null"
    if problems:
        return None, "; ".join(f"meta.{message}" for messages in problems.values() for message in messages)
    return meta, None


def read_metadata(metadata: Any, *, drop_nulls: bool = False) -> tuple[Exported | None, str | None]:
    """``metadata`` of an export line or row as ``Exported``, or why it cannot be read.

    ``drop_nulls`` is for a Parquet file of the spread layout, whose struct gives every row every key.
    """
    if metadata is None:
        return NOTHING, None
    if not isinstance(metadata, dict):
        return None, "metadata: expected an object"
    version = metadata.get("trace_version")
    if version is not None and not isinstance(version, str):
        return None, "metadata.trace_version: expected a string"
    steps = metadata.get("steps")
    if is_fixed_layout(metadata):
        meta, error = _meta_from_text(metadata["meta"])
        if error is not None:
            return None, error
        if steps is not None and not _is_step_info(steps):
            return None, 'metadata.steps: expected a list of {"i": integer, "type": string, "chars": integer}'
        return Exported(trace_version=version, meta=meta, steps=steps, exact=True), None
    spread = {key: value for key, value in metadata.items() if key not in SPREAD_EXPORT_KEYS}
    if drop_nulls:
        spread = {key: value for key, value in spread.items() if value is not None}
    return Exported(
        trace_version=version, meta=spread or None, steps=steps if _is_step_info(steps) else None, exact=False
    ), None


def steps_from_contents(
    contents: list[str], info: list[dict[str, Any]] | None
) -> tuple[list[dict[str, Any]] | None, str | None]:
    """Steps of ``contents`` with the indices and types ``info`` gives; without ``info``, 0.. and the default type.

    ``info`` that describes other steps (another count, or ``chars`` that differ) is an error.
    """
    if info is None:
        return [{"i": n, "type": DEFAULT_STEP_TYPE, "content": c} for n, c in enumerate(contents)], None
    if len(info) != len(contents):
        return None, f"metadata.steps describes {len(info)} step(s) but the record holds {len(contents)}"
    for n, (step, content) in enumerate(zip(info, contents, strict=True)):
        chars = step.get("chars")
        if chars is not None and chars != len(content):
            return None, f"metadata.steps[{n}].chars is {chars} but the step holds {len(content)} character(s)"
    return [{"i": s["i"], "type": s["type"], "content": c} for s, c in zip(info, contents, strict=True)], None


def trace_version_of(exported: Exported) -> str:
    """The export's own ``trace_version``; only a file that has none gets ``DEFAULT_TRACE_VERSION``."""
    return exported.trace_version if exported.trace_version is not None else DEFAULT_TRACE_VERSION


def parse_trace_record(record: dict[str, Any], *, drop_nulls: bool = False) -> Parsed:
    """A ``trace`` export record (``prompts``, ``trace_steps``, ``final_answer``, ``metadata``) as a payload."""
    exported, error = read_metadata(record.get("metadata"), drop_nulls=drop_nulls)
    if exported is None:
        return None, error
    contents = record.get("trace_steps")
    if not isinstance(contents, list) or not all(isinstance(c, str) for c in contents):
        return None, "trace_steps: expected a list of strings"
    steps, error = steps_from_contents(contents, exported.steps)
    if steps is None:
        return None, error
    return validate_payload(
        {
            "trace_version": trace_version_of(exported),
            "prompt": record.get("prompts"),
            "final_answer": record.get("final_answer"),
            "steps": steps,
            "meta": exported.meta,
        }
    )


def is_trace_record(data: Any) -> bool:
    """Whether ``data`` is a ``trace`` export record rather than a ``POST /api/traces`` body."""
    return isinstance(data, dict) and "trace_steps" in data and "prompts" in data and "steps" not in data
