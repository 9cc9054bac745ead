"""Input and output shapes of ``/api/preferences``."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from traces.preferences import REASON_MAX
from tunix_rt.pagination import PaginationSerializer


class PreferenceInputSerializer(serializers.Serializer[Any]):
    chosen = serializers.UUIDField(help_text="The better trace.")
    rejected = serializers.UUIDField(help_text="The worse trace; it must answer the same prompt.")
    reason = serializers.CharField(
        required=False, allow_blank=True, default="", max_length=REASON_MAX, trim_whitespace=False,
        help_text="Why the chosen trace is better.",
    )  # fmt: skip


class PreferenceSerializer(serializers.Serializer[Any]):
    id = serializers.UUIDField()
    created_at = serializers.DateTimeField()
    prompt = serializers.CharField()
    chosen = serializers.UUIDField(source="chosen_id")
    rejected = serializers.UUIDField(source="rejected_id")
    reason = serializers.CharField()
    created_by = serializers.CharField(source="created_by.username", allow_null=True, default=None)


class PreferenceListOutputSerializer(serializers.Serializer[Any]):
    data = PreferenceSerializer(many=True)  # type: ignore[assignment]
    pagination = PaginationSerializer()
