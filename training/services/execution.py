"""Running a training job of any kind: claim it, train, record every logged step, finish or fail.

The kind-specific part (which records, which engine) is the ``train`` callable a service hands
in; this module imports no engine and no JAX.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.utils import timezone

from training import jobs
from training.engine.config import ConfigError
from training.engine.stack import TrainingStackMissing, ensure_training_stack
from training.errors import TrainingStackUnavailable
from training.manifest import METRICS, record_reaped_job, write_manifest
from training.models import RunStatus, TrainingMetric, TrainingRun
from training.worker import heartbeat
from tunix_rt.errors import DomainError

StepCallback = Callable[[int, dict[str, float]], None]
Progress = Callable[[int, dict[str, float]], None]
# The metric a run's headline figure follows: GRPO's total reward, DPO's reward margin.
HEADLINE = {"grpo": "reward", "dpo": "margin"}


@dataclass(frozen=True)
class TrainOutcome:
    steps: int
    final_loss: float | None
    final_reward: float | None = None


class RunCancelled(Exception):
    """Raised from the step callback to stop training when the run is no longer running (cancelled, or
    failed by the reaper)."""


def training_stack_ready() -> None:
    """The precondition of every training and evaluation job: the optional stack is installed."""
    try:
        ensure_training_stack()
    except TrainingStackMissing as exc:
        raise TrainingStackUnavailable(str(exc)) from None


def run_fail(*, run: TrainingRun, message: str) -> TrainingRun:
    """Fails a pending or running run with ``message``; one that had already ended (cancelled) keeps its
    state. Either way ``run`` and its manifest show what is stored."""
    jobs.job_fail(job=run, message=message)
    write_manifest(run)
    return run


def record_step(run: TrainingRun, step: int, metrics: dict[str, float], log: object, progress: Progress | None) -> None:
    """Store one logged step (row, ``metrics.jsonl`` line, run counters), then stop if the run is no longer
    running (a cancel, or the reaper)."""
    loss = metrics.get("loss")
    TrainingMetric.objects.update_or_create(
        run=run,
        step=step,
        defaults={
            "loss": loss,
            "eval_loss": metrics.get("eval_loss"),
            "learning_rate": metrics.get("learning_rate"),
            "values": metrics,
        },
    )
    log.write(json.dumps({"step": step, **metrics}, sort_keys=True) + "\n")  # type: ignore[attr-defined]
    log.flush()  # type: ignore[attr-defined]
    run.steps = step
    run.final_loss = loss
    fields = ["steps", "final_loss", "heartbeat_at"]
    headline = HEADLINE.get(run.kind)
    if headline is not None and headline in metrics:
        run.final_reward = metrics[headline]
        fields.append("final_reward")
    run.heartbeat_at = timezone.now()
    run.save(update_fields=fields)
    if progress is not None:
        progress(step, metrics)
    if not TrainingRun.objects.filter(run_id=run.run_id, status=RunStatus.RUNNING).exists():
        raise RunCancelled


def run_execute(
    *, run: TrainingRun, train: Callable[[TrainingRun, StepCallback], TrainOutcome], progress: Progress | None = None
) -> TrainingRun:
    """Claims ``run`` and calls ``train(run, on_step)``; every failure ends as ``failed`` with the reason.

    A run that is not pending when claimed is never trained, and its manifest is left to whoever changed
    its state; one cancelled while it trains stops at its next logged step and stays cancelled whatever
    the training then does. Not atomic on purpose: metrics are committed while the run trains so
    progress is visible.
    """
    from training.engine.sft import TrainingError

    try:
        started = jobs.job_start(job=run, precondition=training_stack_ready, on_reaped=record_reaped_job)
    except DomainError:
        write_manifest(run)
        raise
    if not started:
        return run
    write_manifest(run)
    try:
        with heartbeat(run), open(Path(run.artifacts_path) / METRICS, "a", encoding="utf-8") as log:
            outcome = train(run, lambda step, metrics: record_step(run, step, metrics, log, progress))
    except RunCancelled:
        run.refresh_from_db()
        write_manifest(run)
        return run
    except (TrainingError, ConfigError, MemoryError) as exc:
        return run_fail(run=run, message=str(exc) or exc.__class__.__name__)
    except Exception as exc:
        run_fail(run=run, message=f"{exc.__class__.__name__}: {exc}")
        raise
    updates: dict[str, Any] = {"steps": outcome.steps, "final_loss": outcome.final_loss}
    if outcome.final_reward is not None:
        updates["final_reward"] = outcome.final_reward
    if not jobs.job_finish(job=run, **updates):
        run.refresh_from_db()
    write_manifest(run)
    return run
