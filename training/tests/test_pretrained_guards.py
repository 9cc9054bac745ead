"""What runs without the training stack around pretrained models: the directory checks behind the API's
400s, and ``export_model``'s refusals (the engine replaced by a stand-in)."""

from __future__ import annotations

import io
import json
import struct
import sys
import types
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import override_settings

from training.models import RunStatus, TrainingRun
from training.tests.factories import TrainingRunFactory

pytestmark = pytest.mark.django_db

LAYERS, HIDDEN, HEADS, HEAD_DIM, KV, FFN, VOCAB = 1, 8, 2, 4, 1, 16, 12


def write_safetensors(path: Path, shapes: dict[str, tuple[int, ...]]) -> None:
    """A float32 safetensors file of zeros, written byte by byte (no library)."""
    header: dict[str, Any] = {}
    offset = 0
    for name, shape in shapes.items():
        size = 4
        for dim in shape:
            size *= dim
        header[name] = {"dtype": "F32", "shape": list(shape), "data_offsets": [offset, offset + size]}
        offset += size
    raw = json.dumps(header).encode()
    path.write_bytes(struct.pack("<Q", len(raw)) + raw + bytes(offset))


def llama_dir(root: Path, **config: Any) -> Path:
    root.mkdir(parents=True)
    fields = {
        "model_type": "llama", "vocab_size": VOCAB, "hidden_size": HIDDEN, "intermediate_size": FFN,
        "num_hidden_layers": LAYERS, "num_attention_heads": HEADS, "num_key_value_heads": KV, "head_dim": HEAD_DIM,
        "tie_word_embeddings": True, **config,
    }  # fmt: skip
    (root / "config.json").write_text(json.dumps(fields))
    vocab = {chr(ord("a") + i): i for i in range(VOCAB - 2)}
    tokenizer = {"model": {"type": "WordLevel", "vocab": vocab}, "added_tokens": [{"id": VOCAB - 1, "content": "<e>"}]}
    (root / "tokenizer.json").write_text(json.dumps(tokenizer))
    (root / "tokenizer_config.json").write_text(json.dumps({"chat_template": "{{ messages }}", "eos_token": "<e>"}))
    p = "model.layers.0."
    write_safetensors(
        root / "model.safetensors",
        {
            "model.embed_tokens.weight": (VOCAB, HIDDEN),
            "model.norm.weight": (HIDDEN,),
            p + "self_attn.q_proj.weight": (HEADS * HEAD_DIM, HIDDEN),
            p + "self_attn.k_proj.weight": (KV * HEAD_DIM, HIDDEN),
            p + "self_attn.v_proj.weight": (KV * HEAD_DIM, HIDDEN),
            p + "self_attn.o_proj.weight": (HIDDEN, HEADS * HEAD_DIM),
            p + "mlp.gate_proj.weight": (FFN, HIDDEN),
            p + "mlp.up_proj.weight": (FFN, HIDDEN),
            p + "mlp.down_proj.weight": (HIDDEN, FFN),
        },
    )
    return root


def test_a_hand_written_directory_passes_inspection(tmp_path: Path) -> None:
    from training.engine.hf import inspect_checkpoint

    checkpoint = inspect_checkpoint(llama_dir(tmp_path / "m"))
    assert (checkpoint.family, checkpoint.head_dim, checkpoint.tied) == ("llama3", HEAD_DIM, True)


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"model_type": "mistral"}, "model_type 'mistral' is not supported"),
        ({"intermediate_size": FFN + 1}, "tensor model.layers.0.mlp.gate_proj.weight has shape"),
        ({"tie_word_embeddings": False}, "tensor lm_head.weight is missing"),
        ({"vocab_size": VOCAB - 1}, "tensor model.embed_tokens.weight has shape"),
        ({"num_hidden_layers": "two"}, "num_hidden_layers must be a positive integer"),
    ],
)
def test_the_api_refuses_a_bad_pretrained_directory_with_400(
    api_client: Any, arith_dataset: Any, tmp_path: Path, config: dict[str, Any], message: str
) -> None:
    root = tmp_path / "models"
    model = llama_dir(root / "bad", **config)
    body = {"dataset_key": "arith-1.0", "config": {"model": {"mode": "pretrained", "path": str(model)}}}
    with override_settings(MODEL_ROOTS=[root]):
        response = api_client.post("/api/training/runs", body, format="json")
    assert response.status_code == 400
    text = response.content.decode()
    assert "model.path" in text and message in text and str(model) in text
    assert not TrainingRun.objects.exists()


