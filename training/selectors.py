"""Reads on training runs."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from training.models import (
    CheckpointChoice,
    EvalItem,
    EvalSet,
    EvaluationResult,
    EvaluationRun,
    RunStatus,
    TrainingMetric,
    TrainingRun,
)
from tunix_rt.errors import NotFound
from tunix_rt.ids import parse_uuid


def training_run_list(*, status: str | None = None) -> QuerySet[TrainingRun]:
    runs = TrainingRun.objects.select_related("created_by").order_by("-created_at", "-run_id")
    return runs if status is None else runs.filter(status=status)


def training_run_get(*, run_id: Any) -> TrainingRun:
    run = (
        TrainingRun.objects.select_related("created_by").filter(run_id=parse_uuid(run_id, what="Training run")).first()
    )
    if run is None:
        raise NotFound(f"Training run {run_id} not found.")
    return run


def training_run_metrics(*, run: TrainingRun) -> QuerySet[TrainingMetric]:
    return TrainingMetric.objects.filter(run=run).order_by("step")


def eval_set_list() -> QuerySet[EvalSet]:
    return EvalSet.objects.select_related("created_by").order_by("name")


def eval_set_get(*, name: str) -> EvalSet:
    eval_set = EvalSet.objects.select_related("created_by").filter(name=name).first()
    if eval_set is None:
        raise NotFound(f"Eval set {name!r} not found.")
    return eval_set


def eval_set_items(*, eval_set: EvalSet) -> QuerySet[EvalItem]:
    return eval_set.items.order_by("position")


def evaluation_list(*, training_run: TrainingRun | None = None) -> QuerySet[EvaluationRun]:
    runs = EvaluationRun.objects.select_related("eval_set", "created_by").order_by("-created_at", "-id")
    return runs if training_run is None else runs.filter(training_run=training_run)


def evaluation_get(*, evaluation_id: Any) -> EvaluationRun:
    evaluation = (
        EvaluationRun.objects.select_related("eval_set", "training_run", "created_by")
        .filter(id=parse_uuid(evaluation_id, what="Evaluation run"))
        .first()
    )
    if evaluation is None:
        raise NotFound(f"Evaluation run {evaluation_id} not found.")
    return evaluation


def evaluation_results(*, evaluation: EvaluationRun) -> QuerySet[EvaluationResult]:
    return evaluation.results.order_by("position")


def training_runs_recent_with_accuracy(*, limit: int = 5) -> list[dict[str, Any]]:
    """The newest ``limit`` runs, each with the held-out accuracy of its latest succeeded evaluation of the
    final weights (``after``) and of the initial weights on the same eval set (``before``, the latest initial
    one when nothing measured the final weights); two queries.

    Evaluations on the prompts a run trained on are no held-out measure and are left out.
    """
    runs = list(training_run_list()[:limit])
    evaluations = (
        EvaluationRun.objects.filter(
            training_run__in=runs, status=RunStatus.SUCCEEDED, trained_prompts=False, accuracy__isnull=False
        )
        .select_related("eval_set")
        .only("id", "training_run_id", "checkpoint", "accuracy", "eval_set__name", "created_at")
        .order_by("-created_at", "-id")
    )
    latest: dict[tuple[Any, str, str], EvaluationRun] = {}
    for evaluation in evaluations:
        latest.setdefault((evaluation.training_run_id, evaluation.checkpoint, evaluation.eval_set.name), evaluation)
    rows = []
    for run in runs:
        after = next((e for (r, c, _), e in latest.items() if r == run.run_id and c == CheckpointChoice.FINAL), None)
        initial = (e for (r, c, _), e in latest.items() if r == run.run_id and c == CheckpointChoice.INITIAL)
        before = next(initial, None) if after is None else latest.get((run.run_id, "initial", after.eval_set.name))
        rows.append({"run": run, "before": before, "after": after})
    return rows
