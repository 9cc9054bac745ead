"""A fast path through ``TraceInputSerializer`` for input that is plainly valid.

DRF validates a batch of 1,000 traces through some 20,000 field objects. Most input is
valid, so the fast path checks the same rules with plain Python, reading every limit from
the serializer's own fields (the serializer stays the schema), and returns exactly what
DRF would. At the first doubt it answers ``None`` and DRF runs as before, so every error
keeps DRF's shape and wording: the fast path may only ever say "valid".
"""

from __future__ import annotations

from functools import cache
from typing import Any

from rest_framework import serializers


def _text_limits(field: Any) -> tuple[int, int]:
    """(min, max) length of a non-blank strict text field."""
    if field.allow_blank or field.trim_whitespace or field.allow_null:
        raise TypeError(f"The fast path does not know {field.field_name!r} as declared; extend it first.")
    return max(field.min_length or 1, 1), field.max_length


@cache
def _plan(serializer_class: type[serializers.Serializer[Any]]) -> dict[str, Any]:
    fields: Any = serializer_class().fields
    steps = fields["steps"]
    step_fields: Any = steps.child.fields
    step_index = step_fields["i"]
    if step_index.max_value is not None or fields["meta"].required:
        raise TypeError("The fast path does not know TraceInputSerializer as declared; extend it first.")
    return {
        "text": {name: _text_limits(fields[name]) for name in ("trace_version", "prompt", "final_answer")},
        "steps": (steps.min_length or 1, steps.max_length),
        "step_text": {name: _text_limits(step_fields[name]) for name in ("type", "content")},
        "step_index_min": step_index.min_value,
    }


def _clean_text(value: Any, low: int, high: int) -> bool:
    """What StrictCharField accepts: a str within the length bounds, no NUL, no lone surrogate."""
    if type(value) is not str or not low <= len(value) <= high or "\x00" in value:
        return False
    if value.isascii():
        return True
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def fast_applies(serializer: serializers.Serializer[Any]) -> bool:
    """Whether DRF would run nothing beyond the fields for this serializer: no validators and no
    ``validate`` of its own, so ``trace_fast``'s answer is the whole of ``run_validation``'s."""
    return type(serializer).validate is serializers.Serializer.validate and not serializer.validators


def trace_fast(serializer: serializers.Serializer[Any], data: Any) -> dict[str, Any] | None:
    """``serializer.to_internal_value(data)`` for plainly valid ``data``; ``None`` when DRF must decide."""
    if type(data) is not dict:
        return None
    plan = _plan(type(serializer))
    out: dict[str, Any] = {}
    for name, (low, high) in plan["text"].items():
        value = data.get(name)
        if not _clean_text(value, low, high):
            return None
        out[name] = value
    steps = data.get("steps")
    low, high = plan["steps"]
    if type(steps) is not list or not low <= len(steps) <= high:
        return None
    clean_steps = []
    (type_low, type_high), (content_low, content_high) = plan["step_text"]["type"], plan["step_text"]["content"]
    index_min = plan["step_index_min"]
    for step in steps:
        if type(step) is not dict:
            return None
        index, kind, content = step.get("i"), step.get("type"), step.get("content")
        if type(index) is not int or index < index_min or index.bit_length() > 63:
            return None
        if not (_clean_text(kind, type_low, type_high) and _clean_text(content, content_low, content_high)):
            return None
        clean_steps.append({"i": index, "type": kind, "content": content})
    meta = data.get("meta")
    if meta is not None and type(meta) is not dict:
        return None
    try:
        out["steps"] = serializer.validate_steps(clean_steps)  # type: ignore[attr-defined]
        out["meta"] = serializer.validate_meta(meta)  # type: ignore[attr-defined]
    except serializers.ValidationError:
        return None
    return out
