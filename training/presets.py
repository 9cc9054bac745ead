"""The training configs shipped with tunix-rt: the only config files the API can name."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import yaml

PRESETS_DIR = Path(__file__).resolve().parent / "configs"
DEFAULT_PRESETS = {"sft": "sft_tiny", "grpo": "grpo_tiny", "dpo": "dpo_tiny"}


@cache
def _kinds() -> dict[str, str]:
    kinds = {}
    for path in sorted(PRESETS_DIR.glob("*.yaml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        kinds[path.stem] = str(data.get("kind", "sft")) if isinstance(data, dict) else "sft"
    return kinds


def preset_names(kind: str | None = None) -> list[str]:
    """The presets in ``training/configs`` by name (the file stem), of one run kind if given."""
    return [name for name, k in _kinds().items() if kind is None or k == kind]
