"""Training configs as runs use them: shipped presets, files, API guardrails and the recipe name."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from django.conf import settings

from training.engine.config import (
    ConfigError,
    DPORunConfig,
    GRPORunConfig,
    RunConfig,
    SFTConfig,
    load_config,
    load_run_config,
    parse_run_config,
)
from training.errors import TrainingConfigInvalid
from training.presets import PRESETS_DIR, preset_names

RLRunConfig = GRPORunConfig | DPORunConfig


def config_load(*, path: str) -> SFTConfig:
    try:
        return load_config(path)
    except ConfigError as exc:
        raise TrainingConfigInvalid(str(exc), field="config") from None


def recipe_of(config: SFTConfig) -> str:
    if config.model.mode == "tiny":
        return "sft_tiny"
    if config.model.mode == "pretrained":
        return "sft_pretrained_lora" if config.model.lora.enabled else "sft_pretrained_full"
    return "sft_checkpoint_lora" if config.model.lora.enabled else "sft_checkpoint_full"


def preset_path(name: str, kind: str = "sft") -> str:
    """A shipped preset of ``kind``; any other name, a path included, is refused before any file is touched."""
    names = preset_names(kind)
    if name not in names:
        raise TrainingConfigInvalid(f"Unknown preset; choose one of: {', '.join(names)}.", field="preset")
    return str(PRESETS_DIR / f"{name}.yaml")


def config_check_model_paths(config: SFTConfig) -> None:
    """Model files named by an API-submitted config must lie under ``MODEL_ROOTS`` (symlinks resolved).

    A relative path is taken under the first root. The message names the field, never a file's content.
    """
    roots = [Path(root) for root in settings.MODEL_ROOTS]
    for field in ("checkpoint_path", "model_config_path", "tokenizer_path", "path"):
        value = getattr(config.model, field)
        if value is None:
            continue
        candidate = Path(value) if Path(value).is_absolute() else roots[0] / value
        resolved = Path(os.path.realpath(candidate))
        if not any(resolved.is_relative_to(root) for root in roots):
            raise TrainingConfigInvalid(
                f"model.{field} must be a path under MODEL_ROOTS ({':'.join(str(r) for r in roots)}).",
                field="config",
            )


def config_check_pretrained(config: SFTConfig) -> None:
    """A ``pretrained`` model directory is checked (files, family, weight shapes) before a run is recorded.

    Reads ``config.json`` and the safetensors headers only; the message names the file at fault.
    """
    if config.model.mode != "pretrained" or config.model.path is None:
        return
    from training.engine.hf import CheckpointError, inspect_checkpoint

    try:
        inspect_checkpoint(config.model.path)
    except CheckpointError as exc:
        raise TrainingConfigInvalid(f"model.path: {exc}", field="config") from None


def rl_config_load(*, kind: str, path: str | None = None, data: Mapping[str, Any] | None = None) -> RLRunConfig:
    """A GRPO or DPO config from a file or a mapping; a config of another kind is refused."""
    try:
        config = load_run_config(path or "") if data is None else parse_run_config({"kind": kind, **data})
    except ConfigError as exc:
        raise TrainingConfigInvalid(str(exc), field="config") from None
    if config_kind_of(config) != kind:
        raise TrainingConfigInvalid(
            f"config is for a {config_kind_of(config)} run, not {kind} (set kind: {kind})", field="config"
        )
    return config  # type: ignore[return-value]


def config_kind_of(config: RunConfig) -> str:
    return getattr(config, "kind", "sft")
