"""Serializer fields whose OpenAPI schema states what they accept."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from tunix_rt.validation import depth_message, json_value_is_clean, json_value_problems, too_deep_path


class BoundedJSONField(serializers.JSONField):
    """Any JSON value nested ``JSON_MAX_DEPTH`` levels at most, checked before DRF's own encoding
    recurses into it, so a value from a file or a command is a field error, never a RecursionError."""

    def to_internal_value(self, data: Any) -> Any:
        deep = too_deep_path(data, self.field_name or "value")
        if deep is not None:
            raise serializers.ValidationError(depth_message(deep))
        return super().to_internal_value(data)


@extend_schema_field({"type": "object", "additionalProperties": {}})
class JSONObjectField(BoundedJSONField):
    """A JSON object (or null when ``allow_null``); any other JSON value is a field error."""

    default_error_messages = {"not_an_object": "Must be a JSON object."}

    def to_internal_value(self, data: Any) -> Any:
        value = super().to_internal_value(data)
        if not isinstance(value, dict):
            self.fail("not_an_object")
        return value


class StrictCharField(serializers.CharField):
    """A CharField that refuses numbers and booleans instead of turning them into text."""

    default_error_messages = {"invalid": "Not a valid string."}

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("trim_whitespace", False)
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("invalid")
        return str(super().to_internal_value(data))


class StrictIntegerField(serializers.IntegerField):
    def to_internal_value(self, data: Any) -> int:
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("invalid")
        return int(super().to_internal_value(data))


def check_json_text(value: Any, path: str) -> None:
    """Refuses what the database cannot store anywhere in ``value``: nesting deeper than
    ``JSON_MAX_DEPTH`` levels, NUL characters (PostgreSQL's jsonb cannot hold them), lone surrogates,
    numbers that are not finite or leave signed 64 bits.

    The API's parser refuses them already; files read by management commands come through here.
    """
    deep = too_deep_path(value, path)
    if deep is not None:
        raise serializers.ValidationError(depth_message(deep))
    if json_value_is_clean(value):
        return
    for where, problem in json_value_problems(value, path):
        raise serializers.ValidationError(f"{where} {problem}.")
