"""GRPO and DPO with the real Tunix stack, from a real SFT run: `make test-training` (marker `training`)."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command

from datasets.models import Dataset
from traces.models import Trace
from traces.preferences import preference_create
from traces.services import trace_create
from training.models import EvaluationRun, RunKind, RunStatus, TrainingMetric, TrainingRun

pytestmark = [pytest.mark.training, pytest.mark.django_db]

SFT = """
training: {seed: 7, batch_size: 8, max_steps: 30, max_seq_len: 128, log_every: 10, warmup_steps: 5}
eval: {max_new_tokens: 96, batch_size: 8}
"""
GRPO = """
kind: grpo
training: {seed: 1, batch_size: 4, max_steps: 3, learning_rate: {peak: 1.0e-4}}
grpo: {num_generations: 4, max_prompt_len: 32, max_new_tokens: 96}
eval: {max_new_tokens: 96, batch_size: 8}
"""
DPO = """
kind: dpo
training: {seed: 1, batch_size: 2, max_steps: 3, learning_rate: {peak: 1.0e-4}}
dpo: {beta: 0.1, max_prompt_len: 32, max_response_len: 128}
eval: {max_new_tokens: 96, batch_size: 8}
"""


def run(*args: Any) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def config(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / f"{name}.yaml"
    path.write_text(text, encoding="utf-8")
    return str(path)


@pytest.fixture
def sft_run(arith_dataset: Dataset, tmp_path: Path) -> TrainingRun:
    run("train_sft", "--dataset", "arith-1.0", "--config", config(tmp_path, "sft", SFT))
    eval_file = tmp_path / "held.jsonl"
    run("make_eval_set", "arithmetic", "--count", "8", "--seed", "99", "--level", "medium",
        "--exclude-dataset", "arith-1.0", "--output", str(eval_file))  # fmt: skip
    run("import_eval_set", str(eval_file), "--name", "held")
    return TrainingRun.objects.get()


def evaluate(run_id: Any, checkpoint: str) -> EvaluationRun:
    run("evaluate", "--run", str(run_id), "--eval-set", "held", "--checkpoint", checkpoint)
    return EvaluationRun.objects.order_by("-created_at").first()  # type: ignore[return-value]


def test_grpo_trains_from_the_sft_run_repeatably_and_evaluates(sft_run: TrainingRun, tmp_path: Path) -> None:
    grpo = config(tmp_path, "grpo", GRPO)
    lines = [run("train_grpo", "--from-run", str(sft_run.run_id), "--dataset", "arith-1.0", "--config", grpo)
             for _ in range(2)]  # fmt: skip
    first, second = TrainingRun.objects.filter(kind=RunKind.GRPO).order_by("created_at")
    assert lines[0].strip().splitlines()[-1].startswith(f"run={first.run_id} status=succeeded steps=3 final_reward=")
    assert first.parent_id == sft_run.run_id and first.final_reward is not None
    rows = [list(TrainingMetric.objects.filter(run=r).order_by("step").values_list("step", "values"))
            for r in (first, second)]  # fmt: skip
    assert [step for step, _ in rows[0]] == [1, 2, 3]
    assert rows[0] == rows[1], "same seed, data and parent: the same rewards, KL and losses"
    for _, values in rows[0]:
        assert {"reward", "reward_check_answer", "reward_match_format_exactly", "kl", "loss", "completion_length",
                "sampled_correct"} <= set(values)  # fmt: skip
        parts = sum(values[f"reward_{n}"] for n in first.training_config["grpo"]["rewards"])
        assert values["reward"] == pytest.approx(parts)
    root = Path(first.artifacts_path)
    assert any((root / "checkpoints" / "initial").iterdir()) and any((root / "checkpoints" / "final").iterdir())
    manifest = json.loads((root / "run_manifest.json").read_text())
    assert manifest["kind"] == "grpo" and manifest["parent_run_id"] == str(sft_run.run_id)
    assert len((root / "metrics.jsonl").read_text().splitlines()) == 3
    # The child's initial weights are its parent's final ones: the same greedy answers.
    parent_final, child_initial = evaluate(sft_run.run_id, "final"), evaluate(first.run_id, "initial")
    outputs = [list(e.results.order_by("position").values_list("generated_response", flat=True))
               for e in (parent_final, child_initial)]  # fmt: skip
    assert outputs[0] == outputs[1]
    after = evaluate(first.run_id, "final")
    assert after.status == RunStatus.SUCCEEDED and after.results.count() == 8


def test_dpo_trains_on_preferences_and_records_margin_and_accuracy(sft_run: TrainingRun, tmp_path: Path) -> None:
    for chosen in Trace.objects.order_by("created_at")[:4]:
        wrong = trace_create(
            payload={
                "trace_version": "1", "prompt": chosen.prompt, "final_answer": "0",
                "steps": [{"i": 0, "type": "reason", "content": "I guess"}], "meta": {"source": "model"},
            }
        )  # fmt: skip
        preference_create(chosen_id=chosen.id, rejected_id=wrong.id, reason="verifier")
    out = run("train_dpo", "--from-run", str(sft_run.run_id), "--preferences", "all",
              "--config", config(tmp_path, "dpo", DPO))  # fmt: skip
    child = TrainingRun.objects.get(kind=RunKind.DPO)
    assert out.strip().splitlines()[-1].startswith(f"run={child.run_id} status=succeeded steps=3 final_reward=")
    assert child.record_count == 4 and child.preferences == "all"
    values = list(TrainingMetric.objects.filter(run=child).order_by("step").values_list("values", flat=True))
    assert len(values) == 3 and all({"margin", "preference_accuracy", "loss"} <= set(v) for v in values)
    assert all(0.0 <= v["preference_accuracy"] <= 1.0 for v in values)
    assert child.final_reward == values[-1]["margin"]
    after = evaluate(child.run_id, "final")
    assert after.status == RunStatus.SUCCEEDED and after.results.count() == 8


def test_the_step_reward_and_step_level_pairs_train(sft_run: TrainingRun, tmp_path: Path) -> None:
    grpo = GRPO.replace("max_steps: 3", "max_steps: 2").replace(
        "max_new_tokens: 96}", "max_new_tokens: 96, rewards: [check_answer, check_steps]}", 1
    )
    run("train_grpo", "--from-run", str(sft_run.run_id), "--dataset", "arith-1.0",
        "--config", config(tmp_path, "grpo_steps", grpo))  # fmt: skip
    child = TrainingRun.objects.get(kind=RunKind.GRPO)
    values = list(TrainingMetric.objects.filter(run=child).order_by("step").values_list("values", flat=True))
    assert len(values) == 2 and all(0.0 <= v["reward_check_steps"] <= 3.0 for v in values)
    assert all(v["reward"] == pytest.approx(v["reward_check_answer"] + v["reward_check_steps"]) for v in values)
    for chosen in Trace.objects.order_by("created_at")[:4]:
        lines: Any = [dict(step) for step in chosen.steps]
        lines[-1]["content"] = "Combine: that makes 0."
        wrong = trace_create(
            payload={"trace_version": "1", "prompt": chosen.prompt, "final_answer": "0", "steps": lines,
                     "meta": {"source": "model"}}
        )  # fmt: skip
        preference_create(chosen_id=chosen.id, rejected_id=wrong.id, reason="last step wrong")
    dpo = DPO.replace("max_response_len: 128}", "max_response_len: 48, granularity: step}").replace(
        "max_prompt_len: 32", "max_prompt_len: 160"
    )
    run("train_dpo", "--from-run", str(sft_run.run_id), "--preferences", "all",
        "--config", config(tmp_path, "dpo_steps", dpo))  # fmt: skip
    pairs = TrainingRun.objects.get(kind=RunKind.DPO)
    assert pairs.status == RunStatus.SUCCEEDED and pairs.training_config["dpo"]["granularity"] == "step"
    assert TrainingMetric.objects.filter(run=pairs).count() == 3


def test_orpo_from_sampled_generations_trains_without_a_reference(sft_run: TrainingRun, tmp_path: Path) -> None:
    run("evaluate", "--run", str(sft_run.run_id), "--eval-set", "held", "--samples", "2", "--temperature", "1.0",
        "--store-traces", "all")  # fmt: skip
    sampled = EvaluationRun.objects.get()
    assert sampled.status == RunStatus.SUCCEEDED and sampled.results.count() == 16
    drawn = Trace.objects.filter(source="model")
    assert drawn.count() == 16 and {t.meta["sample"] for t in drawn} == {0, 1}
    # Each held-out prompt's expected answer, written as a right trace, over the model's first draw.
    for model_trace in drawn.filter(meta__sample=0):
        right = trace_create(
            payload={
                "trace_version": "1", "prompt": model_trace.prompt, "final_answer": model_trace.meta["expected_answer"],
                "steps": [{"i": 0, "type": "reason", "content": "Worked out."}], "meta": {"source": "curator"},
            }
        )  # fmt: skip
        preference_create(chosen_id=right.id, rejected_id=model_trace.id, reason="verifier")
    orpo = DPO.replace("beta: 0.1,", "algorithm: orpo, lambda_orpo: 0.5,")
    run(
        "train_dpo",
        "--from-run",
        str(sft_run.run_id),
        "--preferences",
        "all",
        "--config",
        config(tmp_path, "orpo", orpo),
    )
    child = TrainingRun.objects.get(kind=RunKind.DPO)
    assert child.status == RunStatus.SUCCEEDED and child.training_config["dpo"]["algorithm"] == "orpo"
    values = list(TrainingMetric.objects.filter(run=child).order_by("step").values_list("values", flat=True))
    assert len(values) == 3 and all({"loss", "margin", "logp_chosen", "logp_rejected"} <= set(v) for v in values)
    assert all(v["margin"] == pytest.approx(0.5 * (v["logp_chosen"] - v["logp_rejected"]), rel=1e-4) for v in values)
