"""Training runs: create, check, execute, cancel and record; the only caller of the SFT engine.

JAX and Tunix are imported lazily inside ``training.engine.sft`` and only when a run
really trains, so everything else works without the optional stack.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from django.db import transaction

from datasets.selectors import dataset_check_split, dataset_get
from datasets.services import dataset_export_lines
from training import jobs
from training.engine.config import ConfigError, parse_config
from training.errors import TrainingConfigInvalid
from training.manifest import (
    git_sha,
    record_reaped_job,
    run_config,
    run_directory,
    write_manifest,
    write_manifest_on_commit,
)
from training.models import TrainingRun
from training.services.configs import (
    config_check_model_paths,
    config_check_pretrained,
    config_load,
    preset_path,
    recipe_of,
)
from training.services.execution import (
    Progress,
    StepCallback,
    TrainOutcome,
    run_execute,
    run_fail,
)
from tunix_rt.accounts import user_or_none
from tunix_rt.audit import audit_record
from tunix_rt.errors import InvalidInput
from tunix_rt.models import AuditAction, AuditObjectType


def training_jobs_reap() -> int:
    """Fails runs and evaluations whose worker died and rewrites the failed runs' manifests."""
    return jobs.jobs_reap(on_failed=record_reaped_job)


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
    audited as ``start``, in one transaction whose commit writes the run's manifest.

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
    config_check_pretrained(parsed)
    commit = git_sha()
    split = split or None
    with transaction.atomic():
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
            git_sha=commit,
            dry_run=dry_run,
            created_by=user_or_none(actor),
        )
        run.artifacts_path = str(run_directory(run))
        run.save(force_insert=True)
        audit_record(
            actor=actor, action=AuditAction.START, object_type=AuditObjectType.TRAINING_RUN, object_id=run.run_id
        )
        write_manifest_on_commit(run)
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
        message = f"Dataset {run.dataset_key} exports no records."
        training_run_fail(run=run, message=message)
        raise InvalidInput(message, field="dataset")
    jobs.job_finish(job=run, dry_run=True, record_count=count)
    write_manifest(run)
    return run


def training_run_fail(*, run: TrainingRun, message: str) -> TrainingRun:
    return run_fail(run=run, message=message)


@transaction.atomic
def training_run_cancel(*, run: TrainingRun, actor: Any = None) -> TrainingRun:
    """A pending run is cancelled and never starts; a running one stops at its next logged step and stays
    cancelled; the manifest is rewritten on commit. ``InvalidInput`` when the run had already finished."""
    jobs.job_cancel(job=run)
    audit_record(actor=actor, action=AuditAction.CANCEL, object_type=AuditObjectType.TRAINING_RUN, object_id=run.run_id)
    write_manifest_on_commit(run)
    return run


def _train_sft(run: TrainingRun, on_step: StepCallback) -> TrainOutcome:
    from training.engine.sft import run_sft

    records = list(training_records(run=run))
    run.record_count = len(records)
    run.save(update_fields=["record_count"])
    config = run_config(run)
    result = run_sft(records=records, config=config, run_dir=Path(run.artifacts_path), on_step=on_step)  # type: ignore[arg-type]
    return TrainOutcome(steps=result.steps, final_loss=result.final_loss)


def training_run_execute(*, run: TrainingRun, progress: Progress | None = None) -> TrainingRun:
    """Trains an SFT run for real; every failure ends as a ``failed`` run with the reason, never ``running``."""
    return run_execute(run=run, train=_train_sft, progress=progress)


def training_run_enqueue(
    *,
    dataset_key: str,
    config: dict[str, Any] | None = None,
    preset: str | None = None,
    split: str | None = None,
    actor: Any = None,
) -> TrainingRun:
    """Records a pending run and queues it for the worker once the run is committed (with the
    caller's transaction, when there is one).

    The config comes from the API: a shipped preset, or an inline mapping whose model files
    must lie under ``MODEL_ROOTS``.
    """
    from training import tasks

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
