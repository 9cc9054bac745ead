"""Training and evaluation runs (DESIGN §7): the manifest of every model tunix-rt trained."""

from __future__ import annotations

import uuid

from django.db import models
from django.utils import timezone


class RunStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"


FINISHED = (RunStatus.SUCCEEDED, RunStatus.FAILED, RunStatus.CANCELLED)


class TrainingRun(models.Model):
    """One SFT run: which data, which config, which code, and what happened."""

    run_id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    created_at = models.DateTimeField(default=timezone.now, db_index=True, editable=False)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    dataset_key = models.CharField(max_length=200, db_index=True)
    dataset_build_id = models.UUIDField(null=True, blank=True)
    training_config = models.JSONField(default=dict)
    config_path = models.CharField(max_length=1024, blank=True, default="")
    recipe = models.CharField(max_length=64)
    seed = models.BigIntegerField(default=0)
    git_sha = models.CharField(max_length=64, blank=True, default="")
    artifacts_path = models.CharField(max_length=1024, blank=True, default="")
    status = models.CharField(max_length=16, choices=RunStatus.choices, default=RunStatus.PENDING, db_index=True)
    dry_run = models.BooleanField(default=False)
    steps = models.PositiveIntegerField(default=0)
    final_loss = models.FloatField(null=True, blank=True)
    record_count = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True, default="")
    worker_pid = models.IntegerField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-run_id"]

    def __str__(self) -> str:
        return f"{self.recipe} on {self.dataset_key} ({self.status})"

    @property
    def duration_seconds(self) -> float | None:
        if self.started_at is None:
            return None
        end = self.finished_at or timezone.now()
        return (end - self.started_at).total_seconds()


class TrainingMetric(models.Model):
    """One logged training step; written while the run trains."""

    run = models.ForeignKey(TrainingRun, on_delete=models.CASCADE, related_name="metrics")
    step = models.PositiveIntegerField()
    loss = models.FloatField(null=True, blank=True)
    eval_loss = models.FloatField(null=True, blank=True)
    learning_rate = models.FloatField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["run", "step"]
        constraints = [models.UniqueConstraint(fields=["run", "step"], name="one_metric_per_step")]

    def __str__(self) -> str:
        return f"step {self.step}: loss {self.loss}"
