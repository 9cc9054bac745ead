"""Training run configuration: the schema, its strict parser and the numeric limits.

Imports without JAX so that `train_sft --dry-run` can validate a config on a machine that
lacks the optional training stack.
"""

from __future__ import annotations

from training.engine.config.parse import load_config, parse_config
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

__all__ = [
    "LIMITS",
    "CheckpointPolicy",
    "ConfigError",
    "EvalConfig",
    "LearningRateConfig",
    "LoraConfig",
    "ModelConfig",
    "SFTConfig",
    "TinyModelConfig",
    "TokenizerConfig",
    "TrainingConfig",
    "load_config",
    "parse_config",
]
