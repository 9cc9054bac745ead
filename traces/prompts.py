"""When two prompts are the same question: one definition for duplicates, splits and contamination."""

from __future__ import annotations

import re

_SPACE = re.compile(r"\s+")


def prompt_key(prompt: str) -> str:
    """Prompts compare equal when they differ only in case and spacing."""
    return _SPACE.sub(" ", prompt).strip().casefold()
