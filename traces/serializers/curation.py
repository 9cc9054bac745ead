"""Bulk curation, duplicate groups and near-duplicate search shapes."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from traces.models import TraceStatus
from traces.scoring import criteria_names
from traces.serializers.traces import check_tags
from tunix_rt.fields import StrictCharField
from tunix_rt.pagination import PaginationSerializer
from tunix_rt.query import QuerySerializer

BULK_IDS_MAX = 10_000


class TraceBulkInputSerializer(serializers.Serializer[Any]):
    filters = serializers.DictField(
        required=False, help_text="The list endpoint's filters (`source`, `status`, `tag`, `q`, `meta__<key>`, ...)."
    )
    ids = serializers.ListField(child=serializers.UUIDField(), required=False, max_length=BULK_IDS_MAX)
    status = serializers.ChoiceField(choices=TraceStatus.choices, required=False)
    add_tags = serializers.ListField(child=StrictCharField(min_length=1, max_length=64), required=False, max_length=100)
    remove_tags = serializers.ListField(
        child=StrictCharField(min_length=1, max_length=64), required=False, max_length=100
    )
    score = serializers.ChoiceField(choices=criteria_names(), required=False, help_text="Criteria to score with.")

    def validate_add_tags(self, tags: list[str]) -> list[str]:
        return check_tags(tags)

    def validate_remove_tags(self, tags: list[str]) -> list[str]:
        return check_tags(tags)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if "filters" not in attrs and "ids" not in attrs:
            raise serializers.ValidationError("Give filters and/or ids; filters {} selects every trace.")
        if not any(attrs.get(k) for k in ("status", "add_tags", "remove_tags", "score")):
            raise serializers.ValidationError("Give at least one operation: status, add_tags, remove_tags or score.")
        return attrs


class TraceBulkOutputSerializer(serializers.Serializer[Any]):
    matched = serializers.IntegerField()
    changed = serializers.IntegerField(help_text="Traces whose status or tags changed.")
    scored = serializers.IntegerField()
    skipped = serializers.IntegerField(help_text="Traces the criteria could not verify.")


class DuplicateGroupSerializer(serializers.Serializer[Any]):
    content_hash = serializers.CharField()
    count = serializers.IntegerField()
    trace_ids = serializers.ListField(child=serializers.UUIDField(), help_text="Oldest first, at most 1,000.")


class DuplicateListOutputSerializer(serializers.Serializer[Any]):
    data = DuplicateGroupSerializer(many=True)  # type: ignore[assignment]
    pagination = PaginationSerializer()


class SimilarQuerySerializer(QuerySerializer):
    threshold = serializers.FloatField(min_value=0.0, max_value=1.0, default=0.8)
    limit = serializers.IntegerField(min_value=1, max_value=100, default=20)


class SimilarTraceSerializer(serializers.Serializer[Any]):
    id = serializers.UUIDField()
    similarity = serializers.FloatField()


class SimilarOutputSerializer(serializers.Serializer[Any]):
    data = SimilarTraceSerializer(many=True)  # type: ignore[assignment]
