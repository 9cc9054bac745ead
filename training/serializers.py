"""Input and output shapes of the training API."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from training.config_schema import config_json_schema
from training.models import CheckpointChoice, RunKind, RunStatus, StoreTraces
from training.presets import preset_names
from tunix_rt.fields import JSONObjectField
from tunix_rt.pagination import PageQuerySerializer, PaginationSerializer


@extend_schema_field(config_json_schema())
class TrainingConfigField(JSONObjectField):
    """An inline SFT config; the training config parser checks it in full."""


class TrainingMetricSerializer(serializers.Serializer[Any]):
    step = serializers.IntegerField()
    loss = serializers.FloatField(allow_null=True)
    eval_loss = serializers.FloatField(allow_null=True)
    learning_rate = serializers.FloatField(allow_null=True)
    values = serializers.JSONField(help_text="Every metric of the step by name (GRPO rewards, KL; DPO margin, …).")


class DatasetRefSerializer(serializers.Serializer[Any]):
    key = serializers.CharField(source="dataset_key")
    build_id = serializers.UUIDField(source="dataset_build_id", allow_null=True)


class TrainingRunSerializer(serializers.Serializer[Any]):
    run_id = serializers.UUIDField()
    created_at = serializers.DateTimeField()
    started_at = serializers.DateTimeField(allow_null=True)
    finished_at = serializers.DateTimeField(allow_null=True)
    dataset = DatasetRefSerializer(source="*")
    split = serializers.CharField(allow_blank=True, help_text='The dataset split trained on; "" for all of it.')
    training_config = serializers.JSONField()
    recipe = serializers.CharField()
    seed = serializers.IntegerField()
    git_sha = serializers.CharField()
    artifacts_path = serializers.CharField()
    status = serializers.ChoiceField(choices=RunStatus.choices)
    dry_run = serializers.BooleanField()
    steps = serializers.IntegerField()
    final_loss = serializers.FloatField(allow_null=True)
    kind = serializers.ChoiceField(choices=RunKind.choices)
    parent_run_id = serializers.UUIDField(source="parent_id", allow_null=True)
    final_reward = serializers.FloatField(
        allow_null=True, help_text="GRPO: the last logged mean total reward; DPO: the last reward margin."
    )
    preferences = serializers.CharField(
        help_text='DPO: "all", the dataset key of the pairs or "evaluation:<id>"; "" otherwise.'
    )
    record_count = serializers.IntegerField()
    error = serializers.CharField()
    duration_seconds = serializers.FloatField(allow_null=True)
    created_by = serializers.CharField(source="created_by.username", allow_null=True, default=None)


class TrainingRunDetailSerializer(TrainingRunSerializer):
    metrics = TrainingMetricSerializer(many=True, source="metric_rows")


class TrainingRunListQuerySerializer(PageQuerySerializer):
    status = serializers.ChoiceField(choices=RunStatus.choices, required=False)


class TrainingRunListOutputSerializer(serializers.Serializer[Any]):
    data = TrainingRunSerializer(many=True)  # type: ignore[assignment]
    pagination = PaginationSerializer()


class TrainingRunCreateInputSerializer(serializers.Serializer[Any]):
    """An SFT run (the default), or a GRPO/DPO run from ``from_run``'s final weights."""

    kind = serializers.ChoiceField(choices=RunKind.choices, default=RunKind.SFT)
    dataset_key = serializers.CharField(
        max_length=200, required=False, help_text="Required for SFT and GRPO; for DPO, use preferences."
    )
    preset = serializers.ChoiceField(
        choices=preset_names(),
        required=False,
        default=None,
        help_text="A shipped preset of the run's kind (training/configs); default sft_tiny, grpo_tiny or dpo_tiny.",
        error_messages={"invalid_choice": f"Not a shipped preset; choose one of: {', '.join(preset_names())}."},
    )
    from_run = serializers.UUIDField(
        required=False, help_text="GRPO and DPO: the succeeded run whose final weights to start from."
    )
    preferences = serializers.CharField(
        max_length=200,
        required=False,
        help_text='DPO: "all" pairs, the key of a dataset whose pairs to use, or "evaluation:<id>" '
        "(the pairs between the generations that evaluation stored).",
    )
    config = TrainingConfigField(
        required=False,
        allow_null=True,
        default=None,
        help_text="An inline config used instead of the preset; model files only under MODEL_ROOTS.",
    )
    split = serializers.CharField(
        max_length=32, required=False, allow_null=True, default=None, help_text="Train on this split only."
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        kind = attrs["kind"]
        required = {"sft": ["dataset_key"], "grpo": ["dataset_key", "from_run"], "dpo": ["from_run", "preferences"]}
        missing = {
            field: [f"This field is required for a {kind} run."] for field in required[kind] if field not in attrs
        }
        if kind == "sft" and "dataset_key" in missing:
            missing["dataset_key"] = ["This field is required."]
        if missing:
            raise serializers.ValidationError(missing)
        preset = attrs.get("preset")
        if preset is not None and preset not in preset_names(kind):
            names = ", ".join(preset_names(kind))
            raise serializers.ValidationError({"preset": [f"Not a {kind} preset; choose one of: {names}."]})
        return attrs


class EvalItemInputSerializer(serializers.Serializer[Any]):
    id = serializers.CharField(max_length=128, trim_whitespace=False)
    prompt = serializers.CharField(max_length=50_000, trim_whitespace=False)
    expected_answer = serializers.CharField(max_length=10_000, trim_whitespace=False)
    category = serializers.CharField(max_length=64, required=False, allow_blank=True, default="")
    difficulty = serializers.CharField(max_length=64, required=False, allow_blank=True, default="")


class EvalSetCreateInputSerializer(serializers.Serializer[Any]):
    """Either ``items``, or ``from_dataset`` and ``split`` to draw the items from a dataset split."""

    name = serializers.RegexField(r"^[A-Za-z0-9._-]{1,128}$")
    description = serializers.CharField(required=False, allow_blank=True, default="", max_length=2_000)
    items = EvalItemInputSerializer(many=True, allow_empty=False, max_length=10_000, required=False)  # type: ignore[call-arg]
    from_dataset = serializers.CharField(max_length=200, required=False, help_text="A dataset key.")
    split = serializers.CharField(max_length=32, required=False, help_text="A split of from_dataset.")

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        drawn = "from_dataset" in attrs or "split" in attrs
        if drawn and "items" in attrs:
            raise serializers.ValidationError({"items": ["Give items, or from_dataset and split, not both."]})
        if drawn:
            for field in ("from_dataset", "split"):
                if field not in attrs:
                    raise serializers.ValidationError({field: ["This field is required with a split eval set."]})
        elif "items" not in attrs:
            raise serializers.ValidationError({"items": ["This field is required (or from_dataset and split)."]})
        return attrs


class EvalSetSerializer(serializers.Serializer[Any]):
    name = serializers.CharField()
    description = serializers.CharField()
    created_at = serializers.DateTimeField()
    item_count = serializers.IntegerField()
    created_by = serializers.CharField(source="created_by.username", allow_null=True, default=None)
    from_dataset = serializers.CharField(source="source_dataset_key", help_text='"" unless drawn from a split.')
    split = serializers.CharField(source="source_split")


class EvalItemSerializer(serializers.Serializer[Any]):
    id = serializers.CharField(source="example_id")
    prompt = serializers.CharField()
    expected_answer = serializers.CharField()
    category = serializers.CharField()
    difficulty = serializers.CharField()


class EvaluationCreateInputSerializer(serializers.Serializer[Any]):
    training_run_id = serializers.UUIDField()
    eval_set = serializers.CharField(max_length=128)
    checkpoint = serializers.ChoiceField(choices=CheckpointChoice.choices, default=CheckpointChoice.FINAL)
    store_traces = serializers.ChoiceField(
        choices=StoreTraces.choices,
        default=StoreTraces.NONE,
        help_text="Store the wrong (or all) generations as pending traces with source 'model', for review.",
    )
    samples = serializers.IntegerField(
        default=1, help_text="Generations per eval item (1..16); more than one needs a temperature above 0."
    )
    temperature = serializers.FloatField(default=0.0, help_text="0 (greedy) .. 2; above 0 samples.")
    seed = serializers.IntegerField(default=0, help_text="Seed of the sampling, for a reproducible draw.")
    trained_prompts = serializers.BooleanField(
        default=False,
        help_text="Generate on prompts the run trained on, to collect its own samples (needs store_traces); "
        "skips the contamination check, and reports refuse the result.",
    )


class EvaluationResultSerializer(serializers.Serializer[Any]):
    example_id = serializers.CharField()
    prompt = serializers.CharField()
    generated_response = serializers.CharField()
    expected_response = serializers.CharField()
    predicted_answer = serializers.CharField(allow_null=True)
    correct = serializers.BooleanField()
    format_ok = serializers.BooleanField()
    score = serializers.FloatField()
    metadata = serializers.JSONField()


class EvaluationRunSerializer(serializers.Serializer[Any]):
    id = serializers.UUIDField()
    created_at = serializers.DateTimeField()
    started_at = serializers.DateTimeField(allow_null=True)
    finished_at = serializers.DateTimeField(allow_null=True)
    training_run_id = serializers.UUIDField()
    eval_set = serializers.CharField(source="eval_set.name")
    checkpoint = serializers.ChoiceField(choices=CheckpointChoice.choices)
    status = serializers.ChoiceField(choices=RunStatus.choices)
    example_count = serializers.IntegerField()
    accuracy = serializers.FloatField(allow_null=True)
    format_rate = serializers.FloatField(allow_null=True)
    per_category = serializers.JSONField()
    store_traces = serializers.ChoiceField(choices=StoreTraces.choices)
    stored_trace_count = serializers.IntegerField()
    samples = serializers.IntegerField()
    temperature = serializers.FloatField()
    seed = serializers.IntegerField()
    trained_prompts = serializers.BooleanField()
    error = serializers.CharField()
    created_by = serializers.CharField(source="created_by.username", allow_null=True, default=None)


class EvaluationRunDetailSerializer(EvaluationRunSerializer):
    results = EvaluationResultSerializer(many=True, source="result_rows")


class EvaluationListOutputSerializer(serializers.Serializer[Any]):
    data = EvaluationRunSerializer(many=True)  # type: ignore[assignment]
    pagination = PaginationSerializer()


class EvalSetListOutputSerializer(serializers.Serializer[Any]):
    data = EvalSetSerializer(many=True)  # type: ignore[assignment]
    pagination = PaginationSerializer()


class EvalSetDetailSerializer(EvalSetSerializer):
    items = EvalItemSerializer(many=True, source="item_rows")
