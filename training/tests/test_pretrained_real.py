"""A pretrained Hugging Face directory through the documented commands and the API: SFT (LoRA and
full), evaluation, GRPO, DPO, export and load back, and bad directories refused (marker `training`)."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import override_settings

from datasets.models import Dataset
from traces.models import Trace
from traces.preferences import preference_create
from traces.services import trace_create
from training.models import EvaluationRun, RunKind, RunStatus, TrainingRun
from training.tests.engine.hf_models import write_hf_model

pytestmark = [pytest.mark.training, pytest.mark.django_db]

SFT = """
model: {{mode: pretrained, path: {path}, lora: {{enabled: {lora}, rank: 4}}}}
training: {{seed: 2, batch_size: 4, max_steps: 4, max_seq_len: 192, log_every: 1, warmup_steps: 1,
           learning_rate: {{peak: 1.0e-2, end: 1.0e-3}}}}
eval: {{max_new_tokens: 8, batch_size: 8}}
"""
GRPO = """
kind: grpo
training: {seed: 1, batch_size: 2, max_steps: 2, learning_rate: {peak: 1.0e-4}}
grpo: {num_generations: 2, max_prompt_len: 96, max_new_tokens: 128}
eval: {max_new_tokens: 8, batch_size: 8}
"""
DPO = """
kind: dpo
training: {seed: 1, batch_size: 2, max_steps: 2, learning_rate: {peak: 1.0e-4}}
dpo: {beta: 0.1, max_prompt_len: 96, max_response_len: 160}
eval: {max_new_tokens: 8, batch_size: 8}
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
def models_root(tmp_path: Path) -> Iterator[Path]:
    root = tmp_path / "models"
    with override_settings(MODEL_ROOTS=[root]):
        yield root


@pytest.fixture
def llama_dir(arith_dataset: Dataset, models_root: Path) -> Path:
    from training.services import training_records

    records = list(
        training_records(run=TrainingRun(dataset_key=arith_dataset.key, split=""))  # an unsaved run names the dataset
    )
    texts = [r["prompt"] + r["completion"] for r in records]
    return write_hf_model(models_root / "llama3-tiny", "llama3", texts)


@pytest.fixture
def held_eval_set(tmp_path: Path) -> str:
    eval_file = tmp_path / "held.jsonl"
    run("make_eval_set", "arithmetic", "--count", "4", "--seed", "99", "--level", "medium",
        "--exclude-dataset", "arith-1.0", "--output", str(eval_file))  # fmt: skip
    run("import_eval_set", str(eval_file), "--name", "held")
    return "held"


def test_lora_sft_evaluate_grpo_dpo_and_export(llama_dir: Path, held_eval_set: str, tmp_path: Path) -> None:
    import numpy as np

    from training.engine.hf_load import load_pretrained
    from training.engine.sampling import load_run_model
    from training.tests.engine.test_pretrained import logits_of

    last = run("train_sft", "--dataset", "arith-1.0", "--config",
               config(tmp_path, "sft", SFT.format(path=llama_dir, lora="true"))).strip().splitlines()[-1]  # fmt: skip
    sft = TrainingRun.objects.get()
    assert last.startswith(f"run={sft.run_id} status=succeeded steps=4 final_loss=")
    assert sft.recipe == "sft_pretrained_lora"

    out = run("evaluate", "--run", str(sft.run_id), "--eval-set", held_eval_set, "--checkpoint", "final")
    assert out.strip().splitlines()[-1].startswith("accuracy=")
    evaluation = EvaluationRun.objects.get()
    assert evaluation.status == RunStatus.SUCCEEDED and evaluation.results.count() == 4

    run("train_grpo", "--from-run", str(sft.run_id), "--dataset", "arith-1.0", "--config", config(tmp_path, "g", GRPO))
    grpo = TrainingRun.objects.get(kind=RunKind.GRPO)
    assert grpo.status == RunStatus.SUCCEEDED, grpo.error
    assert (Path(grpo.artifacts_path) / "tokenizer" / "tokenizer.json").is_file()

    for chosen in Trace.objects.order_by("created_at")[:2]:
        wrong = trace_create(
            payload={
                "trace_version": "1", "prompt": chosen.prompt, "final_answer": "0",
                "steps": [{"i": 0, "type": "reason", "content": "I guess"}], "meta": {"source": "model"},
            }
        )  # fmt: skip
        preference_create(chosen_id=chosen.id, rejected_id=wrong.id, reason="verifier")
    run("train_dpo", "--from-run", str(sft.run_id), "--preferences", "all", "--config", config(tmp_path, "d", DPO))
    dpo = TrainingRun.objects.get(kind=RunKind.DPO)
    assert dpo.status == RunStatus.SUCCEEDED, dpo.error

    for child in (sft, dpo):
        out_dir = tmp_path / f"export-{child.kind}"
        assert run("export_model", str(child.run_id), "--output", str(out_dir)).strip() == f"exported={out_dir}"
        exported = logits_of(load_pretrained(path=out_dir, dtype="float32"))
        trained = logits_of(load_run_model(run_dir=Path(child.artifacts_path), checkpoint="final"))
        np.testing.assert_allclose(exported, trained, atol=1e-4, rtol=1e-4)
    with pytest.raises(CommandError, match="is not empty"):
        run("export_model", str(sft.run_id), "--output", str(tmp_path / "export-sft"))
    adapter = tmp_path / "adapter"
    assert run("export_model", str(sft.run_id), "--output", str(adapter), "--adapter-only").startswith("exported=")
    assert {"adapter_model.safetensors", "adapter_config.json", "tokenizer.json"} <= {p.name for p in adapter.iterdir()}


