"""Training runs: create, check, execute, cancel and record; the only caller of the SFT engine.

JAX and Tunix are imported lazily inside ``training.engine.sft`` and only when a run
really trains, so everything else works without the optional stack.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from django.db import transaction
from django.utils import timezone

from datasets.selectors import dataset_check_split, dataset_get
from datasets.services import dataset_export_lines
from training import jobs
from training.engine.config import ConfigError, parse_config
from training.engine.stack import TrainingStackMissing, ensure_training_stack
from training.errors import TrainingConfigInvalid, TrainingStackUnavailable
from training.manifest import METRICS, git_sha, record_reaped_job, run_config, run_directory, write_manifest
from training.models import RunStatus, TrainingMetric, TrainingRun
from training.services.configs import config_check_model_paths, config_load, preset_path, recipe_of
from tunix_rt.accounts import user_or_none
from tunix_rt.audit import audit_record
from tunix_rt.errors import InvalidInput
from tunix_rt.models import AuditAction, AuditObjectType


def training_stack_ready() -> None:
    """The precondition of every training and evaluation job: the optional stack is installed."""
    try:
        ensure_training_stack()
    except TrainingStackMissing as exc:
        raise TrainingStackUnavailable(str(exc)) from None


def training_jobs_reap() -> int:
    """Fails runs and evaluations whose worker died and rewrites the failed runs' manifests."""
    return jobs.jobs_reap(on_failed=record_reaped_job)


def _save(run: TrainingRun, *fields: str) -> None:
    run.save(update_fields=list(fields))
    write_manifest(run)


@transaction.atomic
def training_run_create(
    *,
    dataset_key: str,
    config_path: str,
    config: dict[str, Any] | None = None,
    dry_run: bool = False,
    restrict_paths: bool = False,
    actor: Any = None,
    split: str | None = None,
) -> TrainingRun:
    """Validates config (a file, or a mapping used instead), dataset and split; records a pending run,
    audited as ``start``.

    With ``restrict_paths`` (configs from the API) model files must lie under ``MODEL_ROOTS``.
    With ``split`` the run trains on that split of the dataset only (``InvalidInput`` if it has none such).
    """
    if config is None:
        parsed = config_load(path=config_path)
    else:
        try:
            parsed = parse_config(config)
        except ConfigError as exc:
            raise TrainingConfigInvalid(str(exc), field="config") from None
        config_path = ""
    if restrict_paths:
        config_check_model_paths(parsed)
    split = split or None
    dataset = dataset_get(key=dataset_key)
    dataset_check_split(dataset=dataset, split=split)
    run = TrainingRun(
        dataset_key=dataset.key,
        dataset_build_id=dataset.build_id,
        split=split or "",
        training_config=dataclasses.asdict(parsed),
        config_path=str(Path(config_path).resolve()) if config_path else "",
        recipe=recipe_of(parsed),
        seed=parsed.training.seed,
        git_sha=git_sha(),
        dry_run=dry_run,
        created_by=user_or_none(actor),
    )
    run.artifacts_path = str(run_directory(run))
    run.save(force_insert=True)
    audit_record(actor=actor, action=AuditAction.START, object_type=AuditObjectType.TRAINING_RUN, object_id=run.run_id)
    write_manifest(run)
    return run


def training_records(*, run: TrainingRun) -> Iterator[dict[str, Any]]:
    """The run's dataset (or its split) as ``prompt_completion`` records, in manifest order."""
    dataset = dataset_get(key=run.dataset_key)
    for line in dataset_export_lines(dataset=dataset, fmt="prompt_completion", options=None, split=run.split or None):
        if line.strip():
            yield json.loads(line)


def training_run_dry_run(*, run: TrainingRun) -> TrainingRun:
    """Checks that the dataset exports and is not empty; imports no JAX."""
    count = sum(1 for _ in training_records(run=run))
    if count == 0:
        training_run_fail(run=run, message=f"Dataset {run.dataset_key} exports no records.")
        raise InvalidInput(run.error, field="dataset")
    run.record_count = count
    run.status = RunStatus.SUCCEEDED
    run.finished_at = timezone.now()
    _save(run, "record_count", "status", "finished_at")
    return run


