"""Strict parsing of a config file or mapping into the dataclasses of ``schema``.

Imports no JAX, so ``train_sft --dry-run`` can check a config without the training stack.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from training.engine.config.fields import (
    bool_value,
    choice,
    float_value,
    int_value,
    optional_str,
    parse_mesh,
    reject_unknown,
    section,
    str_value,
)
from training.engine.config.rl import (
    DPORunConfig,
    GRPORunConfig,
    config_kind,
    parse_dpo_config,
    parse_grpo_config,
)
from training.engine.config.schema import (
    LIMITS,
    CheckpointPolicy,
    ConfigError,
    EvalConfig,
    LearningRateConfig,
    LoraConfig,
    ModelConfig,
    SFTConfig,
    TinyModelConfig,
    TokenizerConfig,
    TrainingConfig,
)
from tunix_rt.validation import JSON_MAX_DEPTH, too_deep_path

RunConfig = SFTConfig | GRPORunConfig | DPORunConfig


def load_config(path: str | Path) -> SFTConfig:
    """Read and validate a YAML config file; errors name the offending key."""
    return parse_config(read_config_file(path))


def load_run_config(path: str | Path) -> RunConfig:
    """Read a config file of any kind (SFT, GRPO or DPO), chosen by its ``kind`` key."""
    return parse_run_config(read_config_file(path))


def parse_run_config(data: Mapping[str, Any]) -> RunConfig:
    kind = config_kind(data)
    if kind == "grpo":
        return parse_grpo_config(data)
    if kind == "dpo":
        return parse_dpo_config(data)
    return parse_config(data)


def read_config_file(path: str | Path) -> Mapping[str, Any]:
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read config file {p}: {exc}") from exc
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"config file {p} is not valid YAML: {exc}") from exc
    except RecursionError:
        raise ConfigError(f"config file {p} nests deeper than {JSON_MAX_DEPTH} levels") from None
    deep = too_deep_path(data, "")
    if deep is not None:
        raise ConfigError(f"config file {p}: {deep} nests deeper than {JSON_MAX_DEPTH} levels of mappings and lists")
    if data is None:
        data = {}
    if not isinstance(data, Mapping):
        raise ConfigError(f"config file {p} must hold a mapping, got {type(data).__name__}")
    return data


def parse_config(data: Mapping[str, Any]) -> SFTConfig:
    """Validate a config mapping; missing keys take the tiny-preset defaults."""
    root = section(data, "")
    reject_unknown(root, "", {"kind", "model", "tokenizer", "training", "eval", "mesh"})
    if config_kind(root) != "sft":
        raise ConfigError(f"kind must be 'sft' for this run, got {root.get('kind')!r}")
    config = SFTConfig(
        model=_parse_model(section(root.get("model", {}), "model")),
        tokenizer=_parse_tokenizer(section(root.get("tokenizer", {}), "tokenizer")),
        training=_parse_training(section(root.get("training", {}), "training")),
        eval=_parse_eval(section(root.get("eval", {}), "eval")),
        mesh=parse_mesh(section(root.get("mesh", {}), "mesh")),
    )
    _check_cross_fields(config)
    return config


def _parse_model(d: dict[str, Any]) -> ModelConfig:
    reject_unknown(
        d,
        "model",
        {"mode", "tiny", "checkpoint_path", "model_config_path", "tokenizer_path", "path", "dtype", "lora"},
    )
    default = ModelConfig()
    mode = choice(d, "model", "mode", default.mode, ("tiny", "checkpoint", "pretrained"))
    tiny_d = section(d.get("tiny", {}), "model.tiny")
    reject_unknown(tiny_d, "model.tiny", set(TinyModelConfig.__dataclass_fields__))
    td = TinyModelConfig()
    tiny = TinyModelConfig(
        num_layers=int_value(tiny_d, "model.tiny", "num_layers", td.num_layers, lo=1, hi=LIMITS["num_layers"]),
        embed_dim=int_value(tiny_d, "model.tiny", "embed_dim", td.embed_dim, lo=1, hi=LIMITS["width"]),
        hidden_dim=int_value(tiny_d, "model.tiny", "hidden_dim", td.hidden_dim, lo=1, hi=LIMITS["width"]),
        num_heads=int_value(tiny_d, "model.tiny", "num_heads", td.num_heads, lo=1, hi=LIMITS["heads"]),
        head_dim=int_value(tiny_d, "model.tiny", "head_dim", td.head_dim, lo=1, hi=LIMITS["head_dim"]),
        num_kv_heads=int_value(tiny_d, "model.tiny", "num_kv_heads", td.num_kv_heads, lo=1, hi=LIMITS["heads"]),
        sliding_window_size=int_value(
            tiny_d, "model.tiny", "sliding_window_size", td.sliding_window_size, lo=1, hi=LIMITS["seq_len"]
        ),
    )
    if tiny.num_heads % tiny.num_kv_heads:
        raise ConfigError("model.tiny.num_kv_heads must divide model.tiny.num_heads")
    lora_d = section(d.get("lora", {}), "model.lora")
    reject_unknown(lora_d, "model.lora", set(LoraConfig.__dataclass_fields__))
    ld = LoraConfig()
    lora = LoraConfig(
        enabled=bool_value(lora_d, "model.lora", "enabled", ld.enabled),
        rank=int_value(lora_d, "model.lora", "rank", ld.rank, lo=1, hi=LIMITS["lora_rank"]),
        alpha=float_value(lora_d, "model.lora", "alpha", ld.alpha, lo=0.0, lo_open=True),
        module_path=str_value(lora_d, "model.lora", "module_path", ld.module_path),
    )
    model = ModelConfig(
        mode=mode,
        tiny=tiny,
        checkpoint_path=optional_str(d, "model", "checkpoint_path"),
        model_config_path=optional_str(d, "model", "model_config_path"),
        tokenizer_path=optional_str(d, "model", "tokenizer_path"),
        path=optional_str(d, "model", "path"),
        dtype=choice(d, "model", "dtype", default.dtype, ("float32", "bfloat16")),
        lora=lora,
    )
    if mode == "checkpoint":
        for key in ("checkpoint_path", "model_config_path", "tokenizer_path"):
            if getattr(model, key) is None:
                raise ConfigError(f"model.{key} is required when model.mode is 'checkpoint'")
    if mode == "pretrained" and model.path is None:
        raise ConfigError("model.path is required when model.mode is 'pretrained' (a Hugging Face model directory)")
    return model


def _parse_tokenizer(d: dict[str, Any]) -> TokenizerConfig:
    reject_unknown(d, "tokenizer", {"vocab_size"})
    return TokenizerConfig(
        vocab_size=int_value(d, "tokenizer", "vocab_size", TokenizerConfig().vocab_size, lo=16, hi=LIMITS["vocab_size"])
    )


def _parse_training(d: dict[str, Any]) -> TrainingConfig:
    reject_unknown(d, "training", set(TrainingConfig.__dataclass_fields__))
    td = TrainingConfig()
    lr_d = section(d.get("learning_rate", {}), "training.learning_rate")
    reject_unknown(lr_d, "training.learning_rate", {"peak", "end"})
    lr = LearningRateConfig(
        peak=float_value(lr_d, "training.learning_rate", "peak", td.learning_rate.peak, lo=0.0, lo_open=True),
        end=float_value(lr_d, "training.learning_rate", "end", td.learning_rate.end, lo=0.0),
    )
    if lr.end > lr.peak:
        raise ConfigError("training.learning_rate.end must not exceed training.learning_rate.peak")
    ck_d = section(d.get("checkpoint", {}), "training.checkpoint")
    reject_unknown(ck_d, "training.checkpoint", {"save_every_steps", "max_to_keep"})
    save_every = ck_d.get("save_every_steps")
    if save_every is not None:
        save_every = int_value(ck_d, "training.checkpoint", "save_every_steps", 1, lo=1, hi=LIMITS["max_steps"])
    checkpoint = CheckpointPolicy(
        save_every_steps=save_every,
        max_to_keep=int_value(
            ck_d, "training.checkpoint", "max_to_keep", td.checkpoint.max_to_keep, lo=1, hi=LIMITS["max_to_keep"]
        ),
    )
    pad_multiple = d.get("pad_multiple")
    if pad_multiple is not None:
        pad_multiple = int_value(d, "training", "pad_multiple", 1, lo=1, hi=LIMITS["seq_len"])
    training = TrainingConfig(
        seed=int_value(d, "training", "seed", td.seed, lo=0, hi=2**31 - 1),
        batch_size=int_value(d, "training", "batch_size", td.batch_size, lo=1, hi=LIMITS["batch_size"]),
        max_steps=int_value(d, "training", "max_steps", td.max_steps, lo=1, hi=LIMITS["max_steps"]),
        max_seq_len=int_value(d, "training", "max_seq_len", td.max_seq_len, lo=4, hi=LIMITS["seq_len"]),
        learning_rate=lr,
        warmup_steps=int_value(d, "training", "warmup_steps", td.warmup_steps, lo=0, hi=LIMITS["max_steps"] - 1),
        weight_decay=float_value(d, "training", "weight_decay", td.weight_decay, lo=0.0),
        b2=float_value(d, "training", "b2", td.b2, lo=0.0, hi=1.0, hi_open=True),
        grad_clip=float_value(d, "training", "grad_clip", td.grad_clip, lo=0.0, lo_open=True),
        log_every=int_value(d, "training", "log_every", td.log_every, lo=1, hi=LIMITS["max_steps"]),
        checkpoint=checkpoint,
        pad_multiple=pad_multiple,
        check_generation_budget=bool_value(d, "training", "check_generation_budget", td.check_generation_budget),
    )
    if training.warmup_steps >= training.max_steps:
        raise ConfigError("training.warmup_steps must be smaller than training.max_steps")
    return training


def _parse_eval(d: dict[str, Any]) -> EvalConfig:
    reject_unknown(d, "eval", {"max_new_tokens", "batch_size"})
    ed = EvalConfig()
    return EvalConfig(
        max_new_tokens=int_value(d, "eval", "max_new_tokens", ed.max_new_tokens, lo=1, hi=LIMITS["eval_tokens"]),
        batch_size=int_value(d, "eval", "batch_size", ed.batch_size, lo=1, hi=LIMITS["batch_size"]),
    )


def _check_cross_fields(config: SFTConfig) -> None:
    if config.training.batch_size % config.mesh.fsdp:
        raise ConfigError(
            f"training.batch_size ({config.training.batch_size}) must be a multiple of mesh.fsdp ({config.mesh.fsdp}): "
            "the batch is sharded across the fsdp axis"
        )
    if config.model.mode == "tiny":
        window = config.model.tiny.sliding_window_size
        if config.training.max_seq_len > window:
            raise ConfigError(
                "training.max_seq_len must not exceed model.tiny.sliding_window_size "
                f"({config.training.max_seq_len} > {window})"
            )
