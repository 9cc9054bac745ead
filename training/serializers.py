"""Input and output shapes of the training API."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from training.models import RunStatus


class TrainingMetricSerializer(serializers.Serializer[Any]):
    step = serializers.IntegerField()
    loss = serializers.FloatField(allow_null=True)
    eval_loss = serializers.FloatField(allow_null=True)
    learning_rate = serializers.FloatField(allow_null=True)


class DatasetRefSerializer(serializers.Serializer[Any]):
    key = serializers.CharField(source="dataset_key")
    build_id = serializers.UUIDField(source="dataset_build_id", allow_null=True)


class TrainingRunSerializer(serializers.Serializer[Any]):
    run_id = serializers.UUIDField()
    created_at = serializers.DateTimeField()
    started_at = serializers.DateTimeField(allow_null=True)
    finished_at = serializers.DateTimeField(allow_null=True)
    dataset = DatasetRefSerializer(source="*")
    training_config = serializers.JSONField()
    recipe = serializers.CharField()
    seed = serializers.IntegerField()
    git_sha = serializers.CharField()
    artifacts_path = serializers.CharField()
    status = serializers.ChoiceField(choices=RunStatus.choices)
    dry_run = serializers.BooleanField()
    steps = serializers.IntegerField()
    final_loss = serializers.FloatField(allow_null=True)
    record_count = serializers.IntegerField()
    error = serializers.CharField()
    duration_seconds = serializers.FloatField(allow_null=True)


class TrainingRunDetailSerializer(TrainingRunSerializer):
    metrics = TrainingMetricSerializer(many=True, source="metric_rows")


class TrainingRunListQuerySerializer(serializers.Serializer[Any]):
    limit = serializers.IntegerField(min_value=1, max_value=100, default=20)
    offset = serializers.IntegerField(min_value=0, default=0)
    status = serializers.ChoiceField(choices=RunStatus.choices, required=False)


class TrainingRunListOutputSerializer(serializers.Serializer[Any]):
    data = TrainingRunSerializer(many=True)  # type: ignore[assignment]
    pagination = serializers.JSONField()
