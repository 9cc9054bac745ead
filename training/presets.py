"""The training configs shipped with tunix-rt: the only config files the API can name."""

from __future__ import annotations

from pathlib import Path

PRESETS_DIR = Path(__file__).resolve().parent / "configs"


def preset_names() -> list[str]:
    """The presets in ``training/configs``, by name (the file stem)."""
    return sorted(p.stem for p in PRESETS_DIR.glob("*.yaml"))
