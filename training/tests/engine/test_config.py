from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from training.engine import stack as stack_module
from training.engine.config import ConfigError, load_config, parse_config
from training.engine.stack import TrainingStackMissing, ensure_training_stack

REPO = Path(__file__).resolve().parents[3]


def test_defaults_are_the_tiny_preset() -> None:
    config = parse_config({})
    assert config.model.mode == "tiny"
    assert config.model.tiny.embed_dim == 128
    assert config.training.b2 == 0.99
    assert config.training.weight_decay == 0.01
    assert config.training.grad_clip == 1.0


def test_sft_tiny_yaml_loads() -> None:
    config = load_config(REPO / "training" / "configs" / "sft_tiny.yaml")
    t = config.training
    assert (t.batch_size, t.max_steps, t.warmup_steps) == (16, 1600, 50)
    assert (t.learning_rate.peak, t.learning_rate.end) == (3e-3, 1.5e-4)
    assert config.tokenizer.vocab_size == 96


def test_sft_hard_yaml_has_the_hard_budgets() -> None:
    config = load_config(REPO / "training" / "configs" / "sft_hard.yaml")
    t = config.training
    assert (t.max_seq_len, t.pad_multiple, t.check_generation_budget) == (224, 32, True)
    assert config.eval.max_new_tokens == 192
    assert parse_config({}).training.pad_multiple is None
    assert parse_config({}).training.check_generation_budget is False


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"training": {"bogus": 1}}, "unknown config key(s): training.bogus"),
        ({"extra": {}}, "unknown config key(s): extra"),
        ({"model": {"tiny": {"layers": 2}}}, "model.tiny.layers"),
        ({"training": {"batch_size": "16"}}, "training.batch_size must be an integer, got '16'"),
        ({"training": {"batch_size": True}}, "training.batch_size must be an integer"),
        ({"training": {"batch_size": 0}}, "training.batch_size must be >= 1, got 0"),
        ({"training": {"b2": 1.0}}, "training.b2 must be < 1.0"),
        ({"training": {"learning_rate": {"peak": "3e-3"}}}, "write 3.0e-3"),
        ({"training": {"learning_rate": {"peak": 1e-4, "end": 1e-3}}}, "training.learning_rate.end"),
        ({"training": {"warmup_steps": 10, "max_steps": 10}}, "training.warmup_steps"),
        ({"training": {"max_seq_len": 1024}}, "training.max_seq_len must not exceed"),
        ({"model": {"mode": "huge"}}, "model.mode must be one of tiny, checkpoint"),
        ({"model": {"mode": "checkpoint"}}, "model.checkpoint_path is required"),
        ({"model": {"lora": {"rank": 0}}}, "model.lora.rank must be >= 1"),
        ({"model": {"tiny": {"num_heads": 4, "num_kv_heads": 3}}}, "model.tiny.num_kv_heads"),
        ({"training": []}, "training must be a mapping"),
        ({"eval": {"max_new_tokens": 0}}, "eval.max_new_tokens must be >= 1"),
        ({"training": {"checkpoint": {"save_every_steps": 0}}}, "training.checkpoint.save_every_steps"),
        ({"training": {"pad_multiple": 0}}, "training.pad_multiple must be >= 1, got 0"),
        ({"training": {"check_generation_budget": "yes"}}, "training.check_generation_budget must be true or false"),
    ],
)
def test_validation_names_the_key(data: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_config(data)
    assert message in str(info.value)


def test_checkpoint_mode_with_paths() -> None:
    config = parse_config(
        {
            "model": {
                "mode": "checkpoint",
                "checkpoint_path": "/m/ckpt",
                "model_config_path": "/m/config.json",
                "tokenizer_path": "/m/tokenizer.model",
                "lora": {"rank": 4, "alpha": 8},
            }
        }
    )
    assert config.model.lora.enabled
    assert (config.model.lora.rank, config.model.lora.alpha) == (4, 8.0)


def test_load_config_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read config file"):
        load_config(tmp_path / "missing.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("training: [1, 2\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(bad)


@pytest.mark.parametrize("levels", [65, 2_000])
def test_load_config_refuses_yaml_nested_past_the_json_limit(tmp_path: Path, levels: int) -> None:
    deep = tmp_path / "deep.yaml"
    deep.write_text("training: " + "[" * levels + "]" * levels + "\n")
    with pytest.raises(ConfigError, match="nests deeper than 64 levels"):
        load_config(deep)


def test_load_config_reads_yaml_nested_to_the_limit(tmp_path: Path) -> None:
    at_limit = tmp_path / "at_limit.yaml"
    at_limit.write_text("training: " + "[" * 63 + "]" * 63 + "\n")
    with pytest.raises(ConfigError) as caught:
        load_config(at_limit)
    assert "nests deeper" not in str(caught.value)


def test_ensure_training_stack_names_install_command(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(stack_module.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(TrainingStackMissing) as info:
        ensure_training_stack()
    assert "make install-training" in str(info.value)
    assert "jax" in str(info.value)


def test_engine_package_imports_without_jax() -> None:
    code = (
        "import sys\n"
        "class Block:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.split('.')[0] in ('jax', 'jaxlib', 'flax', 'tunix', 'optax', 'qwix', 'orbax'):\n"
        "            raise ImportError('blocked ' + name)\n"
        "sys.meta_path.insert(0, Block())\n"
        "import training.engine, training.engine.config, training.engine.stack, traces.verifiers.answers\n"
        "training.engine.load_config\n"
        "assert not any(m.split('.')[0] in ('jax', 'tunix') for m in sys.modules)\n"
    )
    subprocess.run([sys.executable, "-c", code], cwd=REPO, check=True)  # noqa: S603 - fixed code
