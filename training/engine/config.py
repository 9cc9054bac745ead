"""SFT run configuration: strict YAML parsing into frozen dataclasses.

This module must import without JAX so that `train_sft --dry-run` can validate a
config on a machine that lacks the optional training stack.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

INSTALL_HINT = "pip install -r requirements-training.txt (or make test-training)"
_STACK_MODULES = ("jax", "flax", "optax", "orbax.checkpoint", "qwix", "sentencepiece", "tunix")


# Upper bounds of the numeric fields (docs/training.md#configuration): generous for a real
# Gemma checkpoint, yet no config can ask for a model or a run that no machine here could hold.
LIMITS = {
    "num_layers": 64,
    "width": 32_768,
    "heads": 128,
    "head_dim": 1_024,
    "seq_len": 32_768,
    "vocab_size": 262_144,
    "lora_rank": 1_024,
    "max_steps": 1_000_000,
    "batch_size": 1_024,
    "max_to_keep": 100,
    "eval_tokens": 4_096,
}


class ConfigError(ValueError):
    """A config value is missing, unknown, of the wrong type or out of range."""


class TrainingStackMissing(RuntimeError):
    """The optional JAX/Tunix stack is not installed in this environment."""


@dataclass(frozen=True)
class TinyModelConfig:
    num_layers: int = 2
    embed_dim: int = 128
    hidden_dim: int = 512
    num_heads: int = 4
    head_dim: int = 32
    num_kv_heads: int = 1
    sliding_window_size: int = 512


@dataclass(frozen=True)
class LoraConfig:
    enabled: bool = True
    rank: int = 8
    alpha: float = 16.0
    module_path: str = ".*q_einsum|.*kv_einsum|.*attn_vec_einsum|.*gate_proj|.*up_proj|.*down_proj"


@dataclass(frozen=True)
class ModelConfig:
    mode: str = "tiny"
    tiny: TinyModelConfig = TinyModelConfig()
    checkpoint_path: str | None = None
    model_config_path: str | None = None
    tokenizer_path: str | None = None
    dtype: str = "float32"
    lora: LoraConfig = LoraConfig()


@dataclass(frozen=True)
class TokenizerConfig:
    vocab_size: int = 96


@dataclass(frozen=True)
class LearningRateConfig:
    peak: float = 3e-3
    end: float = 1.5e-4


@dataclass(frozen=True)
class CheckpointPolicy:
    save_every_steps: int | None = None
    max_to_keep: int = 1


@dataclass(frozen=True)
class TrainingConfig:
    seed: int = 0
    batch_size: int = 16
    max_steps: int = 1600
    max_seq_len: int = 128
    learning_rate: LearningRateConfig = LearningRateConfig()
    warmup_steps: int = 50
    weight_decay: float = 0.01
    b2: float = 0.99
    grad_clip: float = 1.0
    log_every: int = 1
    checkpoint: CheckpointPolicy = CheckpointPolicy()


@dataclass(frozen=True)
class EvalConfig:
    max_new_tokens: int = 64
    batch_size: int = 50


@dataclass(frozen=True)
class SFTConfig:
    model: ModelConfig = ModelConfig()
    tokenizer: TokenizerConfig = TokenizerConfig()
    training: TrainingConfig = TrainingConfig()
    eval: EvalConfig = EvalConfig()


def load_config(path: str | Path) -> SFTConfig:
    """Read and validate a YAML config file; errors name the offending key."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read config file {p}: {exc}") from exc
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"config file {p} is not valid YAML: {exc}") from exc
    if data is None:
        data = {}
    return parse_config(data)


def parse_config(data: Mapping[str, Any]) -> SFTConfig:
    """Validate a config mapping; missing keys take the tiny-preset defaults."""
    root = _section(data, "")
    _reject_unknown(root, "", {"model", "tokenizer", "training", "eval"})
    config = SFTConfig(
        model=_parse_model(_section(root.get("model", {}), "model")),
        tokenizer=_parse_tokenizer(_section(root.get("tokenizer", {}), "tokenizer")),
        training=_parse_training(_section(root.get("training", {}), "training")),
        eval=_parse_eval(_section(root.get("eval", {}), "eval")),
    )
    _check_cross_fields(config)
    return config


def ensure_training_stack() -> None:
    """Fail fast, without importing JAX, when the optional stack is absent."""
    missing = []
    for name in _STACK_MODULES:
        try:
            found = importlib.util.find_spec(name) is not None
        except ModuleNotFoundError:
            found = False
        if not found:
            missing.append(name)
    if missing:
        raise TrainingStackMissing(f"training stack not installed (missing: {', '.join(missing)}); run: {INSTALL_HINT}")


