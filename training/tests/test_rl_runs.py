"""GRPO and DPO runs around the engines: commands, API, data, lineage and per-step metrics (fake engines)."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from rest_framework.test import APIClient

from datasets.models import Dataset
from traces.models import Trace
from traces.preferences import preference_create
from traces.services import trace_create
from training import tasks
from training.models import EvaluationRun, RunKind, RunStatus, TrainingMetric, TrainingRun

pytestmark = pytest.mark.django_db
GRPO = "training/configs/grpo_tiny.yaml"
DPO = "training/configs/dpo_tiny.yaml"


def run(*args: Any) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


@pytest.fixture
def sft_run(arith_dataset: Dataset, tiny_config: Path, fake_engine: Any) -> TrainingRun:
    fake_engine()
    run("train_sft", "--dataset", "arith-1.0", "--config", str(tiny_config))
    return TrainingRun.objects.get()


def test_train_grpo_starts_from_the_parent_and_records_rewards_per_step(sft_run: TrainingRun, fake_engine: Any) -> None:
    out = run("train_grpo", "--from-run", str(sft_run.run_id), "--dataset", "arith-1.0", "--config", GRPO)
    child = TrainingRun.objects.get(kind=RunKind.GRPO)
    assert out.strip().splitlines()[-1] == f"run={child.run_id} status=succeeded steps=3 final_reward=1.5"
    assert "  step 3: reward 1.5, kl 0.03, loss 0.3333\n" in out
    assert (child.parent_id, child.status, child.recipe, child.dataset_key) == (
        sft_run.run_id, RunStatus.SUCCEEDED, "grpo", "arith-1.0"
    )  # fmt: skip
    seen = fake_engine.seen[-1]
    assert seen["parent_dir"] == Path(sft_run.artifacts_path)
    assert len(seen["records"]) == 40 == child.record_count
    first = seen["records"][0]
    trace = Trace.objects.get(id=first["id"])
    assert first["answer"] == trace.final_answer and first["prompt"].endswith("<start_of_turn>model\n")
    rows = list(TrainingMetric.objects.filter(run=child).order_by("step").values_list("step", "values"))
    assert [step for step, _ in rows] == [1, 2, 3] and rows[-1][1]["reward"] == 1.5 and rows[0][1]["kl"] == 0.01
    logged = [json.loads(line) for line in (Path(child.artifacts_path) / "metrics.jsonl").read_text().splitlines()]
    assert [line["reward"] for line in logged] == [0.5, 1.0, 1.5]
    manifest = json.loads((Path(child.artifacts_path) / "run_manifest.json").read_text())
    assert manifest["kind"] == "grpo" and manifest["parent_run_id"] == str(sft_run.run_id)
    assert manifest["final_reward"] == 1.5 and manifest["training_config"]["grpo"]["num_generations"] == 4


def test_train_grpo_refuses_a_parent_that_did_not_train(arith_dataset: Dataset, fake_engine: Any) -> None:
    fake_engine()
    dry = TrainingRun.objects.create(dataset_key="arith-1.0", recipe="sft_tiny", dry_run=True, status="succeeded")
    for parent, message in ((dry.run_id, "is a dry run"), ("not-a-run", "not found")):
        with pytest.raises(CommandError, match=message):
            run("train_grpo", "--from-run", str(parent), "--dataset", "arith-1.0", "--config", GRPO)
    assert not TrainingRun.objects.filter(kind=RunKind.GRPO).exists()


def test_train_grpo_refuses_a_config_of_another_kind(sft_run: TrainingRun) -> None:
    with pytest.raises(CommandError, match=r"config is for a dpo run, not grpo \(set kind: grpo\)"):
        run("train_grpo", "--from-run", str(sft_run.run_id), "--dataset", "arith-1.0", "--config", DPO)
    with pytest.raises(CommandError, match="config is for a sft run, not grpo"):
        run("train_grpo", "--from-run", str(sft_run.run_id), "--dataset", "arith-1.0",
            "--config", "training/configs/sft_tiny.yaml")  # fmt: skip


def test_grpo_dry_run_checks_that_the_rewards_verify_the_traces(sft_run: TrainingRun, tmp_path: Path) -> None:
    out = run("train_grpo", "--from-run", str(sft_run.run_id), "--dataset", "arith-1.0", "--config", GRPO, "--dry-run")
    assert "Dry run OK: grpo config valid, 40 record(s) checked" in out
    assert out.strip().splitlines()[-1].endswith("status=succeeded steps=0")
    small = tmp_path / "small.yaml"
    small.write_text("kind: grpo\ntraining: {batch_size: 2}\n", encoding="utf-8")
    with pytest.raises(CommandError, match=r"micro_batch_size \(2\) is smaller than grpo.num_generations \(4\)"):
        run("train_grpo", "--from-run", str(sft_run.run_id), "--dataset", "arith-1.0", "--config", str(small))
    assert TrainingRun.objects.filter(kind=RunKind.GRPO).count() == 1, "refused before a run is recorded"


def test_grpo_refuses_a_dataset_whose_traces_the_reward_cannot_verify(sft_run: TrainingRun, db: Any) -> None:
    from datasets.services import dataset_build

    trace = trace_create(
        payload={
            "trace_version": "1", "prompt": "What is 2 + 2?", "final_answer": "5",
            "steps": [{"i": 0, "type": "reason", "content": "2 and 2 make 5"}], "meta": {"cohort": "wrong"},
        }
    )  # fmt: skip
    dataset_build(name="wrong", version="1", filters={"cohort": "wrong"}, limit=5)
    with pytest.raises(CommandError, match=rf"reward check_answer cannot verify record 0 \(id {trace.id}\)"):
        run("train_grpo", "--from-run", str(sft_run.run_id), "--dataset", "wrong-1", "--config", GRPO, "--dry-run")


def _pairs(count: int) -> None:
    traces = list(Trace.objects.order_by("created_at")[: 2 * count])
    for chosen, rejected in zip(traces[0::2], traces[1::2], strict=True):
        wrong = trace_create(
            payload={
                "trace_version": "1", "prompt": chosen.prompt, "final_answer": "0",
                "steps": [{"i": 0, "type": "reason", "content": "a guess"}], "meta": {"source": "model"},
            }
        )  # fmt: skip
        preference_create(chosen_id=chosen.id, rejected_id=wrong.id, reason="verifier")
        del rejected


def test_train_dpo_trains_on_the_stored_pairs(sft_run: TrainingRun, fake_engine: Any) -> None:
    with pytest.raises(CommandError, match="no preference pairs"):
        run("train_dpo", "--from-run", str(sft_run.run_id), "--preferences", "all", "--config", DPO, "--dry-run")
    _pairs(3)
    out = run("train_dpo", "--from-run", str(sft_run.run_id), "--preferences", "all", "--config", DPO)
    child = TrainingRun.objects.get(kind=RunKind.DPO, dry_run=False)
    assert out.strip().splitlines()[-1] == f"run={child.run_id} status=succeeded steps=3 final_reward=1.5"
    records = fake_engine.seen[-1]["records"]
    assert len(records) == 3 == child.record_count and child.preferences == "all"
    assert {"prompt", "chosen", "rejected"} <= set(records[0]) and records[0]["rejected"].startswith("<reasoning>")
    margins = list(TrainingMetric.objects.filter(run=child).order_by("step").values_list("values__margin", flat=True))
    assert margins == [0.5, 1.0, 1.5]
    with pytest.raises(CommandError, match="Dataset 'nope' not found|nope"):
        run("train_dpo", "--from-run", str(sft_run.run_id), "--preferences", "nope", "--config", DPO)


def test_a_failing_rl_engine_leaves_a_failed_run(sft_run: TrainingRun, fake_engine: Any) -> None:
    from training.engine.config import ConfigError

    fake_engine(fail=ConfigError("record 3 has a prompt of 40 tokens"))
    with pytest.raises(CommandError, match="record 3 has a prompt of 40 tokens"):
        run("train_grpo", "--from-run", str(sft_run.run_id), "--dataset", "arith-1.0", "--config", GRPO)
    child = TrainingRun.objects.get(kind=RunKind.GRPO)
    assert child.status == RunStatus.FAILED and "40 tokens" in child.error


def test_the_api_queues_grpo_and_dpo_runs_for_the_worker(
    sft_run: TrainingRun, api_client: APIClient, fake_engine: Any, django_capture_on_commit_callbacks: Any
) -> None:
    body = {"kind": "grpo", "dataset_key": "arith-1.0", "from_run": str(sft_run.run_id)}
    with django_capture_on_commit_callbacks(execute=False):
        response = api_client.post("/api/training/runs", body, format="json")
    assert response.status_code == 202, response.content
    data = response.json()
    assert (data["kind"], data["parent_run_id"], data["status"], data["final_reward"]) == (
        "grpo", str(sft_run.run_id), "pending", None
    )  # fmt: skip
    assert data["training_config"]["kind"] == "grpo"
    assert tasks.train.call(run_id=data["run_id"]) == "succeeded"
    detail = api_client.get(f"/api/training/runs/{data['run_id']}").json()
    assert detail["final_reward"] == 1.5 and detail["metrics"][-1]["values"]["reward"] == 1.5


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        ({"kind": "grpo", "dataset_key": "arith-1.0"}, "from_run", "This field is required for a grpo run."),
        ({"kind": "dpo", "from_run": "00000000-0000-0000-0000-000000000000"}, "preferences", "required for a dpo"),
        ({"kind": "grpo", "dataset_key": "arith-1.0", "from_run": "RUN", "preset": "sft_tiny"}, "preset", "Not a grpo"),
        ({"kind": "ppo", "dataset_key": "arith-1.0"}, "kind", "not a valid choice"),
        ({"kind": "dpo", "from_run": "00000000-0000-0000-0000-000000000000", "preferences": "all"}, "from_run",
         "not found"),
    ],
)  # fmt: skip
def test_the_api_refuses_bad_rl_runs_by_field(
    sft_run: TrainingRun, api_client: APIClient, body: dict[str, Any], field: str, message: str
) -> None:
    body = {k: (str(sft_run.run_id) if v == "RUN" else v) for k, v in body.items()}
    response = api_client.post("/api/training/runs", body, format="json")
    assert response.status_code == 400, response.content
    assert message in json.dumps(response.json()) and field in json.dumps(response.json())
    assert not TrainingRun.objects.exclude(kind=RunKind.SFT).exists()


def test_evaluating_a_child_run_checks_the_whole_lineage_for_contamination(
    sft_run: TrainingRun, fake_engine: Any
) -> None:
    from training.services import eval_set_import, evaluation_create

    _pairs(2)
    run("train_dpo", "--from-run", str(sft_run.run_id), "--preferences", "all", "--config", DPO)
    dpo = TrainingRun.objects.get(kind=RunKind.DPO)
    grandchild = TrainingRun.objects.create(dataset_key="", recipe="grpo", kind=RunKind.GRPO, parent=dpo,
                                            status="succeeded")  # fmt: skip
    seen = Trace.objects.filter(preferred_in__isnull=False).first()
    assert seen is not None
    leaked = eval_set_import(name="leaked", items=[{"id": "1", "prompt": seen.prompt, "expected_answer": "1"}])
    clean = eval_set_import(name="clean", items=[{"id": "1", "prompt": "What is 1000 + 1?", "expected_answer": "1001"}])
    with pytest.raises(Exception, match=rf"with the preference pairs \(run {dpo.run_id} trained on it\)"):
        evaluation_create(training_run=grandchild, eval_set=leaked, checkpoint="final")
    unpaired = Trace.objects.filter(preferred_in__isnull=True, source="arithmetic").values_list("prompt", flat=True)
    parent_only = eval_set_import(
        name="parent-only", items=[{"id": "1", "prompt": unpaired[0], "expected_answer": "1"}]
    )
    with pytest.raises(Exception, match=r"shares 1 prompt\(s\) with dataset 'arith-1.0': "):
        evaluation_create(training_run=grandchild, eval_set=parent_only, checkpoint="final")
    assert evaluation_create(training_run=dpo, eval_set=clean, checkpoint="final").status == RunStatus.PENDING


def test_train_dpo_on_the_pairs_between_one_evaluations_generations(sft_run: TrainingRun, fake_engine: Any) -> None:
    from training.services import eval_set_import, evaluation_create

    held_out = eval_set_import(name="held", items=[{"id": "1", "prompt": "What is 1000 + 1?", "expected_answer": "1"}])
    evaluation = EvaluationRun.objects.create(training_run=sft_run, eval_set=held_out, store_traces="all")
    _pairs(2)  # pairs of a curated trace over a model's: in no evaluation
    generations = [
        trace_create(payload={
            "trace_version": "1", "prompt": "What is 7 + 5?", "final_answer": answer,
            "steps": [{"i": 0, "type": "generated", "content": f"7 + 5 = {answer}."}],
            "meta": {"source": "model", "evaluation_run_id": str(evaluation.id)},
        })
        for answer in ("12", "13")
    ]  # fmt: skip
    preference_create(chosen_id=generations[0].id, rejected_id=generations[1].id, reason="mined")
    given = f"evaluation:{str(evaluation.id).upper()}"
    run("train_dpo", "--from-run", str(sft_run.run_id), "--preferences", given, "--config", DPO)
    child = TrainingRun.objects.get(kind=RunKind.DPO)
    assert child.preferences == f"evaluation:{evaluation.id}" and child.record_count == 1
    assert "What is 7 + 5?" in fake_engine.seen[-1]["records"][0]["prompt"]  # not the curated pairs
    sampled_again = eval_set_import(
        name="again", items=[{"id": "1", "prompt": "What is 7 + 5?", "expected_answer": "12"}]
    )
    with pytest.raises(Exception, match=r"with the preference pairs \(run .* trained on it\)"):
        evaluation_create(training_run=child, eval_set=sampled_again, checkpoint="final")
    assert evaluation_create(training_run=child, eval_set=held_out, checkpoint="final").status == RunStatus.PENDING
    for bad in ("evaluation:nope", "evaluation:00000000-0000-0000-0000-000000000000"):
        with pytest.raises(CommandError, match="give evaluation:<id> of an evaluation"):
            run("train_dpo", "--from-run", str(sft_run.run_id), "--preferences", bad, "--config", DPO)
