"""Generic validators of config values; every error names the key it is about."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from training.engine.config.schema import LIMITS, ConfigError, MeshConfig


def section(value: Any, where: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise ConfigError(f"{where or 'config'} must be a mapping, got {type(value).__name__}")
    for key in value:
        if not isinstance(key, str):
            raise ConfigError(f"{where or 'config'} has a non-string key {key!r}")
    return dict(value)


def reject_unknown(d: Mapping[str, Any], where: str, allowed: set[str]) -> None:
    unknown = sorted(set(d) - allowed)
    if unknown:
        names = ", ".join(_join(where, k) for k in unknown)
        raise ConfigError(f"unknown config key(s): {names} (allowed: {', '.join(sorted(allowed))})")


def _join(where: str, key: str) -> str:
    return f"{where}.{key}" if where else key


def int_value(
    d: Mapping[str, Any], where: str, key: str, default: int, *, lo: int | None = None, hi: int | None = None
) -> int:
    value = d.get(key, default)
    name = _join(where, key)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(f"{name} must be an integer, got {value!r}")
    if lo is not None and value < lo:
        raise ConfigError(f"{name} must be >= {lo}, got {value}")
    if hi is not None and value > hi:
        raise ConfigError(f"{name} must be <= {hi}, got {value}")
    return value


def float_value(
    d: Mapping[str, Any],
    where: str,
    key: str,
    default: float,
    *,
    lo: float | None = None,
    hi: float | None = None,
    lo_open: bool = False,
    hi_open: bool = False,
) -> float:
    value = d.get(key, default)
    name = _join(where, key)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        hint = " (YAML reads 3e-3 as text; write 3.0e-3)" if isinstance(value, str) else ""
        raise ConfigError(f"{name} must be a number, got {value!r}{hint}")
    value = float(value)
    if value != value or value in (float("inf"), float("-inf")):
        raise ConfigError(f"{name} must be finite, got {value}")
    if lo is not None and (value <= lo if lo_open else value < lo):
        raise ConfigError(f"{name} must be {'>' if lo_open else '>='} {lo}, got {value}")
    if hi is not None and (value >= hi if hi_open else value > hi):
        raise ConfigError(f"{name} must be {'<' if hi_open else '<='} {hi}, got {value}")
    return value


def bool_value(d: Mapping[str, Any], where: str, key: str, default: bool) -> bool:
    value = d.get(key, default)
    if not isinstance(value, bool):
        raise ConfigError(f"{_join(where, key)} must be true or false, got {value!r}")
    return value


def str_value(d: Mapping[str, Any], where: str, key: str, default: str) -> str:
    value = d.get(key, default)
    if not isinstance(value, str) or not value:
        raise ConfigError(f"{_join(where, key)} must be a non-empty string, got {value!r}")
    return value


def optional_str(d: Mapping[str, Any], where: str, key: str) -> str | None:
    value = d.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or not value:
        raise ConfigError(f"{_join(where, key)} must be a non-empty string, got {value!r}")
    return value


def choice(d: Mapping[str, Any], where: str, key: str, default: str, choices: tuple[str, ...]) -> str:
    value = d.get(key, default)
    if value not in choices:
        raise ConfigError(f"{_join(where, key)} must be one of {', '.join(choices)}, got {value!r}")
    return str(value)


def parse_mesh(d: dict[str, Any]) -> MeshConfig:
    """``mesh: {fsdp: N, tp: M}``; both default to 1 (one device)."""
    reject_unknown(d, "mesh", {"fsdp", "tp"})
    return MeshConfig(
        fsdp=int_value(d, "mesh", "fsdp", 1, lo=1, hi=LIMITS["mesh_axis"]),
        tp=int_value(d, "mesh", "tp", 1, lo=1, hi=LIMITS["mesh_axis"]),
    )
