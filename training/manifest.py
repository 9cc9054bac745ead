"""A training run's directory and manifest, and the config it was recorded with.

A leaf of the ``training`` app: jobs, runs and evaluations all read these, and it calls none of them.
"""

from __future__ import annotations

import json
import subprocess
from functools import partial
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import transaction

from training.engine.config import RunConfig, parse_run_config
from training.models import TrainingRun
from tunix_rt.files import atomic_file

MANIFEST = "run_manifest.json"
METRICS = "metrics.jsonl"


def git_sha() -> str:
    """The commit of the code that trains, or "" outside a git checkout; a subprocess, so callers run it
    before their transaction, never inside it."""
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


def run_config(run: TrainingRun) -> RunConfig:
    """The run's config as recorded: SFT, or GRPO/DPO (their dicts carry ``kind``)."""
    return parse_run_config(run.training_config)


def run_manifest(run: TrainingRun) -> dict[str, Any]:
    return {
        "run_id": str(run.run_id),
        "kind": run.kind,
        "parent_run_id": str(run.parent_id) if run.parent_id else None,
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
        "final_reward": run.final_reward,
        "preferences": run.preferences or None,
        "record_count": run.record_count,
        "error": run.error,
        "files": {
            "manifest": MANIFEST,
            "metrics": METRICS,
            "tokenizer": "tokenizer/",
            "checkpoints": {"initial": "checkpoints/initial/", "final": "checkpoints/final/"},
        },
    }


def _manifest_bytes(run: TrainingRun) -> bytes:
    return (json.dumps(run_manifest(run), indent=2, sort_keys=True) + "\n").encode("utf-8")


def _write(path: Path, data: bytes) -> None:
    with atomic_file(path) as out:
        out.write(data)


def write_manifest(run: TrainingRun) -> None:
    """Writes ``run_manifest.json`` atomically from the run as stored now; for code outside a transaction."""
    _write(Path(run.artifacts_path) / MANIFEST, _manifest_bytes(run))


def write_manifest_on_commit(run: TrainingRun) -> None:
    """Writes ``run_manifest.json`` of the run as it is now once the current transaction commits (at once
    outside one): a rolled-back write leaves no file."""
    transaction.on_commit(partial(_write, Path(run.artifacts_path) / MANIFEST, _manifest_bytes(run)))


def record_reaped_job(job: object) -> None:
    """After the reaper failed ``job``: a training run's manifest says so too."""
    if isinstance(job, TrainingRun):
        write_manifest(TrainingRun.objects.get(pk=job.pk))
