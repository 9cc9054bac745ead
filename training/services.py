"""Training runs: create, check, execute and record; the only caller of the training engine.

JAX and Tunix are imported lazily inside ``training.engine.sft`` and only when a run
really trains, so everything else works without the optional stack.
"""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from datasets.selectors import dataset_check_split, dataset_get
from datasets.services import dataset_export_lines
from training import jobs
from training.engine.config import (
    ConfigError,
    SFTConfig,
    load_config,
    parse_config,
)
from training.errors import TrainingConfigInvalid
from training.models import RunStatus, TrainingMetric, TrainingRun
from training.presets import PRESETS_DIR, preset_names
from tunix_rt.accounts import user_or_none
from tunix_rt.audit import audit_record
from tunix_rt.errors import InvalidInput
from tunix_rt.files import atomic_file
from tunix_rt.models import AuditAction, AuditObjectType

MANIFEST = "run_manifest.json"
METRICS = "metrics.jsonl"


def git_sha() -> str:
    """The commit of the code that trains, or "" outside a git checkout."""
    try:
        out = subprocess.run(  # noqa: S603 - fixed argv
            ["git", "rev-parse", "HEAD"],  # noqa: S607
            cwd=settings.BASE_DIR,
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return ""
    return out.stdout.strip() if out.returncode == 0 else ""


def run_directory(run: TrainingRun) -> Path:
    return Path(settings.ARTIFACTS_DIR) / "training_runs" / str(run.run_id)


def config_load(*, path: str) -> SFTConfig:
    try:
        return load_config(path)
    except ConfigError as exc:
        raise TrainingConfigInvalid(str(exc), field="config") from None


def run_config(run: TrainingRun) -> SFTConfig:
    return parse_config(run.training_config)


def recipe_of(config: SFTConfig) -> str:
    if config.model.mode == "tiny":
        return "sft_tiny"
    return "sft_checkpoint_lora" if config.model.lora.enabled else "sft_checkpoint_full"


def run_manifest(run: TrainingRun) -> dict[str, Any]:
    return {
        "run_id": str(run.run_id),
        "created_at": run.created_at.isoformat(),
        "started_at": run.started_at.isoformat() if run.started_at else None,
        "finished_at": run.finished_at.isoformat() if run.finished_at else None,
        "dataset": {"key": run.dataset_key, "build_id": str(run.dataset_build_id) if run.dataset_build_id else None},
        "split": run.split or None,
        "training_config": run.training_config,
        "config_path": run.config_path,
        "recipe": run.recipe,
        "seed": run.seed,
        "git_sha": run.git_sha,
        "artifacts_path": run.artifacts_path,
        "status": run.status,
        "dry_run": run.dry_run,
        "steps": run.steps,
        "final_loss": run.final_loss,
        "record_count": run.record_count,
        "error": run.error,
        "files": {
            "manifest": MANIFEST,
            "metrics": METRICS,
            "tokenizer": "tokenizer/",
            "checkpoints": {"initial": "checkpoints/initial/", "final": "checkpoints/final/"},
        },
    }


def _write_manifest(run: TrainingRun) -> None:
    with atomic_file(Path(run.artifacts_path) / MANIFEST) as out:
        out.write((json.dumps(run_manifest(run), indent=2, sort_keys=True) + "\n").encode("utf-8"))


def _save(run: TrainingRun, *fields: str) -> None:
    run.save(update_fields=list(fields))
    _write_manifest(run)


def preset_path(name: str) -> str:
    """A shipped preset; any other name, a path included, is refused before any file is touched."""
    names = preset_names()
    if name not in names:
        raise TrainingConfigInvalid(f"Unknown preset; choose one of: {', '.join(names)}.", field="preset")
    return str(PRESETS_DIR / f"{name}.yaml")


def config_check_model_paths(config: SFTConfig) -> None:
    """Model files named by an API-submitted config must lie under ``MODEL_ROOTS`` (symlinks resolved).

    A relative path is taken under the first root. The message names the field, never a file's content.
    """
    roots = [Path(root) for root in settings.MODEL_ROOTS]
    for field in ("checkpoint_path", "model_config_path", "tokenizer_path"):
        value = getattr(config.model, field)
        if value is None:
            continue
        candidate = Path(value) if Path(value).is_absolute() else roots[0] / value
        resolved = Path(os.path.realpath(candidate))
        if not any(resolved.is_relative_to(root) for root in roots):
            raise TrainingConfigInvalid(
                f"model.{field} must be a path under MODEL_ROOTS ({':'.join(str(r) for r in roots)}).",
                field="config",
            )


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
    _write_manifest(run)
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
    _write_manifest(run)
    return run


@transaction.atomic
def training_run_cancel(*, run: TrainingRun, actor: Any = None) -> TrainingRun:
    """A pending run is cancelled at once; a running one stops at its next logged step."""
    jobs.job_cancel(run)
    audit_record(actor=actor, action=AuditAction.CANCEL, object_type=AuditObjectType.TRAINING_RUN, object_id=run.run_id)
    _write_manifest(run)
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
        if not jobs.job_start(run):
            return run
    finally:
        _write_manifest(run)
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
    _write_manifest(run)
    return run


def write_manifest_of(*, run_id: Any) -> None:
    _write_manifest(TrainingRun.objects.get(run_id=run_id))


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
