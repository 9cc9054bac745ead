"""Configs of the runs that start from a trained model: GRPO and DPO (``kind: grpo`` / ``kind: dpo``).

The model, its tokenizer and its weights come from the parent run, so these configs hold no
``model`` or ``tokenizer`` section: only the optimisation, the algorithm and the evaluation
budget. Parsed as strictly as the SFT config (unknown keys and out-of-range values are errors
that name the key); imports no JAX.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from training.engine.config.fields import (
    choice,
    float_value,
    int_value,
    parse_mesh,
    reject_unknown,
    section,
)
from training.engine.config.schema import LIMITS, ConfigError, EvalConfig, LearningRateConfig, MeshConfig

# The verifiers' reward functions by name (traces.verifiers.rewards.GRPO_REWARD_FUNCTIONS): the
# recipe's four (the default, what ``tunix_reward`` sums) and the step-by-step process reward.
RECIPE_REWARD_NAMES = ("match_format_exactly", "match_format_approximately", "check_answer", "check_numbers")
REWARD_NAMES = (*RECIPE_REWARD_NAMES, "check_steps")


@dataclass(frozen=True)
class RLTrainingConfig:
    """Optimisation of a run that fine-tunes its parent's weights: AdamW, warmup then cosine."""

    seed: int = 0
    batch_size: int = 8
    max_steps: int = 100
    learning_rate: LearningRateConfig = LearningRateConfig(peak=1e-5, end=1e-5)
    warmup_steps: int = 0
    weight_decay: float = 0.0
    b2: float = 0.99
    grad_clip: float = 1.0
    log_every: int = 1


@dataclass(frozen=True)
class GRPOSection:
    num_generations: int = 4
    beta: float = 0.04
    epsilon: float = 0.2
    temperature: float = 0.9
    top_p: float = 1.0
    top_k: int | None = None
    max_prompt_len: int = 64
    max_new_tokens: int = 192
    micro_batch_size: int | None = None
    rewards: tuple[str, ...] = RECIPE_REWARD_NAMES


@dataclass(frozen=True)
class DPOSection:
    beta: float = 0.1
    label_smoothing: float = 0.0
    max_prompt_len: int = 64
    max_response_len: int = 192
    # "response": each side's whole completion. "step": the pair's shared lines join the prompt
    # and each side is its first differing line (step-level DPO on where a reasoning went wrong).
    granularity: str = "response"
    # "dpo": the DPO loss against the frozen parent. "orpo": Tunix's ORPO, the chosen side's
    # length-normalised NLL plus lambda_orpo times the odds-ratio loss, with no reference model.
    algorithm: str = "dpo"
    lambda_orpo: float = 0.1


DPO_GRANULARITIES = ("response", "step")
DPO_ALGORITHMS = ("dpo", "orpo")


@dataclass(frozen=True)
class GRPORunConfig:
    kind: str = "grpo"
    training: RLTrainingConfig = RLTrainingConfig()
    grpo: GRPOSection = GRPOSection()
    eval: EvalConfig = field(default_factory=lambda: EvalConfig(max_new_tokens=192))
    mesh: MeshConfig = MeshConfig()


@dataclass(frozen=True)
class DPORunConfig:
    kind: str = "dpo"
    training: RLTrainingConfig = RLTrainingConfig(batch_size=8, max_steps=100)
    dpo: DPOSection = DPOSection()
    eval: EvalConfig = field(default_factory=lambda: EvalConfig(max_new_tokens=192))
    mesh: MeshConfig = MeshConfig()


def parse_grpo_config(data: Mapping[str, Any]) -> GRPORunConfig:
    root = section(data, "")
    reject_unknown(root, "", {"kind", "training", "grpo", "eval", "mesh"})
    _check_kind(root, "grpo")
    default = GRPORunConfig()
    g = section(root.get("grpo", {}), "grpo")
    reject_unknown(g, "grpo", set(GRPOSection.__dataclass_fields__))
    gd = default.grpo
    top_k = g.get("top_k")
    if top_k is not None:
        top_k = int_value(g, "grpo", "top_k", 1, lo=1, hi=LIMITS["vocab_size"])
    micro = g.get("micro_batch_size")
    if micro is not None:
        micro = int_value(g, "grpo", "micro_batch_size", 1, lo=1, hi=LIMITS["batch_size"])
    grpo = GRPOSection(
        num_generations=int_value(g, "grpo", "num_generations", gd.num_generations, lo=2, hi=64),
        beta=float_value(g, "grpo", "beta", gd.beta, lo=0.0),
        epsilon=float_value(g, "grpo", "epsilon", gd.epsilon, lo=0.0, lo_open=True, hi=1.0),
        temperature=float_value(g, "grpo", "temperature", gd.temperature, lo=0.0, lo_open=True, hi=10.0),
        top_p=float_value(g, "grpo", "top_p", gd.top_p, lo=0.0, lo_open=True, hi=1.0),
        top_k=top_k,
        max_prompt_len=int_value(g, "grpo", "max_prompt_len", gd.max_prompt_len, lo=1, hi=LIMITS["seq_len"]),
        max_new_tokens=int_value(g, "grpo", "max_new_tokens", gd.max_new_tokens, lo=1, hi=LIMITS["eval_tokens"]),
        micro_batch_size=micro,
        rewards=_reward_names(g.get("rewards", list(gd.rewards))),
    )
    config = GRPORunConfig(
        training=_parse_training(section(root.get("training", {}), "training"), default.training),
        grpo=grpo,
        eval=_parse_eval(section(root.get("eval", {}), "eval"), default.eval),
        mesh=parse_mesh(section(root.get("mesh", {}), "mesh")),
    )
    micro = config.grpo.micro_batch_size or config.training.batch_size
    if config.training.batch_size % micro:
        raise ConfigError(
            f"grpo.micro_batch_size ({micro}) must divide training.batch_size ({config.training.batch_size})"
        )
    return config


