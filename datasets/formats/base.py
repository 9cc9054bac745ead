"""Shared pieces of the export formats: options, text helpers and canonical metadata."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

# Re-exported for the formats: one definition of the trained completion, in ``traces``.
from traces.verifiers.completion import CONTROL_TOKENS as CONTROL_TOKENS
from traces.verifiers.completion import clean as clean
from traces.verifiers.completion import reasoning_completion as reasoning_completion
from tunix_rt.jsontext import dumps


class ExportTrace(Protocol):
    """The trace fields a format may read; a ``traces.models.Trace`` satisfies it."""

    id: Any
    created_at: dt.datetime
    trace_version: str
    prompt: str
    final_answer: str
    steps: Any
    meta: Any


@dataclass(frozen=True)
class ExportOptions:
    """Options a caller may pass; each format declares which ones it reads."""

    system_prompt: str = ""


Render = Callable[[ExportTrace, ExportOptions], dict[str, Any]]


@dataclass(frozen=True)
class ExportFormat:
    name: str
    render: Render
    description: str
    option_names: tuple[str, ...] = ()

    def effective_options(self, options: ExportOptions) -> dict[str, Any]:
        """Only the options this format reads and that differ from their defaults, so equal output shares one key."""
        defaults = ExportOptions()
        return {
            name: getattr(options, name)
            for name in self.option_names
            if getattr(options, name) != getattr(defaults, name)
        }


def canonical(value: Any) -> Any:
    """JSON objects with sorted keys at every depth: PostgreSQL's jsonb does not keep key order, SQLite does.

    Any stored depth is handled: a value too deep for recursion is rebuilt with an explicit stack.
    """
    try:
        return _canonical(value)
    except RecursionError:
        return _canonical_iteratively(value)


def _canonical(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _canonical(value[key]) for key in sorted(value)}
    if isinstance(value, list):
        return [_canonical(item) for item in value]
    return value


def _canonical_iteratively(value: Any) -> Any:
    root: list[Any] = [None]
    work: list[tuple[Any, Any, Any]] = [(value, root, 0)]
    while work:
        source, parent, slot = work.pop()
        if isinstance(source, dict):
            copy: Any = dict.fromkeys(sorted(source))
            work.extend((source[key], copy, key) for key in copy)
        elif isinstance(source, list):
            copy = [None] * len(source)
            work.extend((item, copy, index) for index, item in enumerate(source))
        else:
            copy = source
        parent[slot] = copy
    return root[0]


def iso_utc(value: dt.datetime) -> str:
    """ISO 8601 in UTC with a ``Z`` suffix, as the REST API writes times."""
    return value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


def meta_text(meta: Any) -> str | None:
    """``meta`` as canonical JSON text (sorted keys, no spaces, UTF-8), or None when it is null.

    Text keeps every value exactly (``{}``, ``[]``, nested nulls, ``1e+20``) and gives readers that
    infer one type per column (pyarrow, pandas, Hugging Face ``datasets``) a string column.
    """
    return None if meta is None else dumps(meta, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def step_info(trace: ExportTrace) -> list[dict[str, Any]]:
    """Each step's index, type and content length in characters: what rebuilds the steps from a text."""
    return [{"i": step["i"], "type": step["type"], "chars": len(step["content"])} for step in trace.steps]


def metadata(trace: ExportTrace) -> dict[str, Any]:
    """The fixed keys every format's ``metadata`` holds, each of one type whatever the trace holds."""
    return {
        "created_at": iso_utc(trace.created_at),
        "trace_version": trace.trace_version,
        "steps": step_info(trace),
        "meta": meta_text(trace.meta),
    }


def step_contents(trace: ExportTrace) -> list[str]:
    return [str(step["content"]) for step in trace.steps]


def legacy_response(trace: ExportTrace) -> str:
    """``Reasoning:`` with one numbered line per step, then ``Answer: ...`` (the legacy formats)."""
    lines = "".join(f"{n}. {content}\n" for n, content in enumerate(step_contents(trace), start=1))
    return "Reasoning:\n" + lines + "Answer: " + trace.final_answer