def training_run_fail(*, run: TrainingRun, message: str) -> TrainingRun:
    jobs.job_fail(run, message)
    write_manifest(run)
    return run


@transaction.atomic
def training_run_cancel(*, run: TrainingRun, actor: Any = None) -> TrainingRun:
    """A pending run is cancelled at once; a running one stops at its next logged step."""
    jobs.job_cancel(run)
    audit_record(actor=actor, action=AuditAction.CANCEL, object_type=AuditObjectType.TRAINING_RUN, object_id=run.run_id)
    write_manifest(run)
    return run


class RunCancelled(Exception):
    """Raised from the step callback to stop training when the run was cancelled."""


def _record_step(
    run: TrainingRun,
    step: int,
    metrics: dict[str, float],
    log: Any,
    progress: Callable[[int, float | None], None] | None,
) -> None:
    loss = metrics.get("loss")
    TrainingMetric.objects.update_or_create(
        run=run,
        step=step,
        defaults={"loss": loss, "eval_loss": metrics.get("eval_loss"), "learning_rate": metrics.get("learning_rate")},
    )
    log.write(json.dumps({"step": step, **metrics}, sort_keys=True) + "\n")
    log.flush()
    run.steps = step
    run.final_loss = loss
    run.heartbeat_at = timezone.now()
    run.save(update_fields=["steps", "final_loss", "heartbeat_at"])
    if progress is not None:
        progress(step, loss)
    if TrainingRun.objects.filter(run_id=run.run_id, status=RunStatus.CANCELLED).exists():
        raise RunCancelled


def training_run_execute(
    *, run: TrainingRun, progress: Callable[[int, float | None], None] | None = None
) -> TrainingRun:
    """Trains for real; every failure ends as a ``failed`` run with the reason, never ``running``.

    Not atomic on purpose: metrics are committed while the run trains so progress is visible.
    """
    try:
        if not jobs.job_start(run, precondition=training_stack_ready, on_reaped=record_reaped_job):
            return run
    finally:
        write_manifest(run)
    try:
        from training.engine.sft import TrainingError, run_sft

        records = list(training_records(run=run))
        run.record_count = len(records)
        run.save(update_fields=["record_count"])
        directory = Path(run.artifacts_path)
        with jobs.heartbeat(run), open(directory / METRICS, "a", encoding="utf-8") as log:
            result = run_sft(
                records=records,
                config=run_config(run),
                run_dir=directory,
                on_step=lambda step, metrics: _record_step(run, step, metrics, log, progress),
            )
    except RunCancelled:
        run.refresh_from_db()
        return run
    except (TrainingError, ConfigError, MemoryError) as exc:
        return training_run_fail(run=run, message=str(exc) or exc.__class__.__name__)
    except Exception as exc:
        training_run_fail(run=run, message=f"{exc.__class__.__name__}: {exc}")
        raise
    # A run cancelled during its last steps stays cancelled.
    TrainingRun.objects.filter(run_id=run.run_id, status=RunStatus.RUNNING).update(
        status=RunStatus.SUCCEEDED, steps=result.steps, final_loss=result.final_loss, finished_at=timezone.now()
    )
    run.refresh_from_db()
    write_manifest(run)
    return run


def training_run_enqueue(
    *,
    dataset_key: str,
    config: dict[str, Any] | None = None,
    preset: str | None = None,
    split: str | None = None,
    actor: Any = None,
) -> TrainingRun:
    """Records a pending run and queues it for the worker once the transaction commits.

    The config comes from the API: a shipped preset, or an inline mapping whose model files
    must lie under ``MODEL_ROOTS``.
    """
    from training import tasks

    with transaction.atomic():
        run = training_run_create(
            dataset_key=dataset_key,
            config_path=preset_path(preset or "sft_tiny"),
            config=config,
            restrict_paths=True,
            actor=actor,
            split=split,
        )
        run_id = str(run.run_id)
        transaction.on_commit(lambda: tasks.train.enqueue(run_id=run_id))
    return run
