"""Input and output shapes of the dataset API; validation of types and sizes only."""

from __future__ import annotations

import uuid
from typing import Any

from django.core.validators import RegexValidator
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from datasets.formats import DEFAULT_FORMAT, format_names
from datasets.grouping import grouping_names
from datasets.models import SelectionStrategy
from traces.models import TraceStatus
from tunix_rt.fields import BoundedJSONField, JSONObjectField, StrictCharField, StrictIntegerField, check_json_text
from tunix_rt.pagination import PaginationSerializer
from tunix_rt.query import QuerySerializer

SEED_MIN, SEED_MAX = -(2**63), 2**63 - 1
NAME_CHARACTERS = RegexValidator(r"^[A-Za-z0-9._-]+$", "Use the characters A-Z a-z 0-9 . _ - only.")


class DatasetBuildInputSerializer(serializers.Serializer[Any]):
    """The build request; ``validated_data`` holds exactly the keyword arguments of ``dataset_build``."""

    dataset_name = StrictCharField(source="name", min_length=1, max_length=128, validators=[NAME_CHARACTERS])
    dataset_version = StrictCharField(source="version", min_length=1, max_length=64, validators=[NAME_CHARACTERS])
    filters = JSONObjectField(
        required=False, allow_null=True, default=dict, help_text="meta key -> JSON value; all must match."
    )
    limit = StrictIntegerField(
        required=False, min_value=1, max_value=10_000, help_text="Default 100, or the number of trace_ids."
    )
    selection_strategy = serializers.ChoiceField(
        source="strategy", choices=SelectionStrategy.choices, default=SelectionStrategy.LATEST
    )
    seed = StrictIntegerField(required=False, allow_null=True, default=None, min_value=SEED_MIN, max_value=SEED_MAX)
    session_id = StrictCharField(required=False, allow_null=True, default=None, max_length=255)
    parent_dataset_id = StrictCharField(
        source="parent_dataset_key",
        required=False,
        allow_null=True,
        default=None,
        max_length=200,
        help_text="The parent dataset's key.",
    )
    training_run_id = StrictCharField(required=False, allow_null=True, default=None, max_length=255)
    status = serializers.ChoiceField(choices=TraceStatus.choices, required=False, allow_null=True, default=None)
    tags = serializers.ListField(
        child=StrictCharField(min_length=1, max_length=64), required=False, default=list, max_length=20
    )
    trace_ids = serializers.ListField(
        child=serializers.UUIDField(),
        required=False,
        allow_null=True,
        default=None,
        allow_empty=False,
        max_length=10_000,
        help_text="An explicit selection instead of filters.",
    )
    splits = BoundedJSONField(
        required=False,
        allow_null=True,
        default=None,
        help_text='Split name -> fraction, e.g. {"train": 0.8, "test": 0.2}; names [a-z][a-z0-9_]{0,31}, '
        "fractions > 0 summing to 1. Whole groups of traces go to one split.",
    )
    split_group = serializers.ChoiceField(
        choices=grouping_names(),
        required=False,
        allow_null=True,
        default=None,
        help_text="How traces are grouped for splits: prompt (default) or near_duplicate.",
    )

    def validate_splits(self, splits: Any) -> Any:
        if splits is not None and not isinstance(splits, dict | list):
            raise serializers.ValidationError('Must be a JSON object of split name -> fraction, e.g. {"train": 0.8}.')
        if splits is not None:
            check_json_text(splits, "splits")
        return splits

    def validate_filters(self, filters: Any) -> dict[str, Any]:
        if filters is None:
            return {}
        if not isinstance(filters, dict):
            raise serializers.ValidationError("Must be a JSON object of meta key -> value.")
        if len(filters) > 50:
            raise serializers.ValidationError("At most 50 filters.")
        check_json_text(filters, "filters")
        return filters

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs.get("limit") is None:
            ids = attrs.get("trace_ids")
            attrs["limit"] = len(set(ids)) if ids else 100
        return attrs


class DatasetBuildOutputSerializer(serializers.Serializer[Any]):
    dataset_key = serializers.CharField(source="key")
    build_id = serializers.UUIDField()
    trace_count = serializers.IntegerField()
    manifest_path = serializers.CharField()


class DatasetListItemSerializer(serializers.Serializer[Any]):
    dataset_key = serializers.CharField(source="key")
    build_id = serializers.UUIDField()
    dataset_name = serializers.CharField(source="name")
    dataset_version = serializers.CharField(source="version")
    created_at = serializers.DateTimeField()
    selection_strategy = serializers.CharField()
    seed = serializers.IntegerField(allow_null=True)
    trace_count = serializers.IntegerField()
    stats = serializers.JSONField()
    parent_dataset_id = serializers.CharField(source="parent_dataset.key", allow_null=True, default=None)
    created_by = serializers.CharField(source="created_by.username", allow_null=True, default=None)


class DatasetListOutputSerializer(serializers.Serializer[Any]):
    data = DatasetListItemSerializer(many=True)  # type: ignore[assignment]
    pagination = PaginationSerializer()


class DatasetStatsSerializer(serializers.Serializer[Any]):
    trace_count = serializers.IntegerField()
    avg_step_count = serializers.FloatField()
    min_step_count = serializers.IntegerField()
    max_step_count = serializers.IntegerField()
    avg_total_chars = serializers.FloatField()