def _parse_model(d: dict[str, Any]) -> ModelConfig:
    _reject_unknown(
        d,
        "model",
        {"mode", "tiny", "checkpoint_path", "model_config_path", "tokenizer_path", "dtype", "lora"},
    )
    default = ModelConfig()
    mode = _choice(d, "model", "mode", default.mode, ("tiny", "checkpoint"))
    tiny_d = _section(d.get("tiny", {}), "model.tiny")
    _reject_unknown(tiny_d, "model.tiny", set(TinyModelConfig.__dataclass_fields__))
    td = TinyModelConfig()
    tiny = TinyModelConfig(
        num_layers=_int(tiny_d, "model.tiny", "num_layers", td.num_layers, lo=1, hi=LIMITS["num_layers"]),
        embed_dim=_int(tiny_d, "model.tiny", "embed_dim", td.embed_dim, lo=1, hi=LIMITS["width"]),
        hidden_dim=_int(tiny_d, "model.tiny", "hidden_dim", td.hidden_dim, lo=1, hi=LIMITS["width"]),
        num_heads=_int(tiny_d, "model.tiny", "num_heads", td.num_heads, lo=1, hi=LIMITS["heads"]),
        head_dim=_int(tiny_d, "model.tiny", "head_dim", td.head_dim, lo=1, hi=LIMITS["head_dim"]),
        num_kv_heads=_int(tiny_d, "model.tiny", "num_kv_heads", td.num_kv_heads, lo=1, hi=LIMITS["heads"]),
        sliding_window_size=_int(
            tiny_d, "model.tiny", "sliding_window_size", td.sliding_window_size, lo=1, hi=LIMITS["seq_len"]
        ),
    )
    if tiny.num_heads % tiny.num_kv_heads:
        raise ConfigError("model.tiny.num_kv_heads must divide model.tiny.num_heads")
    lora_d = _section(d.get("lora", {}), "model.lora")
    _reject_unknown(lora_d, "model.lora", set(LoraConfig.__dataclass_fields__))
    ld = LoraConfig()
    lora = LoraConfig(
        enabled=_bool(lora_d, "model.lora", "enabled", ld.enabled),
        rank=_int(lora_d, "model.lora", "rank", ld.rank, lo=1, hi=LIMITS["lora_rank"]),
        alpha=_float(lora_d, "model.lora", "alpha", ld.alpha, lo=0.0, lo_open=True),
        module_path=_str(lora_d, "model.lora", "module_path", ld.module_path),
    )
    model = ModelConfig(
        mode=mode,
        tiny=tiny,
        checkpoint_path=_opt_str(d, "model", "checkpoint_path"),
        model_config_path=_opt_str(d, "model", "model_config_path"),
        tokenizer_path=_opt_str(d, "model", "tokenizer_path"),
        dtype=_choice(d, "model", "dtype", default.dtype, ("float32", "bfloat16")),
        lora=lora,
    )
    if mode == "checkpoint":
        for key in ("checkpoint_path", "model_config_path", "tokenizer_path"):
            if getattr(model, key) is None:
                raise ConfigError(f"model.{key} is required when model.mode is 'checkpoint'")
    return model


def _parse_tokenizer(d: dict[str, Any]) -> TokenizerConfig:
    _reject_unknown(d, "tokenizer", {"vocab_size"})
    return TokenizerConfig(
        vocab_size=_int(d, "tokenizer", "vocab_size", TokenizerConfig().vocab_size, lo=16, hi=LIMITS["vocab_size"])
    )


def _parse_training(d: dict[str, Any]) -> TrainingConfig:
    _reject_unknown(d, "training", set(TrainingConfig.__dataclass_fields__))
    td = TrainingConfig()
    lr_d = _section(d.get("learning_rate", {}), "training.learning_rate")
    _reject_unknown(lr_d, "training.learning_rate", {"peak", "end"})
    lr = LearningRateConfig(
        peak=_float(lr_d, "training.learning_rate", "peak", td.learning_rate.peak, lo=0.0, lo_open=True),
        end=_float(lr_d, "training.learning_rate", "end", td.learning_rate.end, lo=0.0),
    )
    if lr.end > lr.peak:
        raise ConfigError("training.learning_rate.end must not exceed training.learning_rate.peak")
    ck_d = _section(d.get("checkpoint", {}), "training.checkpoint")
    _reject_unknown(ck_d, "training.checkpoint", {"save_every_steps", "max_to_keep"})
    save_every = ck_d.get("save_every_steps")
    if save_every is not None:
        save_every = _int(ck_d, "training.checkpoint", "save_every_steps", 1, lo=1, hi=LIMITS["max_steps"])
    checkpoint = CheckpointPolicy(
        save_every_steps=save_every,
        max_to_keep=_int(
            ck_d, "training.checkpoint", "max_to_keep", td.checkpoint.max_to_keep, lo=1, hi=LIMITS["max_to_keep"]
        ),
    )
    training = TrainingConfig(
        seed=_int(d, "training", "seed", td.seed, lo=0, hi=2**31 - 1),
        batch_size=_int(d, "training", "batch_size", td.batch_size, lo=1, hi=LIMITS["batch_size"]),
        max_steps=_int(d, "training", "max_steps", td.max_steps, lo=1, hi=LIMITS["max_steps"]),
        max_seq_len=_int(d, "training", "max_seq_len", td.max_seq_len, lo=4, hi=LIMITS["seq_len"]),
        learning_rate=lr,
        warmup_steps=_int(d, "training", "warmup_steps", td.warmup_steps, lo=0, hi=LIMITS["max_steps"]),
        weight_decay=_float(d, "training", "weight_decay", td.weight_decay, lo=0.0),
        b2=_float(d, "training", "b2", td.b2, lo=0.0, hi=1.0, hi_open=True),
        grad_clip=_float(d, "training", "grad_clip", td.grad_clip, lo=0.0, lo_open=True),
        log_every=_int(d, "training", "log_every", td.log_every, lo=1, hi=LIMITS["max_steps"]),
        checkpoint=checkpoint,
    )
    if training.warmup_steps >= training.max_steps:
        raise ConfigError("training.warmup_steps must be smaller than training.max_steps")
    return training


