"""Strict parsing of environment variables: a bad value stops start-up naming the variable."""

from __future__ import annotations

import os
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured
from dotenv import load_dotenv

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def env_str(name: str, default: str | None = None) -> str | None:
    value = os.environ.get(name)
    return default if value is None else value


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    lowered = value.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name} must be a boolean (true/false/1/0), got {value!r}.")


def env_int(name: str, default: int, *, minimum: int = 1) -> int:
    value = os.environ.get(name)
    if value is None:
        return default
    try:
        parsed = int(value.strip())
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be an integer, got {value!r}.") from None
    if parsed < minimum:
        raise ImproperlyConfigured(f"{name} must be at least {minimum}, got {parsed}.")
    return parsed


def env_choice(name: str, default: str, choices: tuple[str, ...]) -> str:
    """One of ``choices``, matched case-insensitively and returned as spelled in ``choices``."""
    value = os.environ.get(name)
    if value is None:
        return default
    by_folded = {choice.casefold(): choice for choice in choices}
    chosen = by_folded.get(value.strip().casefold())
    if chosen is None:
        raise ImproperlyConfigured(f"{name} must be one of {', '.join(choices)}, got {value!r}.")
    return chosen


def env_list(name: str, default: list[str]) -> list[str]:
    value = os.environ.get(name)
    if value is None:
        return default
    return [item.strip() for item in value.split(",") if item.strip()]


def env_paths(name: str, default: list[Path]) -> list[Path]:
    """Colon-separated absolute directories, resolved; a relative entry stops start-up."""
    value = os.environ.get(name)
    if value is None:
        return [p.resolve() for p in default]
    paths = [Path(item.strip()) for item in value.split(":") if item.strip()]
    relative = [str(p) for p in paths if not p.is_absolute()]
    if relative or not paths:
        raise ImproperlyConfigured(f"{name} must list absolute directories separated by ':', got {value!r}.")
    return [p.resolve() for p in paths]


def load_env_file(*, default: Path | None) -> None:
    """Loads KEY=VALUE lines without overriding variables that are already set, from the file
    TUNIX_RT_ENV_FILE names (none when it is empty), else from ``default`` (none when ``None``)."""
    name = os.environ.get("TUNIX_RT_ENV_FILE")
    path = default if name is None else (Path(name) if name else None)
    if path is not None and path.is_file():
        load_dotenv(path, override=False)
