"""Training and evaluation runs (see docs/training.md): the manifest of every model tunix-rt trained."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone


class RunStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"


FINISHED = (RunStatus.SUCCEEDED, RunStatus.FAILED, RunStatus.CANCELLED)


class BackgroundJob(models.Model):
    """Fields every long job shares, so one liveness check can find jobs whose worker died."""

    status = models.CharField(max_length=16, choices=RunStatus.choices, default=RunStatus.PENDING, db_index=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True, default="")
    worker_pid = models.IntegerField(null=True, blank=True)
    worker_host = models.CharField(max_length=255, blank=True, default="")
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", editable=False
    )

    class Meta:
        abstract = True

    @property
    def duration_seconds(self) -> float | None:
        if self.started_at is None:
            return None
        end = self.finished_at or timezone.now()
        return (end - self.started_at).total_seconds()


class RunKind(models.TextChoices):
    SFT = "sft", "SFT"
    GRPO = "grpo", "GRPO"
    DPO = "dpo", "DPO"


class TrainingRun(BackgroundJob):
    """One SFT, GRPO or DPO run: which data, which config, which code, and what happened."""

    run_id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    created_at = models.DateTimeField(default=timezone.now, db_index=True, editable=False)
    dataset_key = models.CharField(max_length=200, db_index=True)
    dataset_build_id = models.UUIDField(null=True, blank=True)
    split = models.CharField(
        max_length=32, blank=True, default="", help_text="The dataset split trained on; empty for the whole dataset."
    )
    training_config = models.JSONField(default=dict)
    config_path = models.CharField(max_length=1024, blank=True, default="")
    recipe = models.CharField(max_length=64)
    seed = models.BigIntegerField(default=0)
    git_sha = models.CharField(max_length=64, blank=True, default="")
    artifacts_path = models.CharField(max_length=1024, blank=True, default="")
    dry_run = models.BooleanField(default=False)
    steps = models.PositiveIntegerField(default=0)
    final_loss = models.FloatField(null=True, blank=True)
    record_count = models.PositiveIntegerField(default=0)
    kind = models.CharField(max_length=8, choices=RunKind.choices, default=RunKind.SFT, db_index=True)
    parent = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="children",
        help_text="The run whose final weights this GRPO or DPO run started from.",
    )
    final_reward = models.FloatField(
        null=True, blank=True, help_text="GRPO: the last step's mean total reward; DPO: the last reward margin."
    )
    preferences = models.CharField(
        max_length=200, blank=True, default="", help_text='DPO: the pairs trained on ("all" or a dataset key).'
    )

    class Meta:
        ordering = ["-created_at", "-run_id"]

    def __str__(self) -> str:
        return f"{self.recipe} on {self.dataset_key or self.preferences} ({self.status})"


class TrainingMetric(models.Model):
    """One logged training step; written while the run trains."""

    run = models.ForeignKey(TrainingRun, on_delete=models.CASCADE, related_name="metrics")
    step = models.PositiveIntegerField()
    loss = models.FloatField(null=True, blank=True)
    eval_loss = models.FloatField(null=True, blank=True)
    learning_rate = models.FloatField(null=True, blank=True)
    values = models.JSONField(
        default=dict, blank=True, help_text="Every metric of the step by name (GRPO rewards and KL, DPO margin, …)."
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["run", "step"]
        constraints = [models.UniqueConstraint(fields=["run", "step"], name="one_metric_per_step")]

    def __str__(self) -> str:
        return f"step {self.step}: loss {self.loss}"


class CheckpointChoice(models.TextChoices):
    INITIAL = "initial", "Initial (untrained) weights"
    FINAL = "final", "Final (trained) weights"


class EvalSet(models.Model):
    """A named, immutable list of held-out questions with expected answers."""

    name = models.CharField(max_length=128, unique=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    description = models.TextField(blank=True, default="")
    item_count = models.PositiveIntegerField(default=0)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", editable=False
    )
    source_dataset_key = models.CharField(
        max_length=200, blank=True, default="", help_text="The dataset whose split the items were drawn from."
    )
    source_split = models.CharField(max_length=32, blank=True, default="")

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.item_count} items)"


class EvalItem(models.Model):
    eval_set = models.ForeignKey(EvalSet, on_delete=models.CASCADE, related_name="items")
    position = models.PositiveIntegerField()
    example_id = models.CharField(max_length=128)
    prompt = models.TextField()
    expected_answer = models.TextField()
    category = models.CharField(max_length=64, blank=True, default="")
    difficulty = models.CharField(max_length=64, blank=True, default="")

    class Meta:
        ordering = ["eval_set", "position"]
        constraints = [
            models.UniqueConstraint(fields=["eval_set", "position"], name="eval_item_position"),
            models.UniqueConstraint(fields=["eval_set", "example_id"], name="eval_item_example_id"),
        ]

    def __str__(self) -> str:
        return self.example_id


class StoreTraces(models.TextChoices):
    NONE = "none", "None"
    WRONG = "wrong", "Wrong generations"
    ALL = "all", "All generations"


class EvaluationRun(BackgroundJob):
    """Generation on an eval set from one checkpoint of a training run (greedy, or ``samples`` draws
    per item at ``temperature``), scored."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    created_at = models.DateTimeField(default=timezone.now, db_index=True, editable=False)
    training_run = models.ForeignKey(TrainingRun, on_delete=models.CASCADE, related_name="evaluations")
    eval_set = models.ForeignKey(EvalSet, on_delete=models.PROTECT, related_name="evaluations")
    checkpoint = models.CharField(max_length=16, choices=CheckpointChoice.choices, default=CheckpointChoice.FINAL)
    example_count = models.PositiveIntegerField(default=0)
    accuracy = models.FloatField(null=True, blank=True)
    format_rate = models.FloatField(null=True, blank=True)
    per_category = models.JSONField(default=dict, blank=True)
    store_traces = models.CharField(
        max_length=8,
        choices=StoreTraces.choices,
        default=StoreTraces.NONE,
        help_text="Which generations become traces (source 'model', pending review) when the evaluation ends.",
    )
    stored_trace_count = models.PositiveIntegerField(default=0)
    samples = models.PositiveSmallIntegerField(
        default=1, help_text="Generations per eval item; more than one needs a temperature above 0."
    )
    temperature = models.FloatField(default=0.0, help_text="0 generates greedily; above 0 samples.")
    seed = models.PositiveIntegerField(default=0, help_text="Seed of the sampling (unused when greedy).")
    trained_prompts = models.BooleanField(
        default=False,
        help_text="Generates on prompts the run trained on, to collect its own samples as training data "
        "(an on-policy round of preference pairs): no contamination check, so its accuracy is no held-out "
        "measure and reports refuse it.",
    )

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.eval_set.name} on {self.training_run_id} [{self.checkpoint}] ({self.status})"


class EvaluationResult(models.Model):
    evaluation = models.ForeignKey(EvaluationRun, on_delete=models.CASCADE, related_name="results")
    position = models.PositiveIntegerField()
    example_id = models.CharField(max_length=128)
    prompt = models.TextField()
    generated_response = models.TextField()
    expected_response = models.TextField()
    predicted_answer = models.TextField(null=True, blank=True)
    correct = models.BooleanField(default=False)
    format_ok = models.BooleanField(default=False)
    score = models.FloatField(default=0.0)
    category = models.CharField(max_length=64, blank=True, default="", db_index=True)
    metadata = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["evaluation", "position"]

    def __str__(self) -> str:
        return f"{self.example_id}: {'correct' if self.correct else 'wrong'}"