def test_full_sft_through_the_api_and_bad_directories(
    llama_dir: Path, models_root: Path, api_client: Any, tmp_path: Path
) -> None:
    import shutil

    from training.services import training_run_execute

    body: dict[str, Any] = {"dataset_key": "arith-1.0", "config": {
        "model": {"mode": "pretrained", "path": str(llama_dir), "lora": {"enabled": False}},
        "training": {"batch_size": 4, "max_steps": 2, "warmup_steps": 1, "max_seq_len": 192},
    }}  # fmt: skip
    response = api_client.post("/api/training/runs", body, format="json")
    assert response.status_code == 202, response.content
    run_obj = TrainingRun.objects.get()
    assert run_obj.recipe == "sft_pretrained_full"
    run_obj = training_run_execute(run=run_obj)
    assert run_obj.status == RunStatus.SUCCEEDED, run_obj.error
    assert run("export_model", str(run_obj.run_id), "--output", str(tmp_path / "full")).startswith("exported=")
    with pytest.raises(CommandError, match="no LoRA adapter to export"):
        run("export_model", str(run_obj.run_id), "--output", str(tmp_path / "adapter"), "--adapter-only")

    broken = models_root / "broken"
    shutil.copytree(llama_dir, broken)
    config_file = broken / "config.json"
    config_file.write_text(json.dumps({**json.loads(config_file.read_text()), "intermediate_size": 80}))
    bad = {**body, "config": {**body["config"], "model": {"mode": "pretrained", "path": str(broken)}}}
    response = api_client.post("/api/training/runs", bad, format="json")
    assert response.status_code == 400
    assert "model.path" in response.content.decode() and "model.safetensors" in response.content.decode()

    outside = tmp_path / "outside"
    shutil.copytree(llama_dir, outside)
    away = {**body, "config": {**body["config"], "model": {"mode": "pretrained", "path": str(outside)}}}
    response = api_client.post("/api/training/runs", away, format="json")
    assert response.status_code == 400 and "MODEL_ROOTS" in response.content.decode()

    (broken / "tokenizer.json").unlink()
    with pytest.raises(CommandError, match=r"broken/tokenizer\.json not found"):
        run("train_sft", "--dataset", "arith-1.0", "--dry-run", "--config",
            config(tmp_path, "bad", SFT.format(path=broken, lora="true")))  # fmt: skip
    assert TrainingRun.objects.count() == 1


def test_export_dataset_in_the_models_chat_template(llama_dir: Path, tmp_path: Path) -> None:
    from transformers import AutoTokenizer

    out = tmp_path / "templated.jsonl"
    run("export_dataset", "arith-1.0", "--format", "prompt_completion", "--template-from", str(llama_dir),
        "--output", str(out))  # fmt: skip
    records = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(records) == 40
    tokenizer = AutoTokenizer.from_pretrained(str(llama_dir), local_files_only=True)
    first = records[0]
    assert first["prompt"].startswith("<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\n")
    assert first["prompt"].endswith("<|start_header_id|>assistant<|end_header_id|>\n\n")
    assert first["completion"].endswith("</answer><|eot_id|>")
    user = first["prompt"].split("<|end_header_id|>\n\n", 1)[1].split("<|eot_id|>")[0]
    assert first["prompt"] == tokenizer.apply_chat_template(
        [{"role": "user", "content": user}], tokenize=False, add_generation_prompt=True
    )
    assert first["metadata"]["chat_template"] == "llama3-tiny"
    chat = run("export_dataset", "arith-1.0", "--format", "chat", "--template-from", str(llama_dir))
    texts = [json.loads(line)["text"] for line in chat.splitlines()]
    assert len(texts) == 40 and all(t.count("<|eot_id|>") == 2 for t in texts)
    with pytest.raises(CommandError, match="not trace"):
        run("export_dataset", "arith-1.0", "--format", "trace", "--template-from", str(llama_dir))
