"""Training run configuration: the schema, its strict parser and the numeric limits.

Imports without JAX so that `train_sft --dry-run` can validate a config on a machine that
lacks the optional training stack.
"""

from __future__ import annotations

from training.engine.config.parse import RunConfig, load_config, load_run_config, parse_config, parse_run_config
from training.engine.config.rl import (
    REWARD_NAMES,
    DPORunConfig,
    DPOSection,
    GRPORunConfig,
    GRPOSection,
    RLTrainingConfig,
    config_kind,
)
from training.engine.config.schema import (
    LIMITS,
    CheckpointPolicy,
    ConfigError,
    EvalConfig,
    LearningRateConfig,
    LoraConfig,
    MeshConfig,
    ModelConfig,
    SFTConfig,
    TinyModelConfig,
    TokenizerConfig,
    TrainingConfig,
)

__all__ = [
    "LIMITS",
    "REWARD_NAMES",
    "DPORunConfig",
    "DPOSection",
    "GRPORunConfig",
    "GRPOSection",
    "RLTrainingConfig",
    "RunConfig",
    "config_kind",
    "load_run_config",
    "parse_run_config",
    "CheckpointPolicy",
    "ConfigError",
    "EvalConfig",
    "LearningRateConfig",
    "LoraConfig",
    "MeshConfig",
    "ModelConfig",
    "SFTConfig",
    "TinyModelConfig",
    "TokenizerConfig",
    "TrainingConfig",
    "load_config",
    "parse_config",
]