def test_the_api_refuses_a_directory_outside_model_roots(api_client: Any, arith_dataset: Any, tmp_path: Path) -> None:
    model = llama_dir(tmp_path / "elsewhere")
    body = {"dataset_key": "arith-1.0", "config": {"model": {"mode": "pretrained", "path": str(model)}}}
    with override_settings(MODEL_ROOTS=[tmp_path / "models"]):
        response = api_client.post("/api/training/runs", body, format="json")
    assert response.status_code == 400 and "model.path must be a path under MODEL_ROOTS" in response.content.decode()


def test_dry_run_names_the_missing_file(arith_dataset: Any, tmp_path: Path) -> None:
    model = llama_dir(tmp_path / "m")
    (model / "tokenizer_config.json").unlink()
    config = tmp_path / "c.yaml"
    config.write_text(f"model: {{mode: pretrained, path: {model}}}\n")
    with pytest.raises(CommandError, match=r"m/tokenizer_config\.json not found"):
        call_command("train_sft", "--dataset", "arith-1.0", "--config", str(config), "--dry-run", stdout=io.StringIO())
    assert not TrainingRun.objects.exists()


def export(*args: str) -> str:
    out = io.StringIO()
    call_command("export_model", *args, stdout=out)
    return out.getvalue()


@pytest.fixture
def stand_in_export(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """``training.engine.export`` replaced: records its calls, refuses an output named ``taken``."""
    from training.engine.hf import CheckpointError

    calls: list[dict[str, Any]] = []

    def export_run(**kwargs: Any) -> Path:
        if kwargs["out_dir"].name == "taken":
            raise CheckpointError(f"output directory {kwargs['out_dir']} is not empty")
        calls.append(kwargs)
        return Path(kwargs["out_dir"])

    module = types.ModuleType("training.engine.export")
    module.export_run = export_run  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "training.engine.export", module)
    monkeypatch.setattr("training.management.commands.export_model.ensure_training_stack", lambda: None)
    return calls


def test_export_model_passes_the_run_and_options(stand_in_export: list[dict[str, Any]], tmp_path: Path) -> None:
    run = TrainingRunFactory.create()
    assert export(str(run.run_id), "--output", str(tmp_path / "out")).strip() == f"exported={tmp_path / 'out'}"
    export(str(run.run_id), "--output", str(tmp_path / "adapter"), "--adapter-only", "--checkpoint", "initial")
    first, second = stand_in_export
    assert first["run_dir"] == Path(run.artifacts_path) and first["checkpoint"] == "final"
    assert not first["adapter_only"] and second["adapter_only"] and second["checkpoint"] == "initial"
    with pytest.raises(CommandError, match="is not empty"):
        export(str(run.run_id), "--output", str(tmp_path / "taken"))


@pytest.mark.parametrize("status", [RunStatus.PENDING, RunStatus.RUNNING, RunStatus.FAILED])
def test_export_model_refuses_a_run_without_trained_weights(
    stand_in_export: list[dict[str, Any]], tmp_path: Path, status: str
) -> None:
    run = TrainingRunFactory.create(status=status)
    with pytest.raises(CommandError, match=f"Training run {run.run_id} has no trained weights"):
        export(str(run.run_id), "--output", str(tmp_path / "out"))
    assert stand_in_export == []


def test_export_model_without_the_stack_says_how_to_install(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from training.engine.stack import TrainingStackMissing

    def missing() -> None:
        raise TrainingStackMissing("training stack not installed (missing: jax); run: pip install")

    monkeypatch.setattr("training.management.commands.export_model.ensure_training_stack", missing)
    with pytest.raises(CommandError, match="training stack not installed"):
        export(str(TrainingRunFactory().run_id), "--output", str(tmp_path / "out"))
