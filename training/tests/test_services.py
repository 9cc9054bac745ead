from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.db import connection, transaction
from django.test import override_settings

from datasets.models import Dataset
from traces.models import Trace
from training import services
from training.errors import TrainingConfigInvalid, TrainingStackUnavailable
from training.manifest import git_sha
from training.models import RunStatus, TrainingMetric, TrainingRun
from training.services import runs
from tunix_rt.errors import InvalidInput, NotFound

pytestmark = pytest.mark.django_db


def test_create_records_the_manifest(
    arith_dataset: Dataset, tiny_config: Path, artifacts: Path, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        run = services.training_run_create(dataset_key="arith-1.0", config_path=str(tiny_config))
    assert len(callbacks) == 1
    assert run.status == RunStatus.PENDING
    assert run.dataset_build_id == arith_dataset.build_id
    assert run.recipe == "sft_tiny" and run.seed == 3
    assert run.training_config["training"]["max_steps"] == 6
    directory = artifacts / "training_runs" / str(run.run_id)
    assert Path(run.artifacts_path) == directory
    manifest = json.loads((directory / "run_manifest.json").read_text())
    assert manifest["dataset"] == {"key": "arith-1.0", "build_id": str(arith_dataset.build_id)}
    assert manifest["status"] == "pending" and manifest["seed"] == 3


def test_create_writes_the_manifest_only_when_the_run_commits(
    arith_dataset: Dataset, tiny_config: Path, artifacts: Path, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        with pytest.raises(RuntimeError), transaction.atomic():
            run = services.training_run_create(dataset_key="arith-1.0", config_path=str(tiny_config))
            raise RuntimeError("the caller's transaction rolls back")
    assert callbacks == []
    assert not (Path(run.artifacts_path) / "run_manifest.json").exists()
    assert not TrainingRun.objects.filter(run_id=run.run_id).exists()


def test_create_runs_git_before_its_transaction(
    arith_dataset: Dataset, tiny_config: Path, artifacts: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    depths: list[bool] = []

    def sha() -> str:
        depths.append(connection.in_atomic_block and len(connection.savepoint_ids) > outer)
        return "abc123"

    monkeypatch.setattr(runs, "git_sha", sha)
    outer = len(connection.savepoint_ids)
    run = services.training_run_create(dataset_key="arith-1.0", config_path=str(tiny_config))
    assert run.git_sha == "abc123" and depths == [False]


def test_cancel_rewrites_the_manifest_only_on_commit(
    arith_dataset: Dataset, tiny_config: Path, artifacts: Path, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        run = services.training_run_create(dataset_key="arith-1.0", config_path=str(tiny_config))
    manifest = Path(run.artifacts_path) / "run_manifest.json"
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        with pytest.raises(RuntimeError), transaction.atomic():
            services.training_run_cancel(run=run)
            raise RuntimeError("rolled back")
    assert callbacks == [] and json.loads(manifest.read_text())["status"] == "pending"
    run.refresh_from_db()
    with django_capture_on_commit_callbacks(execute=True):
        services.training_run_cancel(run=run)
    assert json.loads(manifest.read_text())["status"] == "cancelled"


def test_create_refuses_bad_config_naming_the_key(arith_dataset: Dataset, tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("training:\n  batch_size: -4\n", encoding="utf-8")
    with pytest.raises(TrainingConfigInvalid, match="batch_size"):
        services.training_run_create(dataset_key="arith-1.0", config_path=str(bad))
    with pytest.raises(TrainingConfigInvalid):
        services.training_run_create(dataset_key="arith-1.0", config_path=str(tmp_path / "missing.yaml"))
    with pytest.raises(TrainingConfigInvalid, match="bogus"):
        services.training_run_create(dataset_key="arith-1.0", config_path="", config={"bogus": 1})
    assert TrainingRun.objects.count() == 0


def test_create_refuses_unknown_dataset(db: Any, tiny_config: Path, artifacts: Path) -> None:
    with pytest.raises(NotFound):
        services.training_run_create(dataset_key="nope-1.0", config_path=str(tiny_config))


def test_dry_run_counts_records_without_training(arith_dataset: Dataset, tiny_config: Path) -> None:
    run = services.training_run_create(dataset_key="arith-1.0", config_path=str(tiny_config), dry_run=True)
    run = services.training_run_dry_run(run=run)
    assert (run.status, run.record_count, run.steps) == (RunStatus.SUCCEEDED, 40, 0)


def test_dry_run_of_a_dataset_whose_traces_were_deleted_fails(arith_dataset: Dataset, tiny_config: Path) -> None:
    Trace.objects.all().delete()
    run = services.training_run_create(dataset_key="arith-1.0", config_path=str(tiny_config), dry_run=True)
    with pytest.raises(InvalidInput, match="exports no records"):
        services.training_run_dry_run(run=run)
    run.refresh_from_db()
    assert run.status == RunStatus.FAILED


def test_execute_without_the_stack_fails_the_run_with_the_install_hint(
    arith_dataset: Dataset, tiny_config: Path, no_training_stack: None
) -> None:
    run = services.training_run_create(dataset_key="arith-1.0", config_path=str(tiny_config))
    with pytest.raises(TrainingStackUnavailable, match="requirements-training.txt"):
        services.training_run_execute(run=run)
    run.refresh_from_db()
    assert run.status == RunStatus.FAILED and "requirements-training.txt" in run.error


def test_execute_records_metrics_and_succeeds(
    arith_dataset: Dataset, tiny_config: Path, fake_engine: Callable[..., None]
) -> None:
    fake_engine(losses=[3.0, 2.0, 1.25])
    run = services.training_run_execute(
        run=services.training_run_create(dataset_key="arith-1.0", config_path=str(tiny_config))
    )
    assert (run.status, run.steps, run.final_loss, run.record_count) == (RunStatus.SUCCEEDED, 3, 1.25, 40)
    assert list(TrainingMetric.objects.filter(run=run).values_list("step", "loss")) == [(1, 3.0), (2, 2.0), (3, 1.25)]
    lines = (Path(run.artifacts_path) / "metrics.jsonl").read_text().splitlines()
    assert [json.loads(line) for line in lines] == [
        {"loss": 3.0, "step": 1},
        {"loss": 2.0, "step": 2},
        {"loss": 1.25, "step": 3},
    ]
    manifest = json.loads((Path(run.artifacts_path) / "run_manifest.json").read_text())
    assert manifest["status"] == "succeeded" and manifest["final_loss"] == 1.25
    again = services.training_run_execute(run=run)
    assert again.status == RunStatus.SUCCEEDED and again.steps == 3


def test_execute_turns_training_errors_into_failed_runs(
    arith_dataset: Dataset, tiny_config: Path, fake_engine: Callable[..., None]
) -> None:
    fake_engine(fail=MemoryError("out of memory: lower batch_size"))
    run = services.training_run_execute(
        run=services.training_run_create(dataset_key="arith-1.0", config_path=str(tiny_config))
    )
    assert run.status == RunStatus.FAILED and "batch_size" in run.error
    fake_engine(fail=KeyError("surprise"))
    other = services.training_run_create(dataset_key="arith-1.0", config_path=str(tiny_config))
    with pytest.raises(KeyError):
        services.training_run_execute(run=other)
    other.refresh_from_db()
    assert other.status == RunStatus.FAILED and "KeyError" in other.error


def test_cancel_stops_a_running_run_at_its_next_step(
    arith_dataset: Dataset, tiny_config: Path, fake_engine: Callable[..., None]
) -> None:
    run = services.training_run_create(dataset_key="arith-1.0", config_path=str(tiny_config))

    def cancel_after_first(step: int) -> None:
        if step == 1:
            services.training_run_cancel(run=TrainingRun.objects.get(run_id=run.run_id))

    fake_engine(losses=[3.0, 2.0, 1.0], on_step_hook=cancel_after_first)
    run = services.training_run_execute(run=run)
    assert run.status == RunStatus.CANCELLED
    assert TrainingMetric.objects.filter(run=run).count() == 2
    with pytest.raises(InvalidInput, match="already finished"):
        services.training_run_cancel(run=run)


def test_preset_path_lists_presets() -> None:
    assert services.preset_path("sft_tiny").endswith("sft_tiny.yaml")
    with pytest.raises(TrainingConfigInvalid, match="sft_tiny"):
        services.preset_path("nope")


def test_git_sha_is_empty_outside_a_checkout(tmp_path: Path) -> None:
    with override_settings(BASE_DIR=tmp_path):
        assert git_sha() == ""
