"""Generator and UNGAR shapes."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from traces.generators import available_generators


class GeneratorSerializer(serializers.Serializer[Any]):
    name = serializers.CharField()
    description = serializers.CharField()
    options = serializers.JSONField()


def generator_levels() -> list[str]:
    """Every level of every built-in generator; each generator accepts its own (see GET /api/generators)."""
    return sorted({level for g in available_generators() for level in g.options.get("levels", {})})


class GenerateInputSerializer(serializers.Serializer[Any]):
    count = serializers.IntegerField(min_value=1, max_value=10_000, default=10)
    seed = serializers.IntegerField(min_value=0, max_value=2**63 - 1, default=0)
    level = serializers.ChoiceField(
        choices=generator_levels(),
        required=False,
        allow_null=True,
        default=None,
        help_text="A level of this generator (its `options.levels`); null for its default level.",
    )
    persist = serializers.BooleanField(default=True)
    unique = serializers.BooleanField(default=True, help_text="Never emit the same content twice in one call.")


class GenerateOutputSerializer(serializers.Serializer[Any]):
    trace_ids = serializers.ListField(child=serializers.UUIDField())
    preview = serializers.ListField(child=serializers.JSONField())


class UngarStatusSerializer(serializers.Serializer[Any]):
    available = serializers.BooleanField()
    version = serializers.CharField(allow_null=True)


class UngarGenerateInputSerializer(serializers.Serializer[Any]):
    count = serializers.IntegerField(min_value=1, max_value=100, default=10)
    seed = serializers.IntegerField(min_value=0, max_value=2**63 - 1, default=0)
    persist = serializers.BooleanField(default=True)