def parse_dpo_config(data: Mapping[str, Any]) -> DPORunConfig:
    root = section(data, "")
    reject_unknown(root, "", {"kind", "training", "dpo", "eval", "mesh"})
    _check_kind(root, "dpo")
    default = DPORunConfig()
    d = section(root.get("dpo", {}), "dpo")
    reject_unknown(d, "dpo", set(DPOSection.__dataclass_fields__))
    dd = default.dpo
    dpo = DPOSection(
        beta=float_value(d, "dpo", "beta", dd.beta, lo=0.0, lo_open=True, hi=100.0),
        label_smoothing=float_value(d, "dpo", "label_smoothing", dd.label_smoothing, lo=0.0, hi=0.5, hi_open=True),
        max_prompt_len=int_value(d, "dpo", "max_prompt_len", dd.max_prompt_len, lo=1, hi=LIMITS["seq_len"]),
        max_response_len=int_value(d, "dpo", "max_response_len", dd.max_response_len, lo=1, hi=LIMITS["seq_len"]),
        granularity=choice(d, "dpo", "granularity", dd.granularity, DPO_GRANULARITIES),
        algorithm=choice(d, "dpo", "algorithm", dd.algorithm, DPO_ALGORITHMS),
        lambda_orpo=float_value(d, "dpo", "lambda_orpo", dd.lambda_orpo, lo=0.0, lo_open=True, hi=10.0),
    )
    return DPORunConfig(
        training=_parse_training(section(root.get("training", {}), "training"), default.training),
        dpo=dpo,
        eval=_parse_eval(section(root.get("eval", {}), "eval"), default.eval),
        mesh=parse_mesh(section(root.get("mesh", {}), "mesh")),
    )


def _check_kind(root: Mapping[str, Any], kind: str) -> None:
    if root.get("kind", kind) != kind:
        raise ConfigError(f"kind must be {kind!r} for this run, got {root.get('kind')!r}")


def _reward_names(value: Any) -> tuple[str, ...]:
    if not isinstance(value, (list, tuple)) or not value:
        raise ConfigError(f"grpo.rewards must be a non-empty list of reward names, got {value!r}")
    unknown = [name for name in value if name not in REWARD_NAMES]
    if unknown:
        raise ConfigError(f"grpo.rewards: unknown reward(s) {unknown}; choose from {', '.join(REWARD_NAMES)}")
    if len(set(value)) != len(value):
        raise ConfigError("grpo.rewards names a reward twice")
    return tuple(value)


def _parse_training(d: dict[str, Any], default: RLTrainingConfig) -> RLTrainingConfig:
    reject_unknown(d, "training", set(RLTrainingConfig.__dataclass_fields__))
    lr_d = section(d.get("learning_rate", {}), "training.learning_rate")
    reject_unknown(lr_d, "training.learning_rate", {"peak", "end"})
    peak = float_value(lr_d, "training.learning_rate", "peak", default.learning_rate.peak, lo=0.0, lo_open=True)
    lr = LearningRateConfig(peak=peak, end=float_value(lr_d, "training.learning_rate", "end", peak, lo=0.0))
    if lr.end > lr.peak:
        raise ConfigError("training.learning_rate.end must not exceed training.learning_rate.peak")
    training = RLTrainingConfig(
        seed=int_value(d, "training", "seed", default.seed, lo=0, hi=2**31 - 1),
        batch_size=int_value(d, "training", "batch_size", default.batch_size, lo=1, hi=LIMITS["batch_size"]),
        max_steps=int_value(d, "training", "max_steps", default.max_steps, lo=1, hi=LIMITS["max_steps"]),
        learning_rate=lr,
        warmup_steps=int_value(d, "training", "warmup_steps", default.warmup_steps, lo=0, hi=LIMITS["max_steps"] - 1),
        weight_decay=float_value(d, "training", "weight_decay", default.weight_decay, lo=0.0),
        b2=float_value(d, "training", "b2", default.b2, lo=0.0, hi=1.0, hi_open=True),
        grad_clip=float_value(d, "training", "grad_clip", default.grad_clip, lo=0.0, lo_open=True),
        log_every=int_value(d, "training", "log_every", default.log_every, lo=1, hi=LIMITS["max_steps"]),
    )
    if training.warmup_steps >= training.max_steps:
        raise ConfigError("training.warmup_steps must be smaller than training.max_steps")
    return training


def _parse_eval(d: dict[str, Any], default: EvalConfig) -> EvalConfig:
    reject_unknown(d, "eval", {"max_new_tokens", "batch_size"})
    return EvalConfig(
        max_new_tokens=int_value(d, "eval", "max_new_tokens", default.max_new_tokens, lo=1, hi=LIMITS["eval_tokens"]),
        batch_size=int_value(d, "eval", "batch_size", default.batch_size, lo=1, hi=LIMITS["batch_size"]),
    )


def config_kind(data: Any) -> str:
    """``sft`` (no ``kind`` key), ``grpo`` or ``dpo``; anything else is a ``ConfigError``."""
    root = section(data, "")
    return choice(root, "", "kind", "sft", ("sft", "grpo", "dpo"))