def _parse_eval(d: dict[str, Any]) -> EvalConfig:
    _reject_unknown(d, "eval", {"max_new_tokens", "batch_size"})
    ed = EvalConfig()
    return EvalConfig(
        max_new_tokens=_int(d, "eval", "max_new_tokens", ed.max_new_tokens, lo=1, hi=LIMITS["eval_tokens"]),
        batch_size=_int(d, "eval", "batch_size", ed.batch_size, lo=1, hi=LIMITS["batch_size"]),
    )


def _check_cross_fields(config: SFTConfig) -> None:
    if config.model.mode == "tiny":
        window = config.model.tiny.sliding_window_size
        if config.training.max_seq_len > window:
            raise ConfigError(
                "training.max_seq_len must not exceed model.tiny.sliding_window_size "
                f"({config.training.max_seq_len} > {window})"
            )


def _section(value: Any, where: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise ConfigError(f"{where or 'config'} must be a mapping, got {type(value).__name__}")
    for key in value:
        if not isinstance(key, str):
            raise ConfigError(f"{where or 'config'} has a non-string key {key!r}")
    return dict(value)


def _reject_unknown(d: Mapping[str, Any], where: str, allowed: set[str]) -> None:
    unknown = sorted(set(d) - allowed)
    if unknown:
        names = ", ".join(_join(where, k) for k in unknown)
        raise ConfigError(f"unknown config key(s): {names} (allowed: {', '.join(sorted(allowed))})")


def _join(where: str, key: str) -> str:
    return f"{where}.{key}" if where else key


def _int(
    d: Mapping[str, Any], where: str, key: str, default: int, *, lo: int | None = None, hi: int | None = None
) -> int:
    value = d.get(key, default)
    name = _join(where, key)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(f"{name} must be an integer, got {value!r}")
    if lo is not None and value < lo:
        raise ConfigError(f"{name} must be >= {lo}, got {value}")
    if hi is not None and value > hi:
        raise ConfigError(f"{name} must be <= {hi}, got {value}")
    return value


def _float(
    d: Mapping[str, Any],
    where: str,
    key: str,
    default: float,
    *,
    lo: float | None = None,
    hi: float | None = None,
    lo_open: bool = False,
    hi_open: bool = False,
) -> float:
    value = d.get(key, default)
    name = _join(where, key)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        hint = " (YAML reads 3e-3 as text; write 3.0e-3)" if isinstance(value, str) else ""
        raise ConfigError(f"{name} must be a number, got {value!r}{hint}")
    value = float(value)
    if value != value or value in (float("inf"), float("-inf")):
        raise ConfigError(f"{name} must be finite, got {value}")
    if lo is not None and (value <= lo if lo_open else value < lo):
        raise ConfigError(f"{name} must be {'>' if lo_open else '>='} {lo}, got {value}")
    if hi is not None and (value >= hi if hi_open else value > hi):
        raise ConfigError(f"{name} must be {'<' if hi_open else '<='} {hi}, got {value}")
    return value


def _bool(d: Mapping[str, Any], where: str, key: str, default: bool) -> bool:
    value = d.get(key, default)
    if not isinstance(value, bool):
        raise ConfigError(f"{_join(where, key)} must be true or false, got {value!r}")
    return value


def _str(d: Mapping[str, Any], where: str, key: str, default: str) -> str:
    value = d.get(key, default)
    if not isinstance(value, str) or not value:
        raise ConfigError(f"{_join(where, key)} must be a non-empty string, got {value!r}")
    return value


def _opt_str(d: Mapping[str, Any], where: str, key: str) -> str | None:
    value = d.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or not value:
        raise ConfigError(f"{_join(where, key)} must be a non-empty string, got {value!r}")
    return value


def _choice(d: Mapping[str, Any], where: str, key: str, default: str, choices: tuple[str, ...]) -> str:
    value = d.get(key, default)
    if value not in choices:
        raise ConfigError(f"{_join(where, key)} must be one of {', '.join(choices)}, got {value!r}")
    return str(value)
