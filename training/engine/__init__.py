"""Tunix SFT engine for tunix-rt: pure Python, no Django.

Only `config` and the answer checks (from `traces.verifiers.answers`) are safe to import without
the optional JAX/Tunix stack; import `sft`, `sampling`, `models`, `data` and `tokenizer` directly
where training runs.
"""

from __future__ import annotations

from traces.verifiers.answers import extract_answer, format_ok, normalise
from training.engine.config import ConfigError, SFTConfig, load_config, parse_config
from training.engine.stack import TrainingStackMissing, ensure_training_stack

__all__ = [
    "ConfigError",
    "SFTConfig",
    "TrainingStackMissing",
    "ensure_training_stack",
    "extract_answer",
    "format_ok",
    "load_config",
    "normalise",
    "parse_config",
]
