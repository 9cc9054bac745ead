from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from training.engine.config import parse_config
from training.tests.engine.conftest import addition_records

pytestmark = pytest.mark.training


def write_upstream_checkpoint(model: Any, path: Path) -> None:
    """Save a Gemma3 model in the google-deepmind/gemma orbax layout that Tunix's loader reads."""
    import numpy as np
    import orbax.checkpoint as ocp
    from flax import nnx, traverse_util

    flat = traverse_util.flatten_dict(nnx.to_pure_dict(nnx.state(model, nnx.Param)))
    out: dict[str, dict[str, Any]] = {}
    gating: dict[int, dict[str, Any]] = {}
    for key, value in flat.items():
        value = np.asarray(value)
        if key[0] in ("embedder", "final_norm"):
            out.setdefault(f"transformer/{key[0]}", {})[key[-1]] = value
            continue
        layer, modules, name = int(key[1]), key[2:-1], key[-1]
        if modules in (("mlp", "gate_proj"), ("mlp", "up_proj")):
            gating.setdefault(layer, {})[modules[1]] = value
        elif modules == ("mlp", "down_proj"):
            out[f"transformer/layer_{layer}/mlp/linear"] = {"w": value}
        else:
            out.setdefault(f"transformer/layer_{layer}/" + "/".join(modules), {})[name] = value
    for layer, parts in gating.items():
        out[f"transformer/layer_{layer}/mlp/gating_einsum"] = {
            "w": np.stack([parts["gate_proj"].T, parts["up_proj"].T])
        }
    checkpointer = ocp.StandardCheckpointer()
    checkpointer.save(path, out)
    checkpointer.wait_until_finished()


@pytest.fixture(scope="module")
def base_model_dir(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    from training.engine.config import TinyModelConfig
    from training.engine.data import record_texts
    from training.engine.models import init_tiny_model, tiny_config_dict
    from training.engine.tokenizer import fit_tokenizer, load_tokenizer

    root = tmp_path_factory.mktemp("base")
    tokenizer = fit_tokenizer(texts=record_texts(addition_records(40)), out_dir=root, vocab_size=96)
    vocab = load_tokenizer(path=tokenizer).get_piece_size()
    tiny = TinyModelConfig(embed_dim=64, hidden_dim=128, num_heads=2, head_dim=32)
    fields = tiny_config_dict(tiny=tiny, vocab_size=vocab)
    (root / "config.json").write_text(json.dumps(fields))
    model = init_tiny_model(fields=fields, seed=3)
    write_upstream_checkpoint(model, root / "ckpt")
    return {"root": root, "tokenizer": tokenizer, "fields": fields, "model": model}


def checkpoint_config(base: dict[str, Any], **training: Any) -> Any:
    root = base["root"]
    return parse_config(
        {
            "model": {
                "mode": "checkpoint",
                "checkpoint_path": str(root / "ckpt"),
                "model_config_path": str(root / "config.json"),
                "tokenizer_path": str(base["tokenizer"]),
                "lora": {"rank": 4, "alpha": 8.0},
            },
            "training": {"batch_size": 8, "max_steps": 12, "warmup_steps": 2, "max_seq_len": 96, **training},
        }
    )


def test_load_base_model_restores_every_parameter(base_model_dir: dict[str, Any]) -> None:
    import jax
    import numpy as np
    from flax import nnx

    from training.engine.models import load_base_model

    loaded = load_base_model(
        fields=base_model_dir["fields"], checkpoint_path=base_model_dir["root"] / "ckpt", dtype="float32"
    )
    want = nnx.to_pure_dict(nnx.state(base_model_dir["model"], nnx.Param))
    got = nnx.to_pure_dict(nnx.state(loaded, nnx.Param))
    assert jax.tree.structure(want) == jax.tree.structure(got)
    for a, b in zip(jax.tree.leaves(want), jax.tree.leaves(got), strict=True):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))


def test_load_errors(tmp_path: Path, base_model_dir: dict[str, Any]) -> None:
    from training.engine.models import ModelLoadError, load_base_model, read_model_config_file

    with pytest.raises(ModelLoadError, match="base checkpoint directory not found"):
        load_base_model(fields=base_model_dir["fields"], checkpoint_path=tmp_path / "nope", dtype="float32")
    bad = tmp_path / "config.json"
    bad.write_text(json.dumps({"num_layers": 2, "colour": "red"}))
    with pytest.raises(ModelLoadError, match="unknown model config key"):
        read_model_config_file(bad)


def test_lora_sft_from_checkpoint_then_sample(tmp_path: Path, base_model_dir: dict[str, Any]) -> None:
    import jax
    import numpy as np
    from flax import nnx

    from training.engine.sampling import generate, load_run_model
    from training.engine.sft import run_sft

    result = run_sft(records=addition_records(32), config=checkpoint_config(base_model_dir), run_dir=tmp_path)
    assert result.steps == 12
    assert result.losses[-1] < result.losses[0]
    assert (tmp_path / "tokenizer" / "tokenizer.model").read_bytes() == base_model_dir["tokenizer"].read_bytes()
    spec = json.loads((tmp_path / "model.json").read_text())
    assert spec["mode"] == "checkpoint"
    assert spec["lora"]["rank"] == 4

    initial = load_run_model(run_dir=tmp_path, checkpoint="initial")
    final = load_run_model(run_dir=tmp_path, checkpoint="final")
    lora_initial = jax.tree.leaves(nnx.state(initial, nnx.LoRAParam))
    lora_final = jax.tree.leaves(nnx.state(final, nnx.LoRAParam))
    assert lora_final, "LoRA adapters were not applied"
    assert any(not np.array_equal(np.asarray(a), np.asarray(b)) for a, b in zip(lora_initial, lora_final, strict=True))
    base_before = jax.tree.leaves(nnx.state(base_model_dir["model"], nnx.Param))
    base_after = jax.tree.leaves(nnx.state(final, nnx.All(nnx.Param, nnx.Not(nnx.LoRAParam))))
    for a, b in zip(base_before, base_after, strict=True):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))

    texts = generate(run_dir=tmp_path, checkpoint="final", prompts=["What is 11 + 22?"], max_new_tokens=16)
    assert len(texts) == 1 and isinstance(texts[0], str)