class DatasetExportRecordSerializer(serializers.Serializer[Any]):
    format = serializers.CharField()
    options = serializers.JSONField()
    split = serializers.CharField(allow_blank=True, help_text='"" for the whole dataset.')
    file_format = serializers.CharField(help_text="jsonl or parquet; line_count counts Parquet rows.")
    sha256 = serializers.CharField()
    line_count = serializers.IntegerField()
    computed_at = serializers.DateTimeField()


class DatasetSplitSerializer(serializers.Serializer[Any]):
    count = serializers.IntegerField()
    group_count = serializers.IntegerField()
    sha256 = serializers.CharField(help_text="SHA-256 of the split's ids in manifest order, one per line.")


class DatasetLeakageSerializer(serializers.Serializer[Any]):
    split_group = serializers.CharField()
    shared_groups = serializers.IntegerField(help_text="Groups found in more than one split.")


@extend_schema_field(OpenApiTypes.DATETIME)
class RecordedDateTimeField(serializers.CharField):
    """A date-time served as the ISO 8601 text a file recorded, so the bytes never change."""


class DatasetManifestSerializer(serializers.Serializer[Any]):
    """The manifest (docs/api.md) as served; ``exports`` (recorded digests) is the one added, growing field."""

    dataset_key = serializers.CharField()
    build_id = serializers.UUIDField()
    dataset_name = serializers.CharField()
    dataset_version = serializers.CharField()
    dataset_schema_version = serializers.CharField()
    created_at = RecordedDateTimeField(help_text="When it was built (ISO 8601, UTC), as the manifest file records it.")
    filters = serializers.JSONField()
    selection_strategy = serializers.CharField()
    seed = serializers.IntegerField(allow_null=True)
    limit = serializers.IntegerField()
    status = serializers.CharField(allow_null=True)
    tags = serializers.ListField(child=serializers.CharField())
    explicit_trace_ids = serializers.BooleanField()
    trace_ids = serializers.ListField(child=serializers.UUIDField())
    trace_count = serializers.IntegerField()
    stats = DatasetStatsSerializer()
    session_id = serializers.CharField(allow_null=True)
    parent_dataset_id = serializers.CharField(allow_null=True)
    created_by = serializers.CharField(allow_null=True, help_text="Username of who built it (null from a command).")
    training_run_id = serializers.CharField(allow_null=True)
    splits = serializers.DictField(
        child=DatasetSplitSerializer(), required=False, help_text="Split name -> summary; only in builds with splits."
    )
    split_fractions = serializers.DictField(
        child=serializers.FloatField(), required=False, help_text="Split name -> the requested fraction."
    )
    leakage = DatasetLeakageSerializer(required=False, help_text="Only in builds with splits.")
    exports = DatasetExportRecordSerializer(many=True)


class DatasetExportQuerySerializer(QuerySerializer):
    format = serializers.ChoiceField(
        choices=format_names(),
        default=DEFAULT_FORMAT,
        error_messages={
            "invalid_choice": f'"{{input}}" is not a valid format; choose one of: {", ".join(format_names())}.'
        },
    )
    system_prompt = StrictCharField(
        required=False,
        max_length=10_000,
        help_text="Read by prompt_completion and chat; Gemma has no system role, so it heads the user turn.",
    )
    split = StrictCharField(
        required=False, allow_null=True, default=None, max_length=32, help_text="Export one split only."
    )


class DatasetDiffQuerySerializer(QuerySerializer):
    against = StrictCharField(min_length=1, max_length=200, help_text="The other dataset's key.")


class DatasetDiffOutputSerializer(serializers.Serializer[Any]):
    base = serializers.CharField()
    against = serializers.CharField()
    added_count = serializers.IntegerField()
    removed_count = serializers.IntegerField()
    common_count = serializers.IntegerField()
    added = serializers.ListField(child=serializers.UUIDField(), help_text="In against only; at most 1,000.")
    removed = serializers.ListField(child=serializers.UUIDField(), help_text="In base only; at most 1,000.")


class UngarExportQuerySerializer(QuerySerializer):
    limit = serializers.IntegerField(min_value=1, max_value=1_000, default=100)
    trace_ids = serializers.CharField(required=False, max_length=37_000, help_text="Comma-separated trace ids.")

    def validate_trace_ids(self, value: str) -> list[uuid.UUID]:
        ids = []
        for raw in (part.strip() for part in value.split(",")):
            if not raw:
                continue
            try:
                ids.append(uuid.UUID(raw))
            except ValueError:
                raise serializers.ValidationError(f"{raw!r} is not a valid UUID.") from None
        return ids


class PreferenceExportQuerySerializer(QuerySerializer):
    format = serializers.ChoiceField(
        choices=["dpo"],
        default="dpo",
        error_messages={"invalid_choice": '"{input}" is not a valid format; choose one of: dpo.'},
    )
    system_prompt = StrictCharField(
        required=False, max_length=10_000, help_text="Heads the user turn, as in prompt_completion."
    )
    dataset = StrictCharField(
        required=False,
        max_length=200,
        help_text="Only pairs whose two traces this dataset holds and that existed when it was built.",
    )
    limit = serializers.IntegerField(min_value=1, max_value=10_000, default=10_000)
