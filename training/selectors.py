"""Reads on training runs."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from training.models import TrainingMetric, TrainingRun
from tunix_rt.errors import NotFound
from tunix_rt.ids import parse_uuid


def training_run_list(*, status: str | None = None) -> QuerySet[TrainingRun]:
    runs = TrainingRun.objects.order_by("-created_at", "-run_id")
    return runs if status is None else runs.filter(status=status)


def training_run_get(*, run_id: Any) -> TrainingRun:
    run = TrainingRun.objects.filter(run_id=parse_uuid(run_id, what="Training run")).first()
    if run is None:
        raise NotFound(f"Training run {run_id} not found.")
    return run


def training_run_metrics(*, run: TrainingRun) -> QuerySet[TrainingMetric]:
    return TrainingMetric.objects.filter(run=run).order_by("step")
