"""Serializer fields whose OpenAPI schema states what they accept."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from tunix_rt.validation import json_value_is_clean, json_value_problems


@extend_schema_field({"type": "object", "additionalProperties": {}})
class JSONObjectField(serializers.JSONField):
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
    """Refuses what the database cannot store anywhere in ``value``: NUL characters (PostgreSQL's jsonb
    cannot hold them), lone surrogates, numbers that are not finite or leave signed 64 bits.

    The API's parser refuses them already; files read by management commands come through here.
    """
    if json_value_is_clean(value):
        return
    for where, problem in json_value_problems(value, path):
        raise serializers.ValidationError(f"{where} {problem}.")
