"""End to end with the real Tunix stack: `make test-training` runs these (marker `training`)."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command

from datasets.models import Dataset
from training.models import EvaluationRun, RunStatus, TrainingMetric, TrainingRun

pytestmark = [pytest.mark.training, pytest.mark.django_db]

CONFIG = """
model:
  mode: tiny
training:
  seed: 7
  batch_size: 8
  max_steps: 40
  max_seq_len: 128
  log_every: 5
  warmup_steps: 5
eval:
  max_new_tokens: 40
  batch_size: 8
"""


def run(*args: Any) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def test_train_sft_trains_for_real_repeatably_and_evaluates(
    arith_dataset: Dataset, tmp_path: Path, artifacts: Path
) -> None:
    config = tmp_path / "small.yaml"
    config.write_text(CONFIG, encoding="utf-8")
    last_lines = [run("train_sft", "--dataset", "arith-1.0", "--config", str(config)).strip().splitlines()[-1]
                  for _ in range(2)]  # fmt: skip
    first, second = TrainingRun.objects.order_by("created_at")
    assert [r.status for r in (first, second)] == [RunStatus.SUCCEEDED, RunStatus.SUCCEEDED]
    assert last_lines[0].startswith(f"run={first.run_id} status=succeeded steps=40 final_loss=")
    curves = [
        list(TrainingMetric.objects.filter(run=r).order_by("step").values_list("step", "loss")) for r in (first, second)
    ]
    assert curves[0] == curves[1]
    losses = [loss for _, loss in curves[0]]
    assert len(losses) >= 8 and losses[-1] is not None and losses[0] is not None
    assert losses[-1] < losses[0] * 0.7
    root = Path(first.artifacts_path)
    assert {"run_manifest.json", "metrics.jsonl", "tokenizer", "checkpoints"} <= {p.name for p in root.iterdir()}
    assert any((root / "checkpoints" / "initial").iterdir()) and any((root / "checkpoints" / "final").iterdir())
    logged = [json.loads(line) for line in (root / "metrics.jsonl").read_text().splitlines()]
    assert [row["step"] for row in logged] == [step for step, _ in curves[0]]

    eval_file = tmp_path / "held.jsonl"
    run("make_eval_set", "arithmetic", "--count", "8", "--seed", "99", "--level", "medium",
        "--exclude-dataset", "arith-1.0", "--output", str(eval_file))  # fmt: skip
    run("import_eval_set", str(eval_file), "--name", "held")
    outputs = [
        run("evaluate", "--run", str(first.run_id), "--eval-set", "held", "--checkpoint", c, "--store-traces", "wrong")
        for c in ("initial", "final")
    ]
    for out in outputs:
        assert out.strip().splitlines()[-1].startswith("accuracy=")
    before, after = EvaluationRun.objects.order_by("created_at")
    assert before.status == after.status == RunStatus.SUCCEEDED
    assert before.results.count() == after.results.count() == 8
    wrong = before.results.filter(correct=False).count() + after.results.filter(correct=False).count()
    from traces.models import Trace

    assert Trace.objects.filter(source="model", status="pending").count() == wrong
    assert before.stored_trace_count + after.stored_trace_count == wrong
    report = run("eval_report", "--before", str(before.id), "--after", str(after.id))
    assert report.startswith("# Evaluation report: held")


def hard_config(tmp_path: Path, **overrides: Any) -> Path:
    """The shipped sft_hard preset with a few sections overridden, so a real run stays a few steps long."""
    import yaml

    data = yaml.safe_load((Path(__file__).resolve().parents[1] / "configs" / "sft_hard.yaml").read_text())
    for section, values in overrides.items():
        data[section].update(values)
    path = tmp_path / "hard.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


@pytest.fixture
def hard_dataset(db: Any, artifacts: Path) -> Dataset:
    from datasets.services import dataset_build
    from traces.generation import traces_generate

    traces_generate(name="arithmetic", count=24, seed=5, level="hard")
    return dataset_build(name="hard", version="1.0", filters={"level": "hard"}, limit=24)


def test_sft_hard_preset_trains_hard_records(hard_dataset: Dataset, tmp_path: Path) -> None:
    config = hard_config(tmp_path, training={"max_steps": 3, "warmup_steps": 1, "log_every": 1, "batch_size": 4})
    last = run("train_sft", "--dataset", "hard-1.0", "--config", str(config)).strip().splitlines()[-1]
    trained = TrainingRun.objects.get()
    assert last.startswith(f"run={trained.run_id} status=succeeded steps=3 final_loss=")
    assert trained.training_config["training"]["max_seq_len"] == 224


def test_sft_hard_refuses_a_completion_over_the_generation_budget(hard_dataset: Dataset, tmp_path: Path) -> None:
    from django.core.management.base import CommandError

    config = hard_config(tmp_path, training={"max_steps": 3, "warmup_steps": 1}, eval={"max_new_tokens": 150})
    with pytest.raises(CommandError, match=r"has a completion of \d+ tokens, more than the generation budget"):
        run("train_sft", "--dataset", "hard-1.0", "--config", str(config))
    failed = TrainingRun.objects.get()
    assert failed.status == RunStatus.FAILED and "(id " in failed.error
    assert not (Path(failed.artifacts_path) / "checkpoints").exists()
