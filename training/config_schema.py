"""The JSON schema of an inline training config, derived from the config dataclasses.

Types and nesting come from ``training.engine.config``; the ranges below are the ones
its parser enforces (``training/tests/test_config_schema.py`` holds them together).
Unknown keys are refused, as the parser refuses them. Rules across fields (warmup
below max steps, ...) stay in the parser and answer 400.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from typing import Any

from training.engine.config import SFTConfig

BOUNDS: dict[str, dict[str, Any]] = {
    **{
        f"model.tiny.{name}": {"minimum": 1}
        for name in (
            "num_layers",
            "embed_dim",
            "hidden_dim",
            "num_heads",
            "head_dim",
            "num_kv_heads",
            "sliding_window_size",
        )
    },  # fmt: skip
    "model.mode": {"enum": ["tiny", "checkpoint"]},
    "model.dtype": {"enum": ["float32", "bfloat16"]},
    "model.lora.rank": {"minimum": 1},
    "model.lora.alpha": {"minimum": 0, "exclusiveMinimum": True},
    "tokenizer.vocab_size": {"minimum": 16, "maximum": 1 << 20},
    "training.seed": {"minimum": 0, "maximum": 2**31 - 1},
    "training.batch_size": {"minimum": 1},
    "training.max_steps": {"minimum": 1},
    "training.max_seq_len": {"minimum": 4},
    "training.learning_rate.peak": {"minimum": 0, "exclusiveMinimum": True},
    "training.learning_rate.end": {"minimum": 0},
    "training.warmup_steps": {"minimum": 0},
    "training.weight_decay": {"minimum": 0},
    "training.b2": {"minimum": 0, "maximum": 1, "exclusiveMaximum": True},
    "training.grad_clip": {"minimum": 0, "exclusiveMinimum": True},
    "training.log_every": {"minimum": 1},
    "training.checkpoint.save_every_steps": {"minimum": 1},
    "training.checkpoint.max_to_keep": {"minimum": 1},
    "eval.max_new_tokens": {"minimum": 1},
    "eval.batch_size": {"minimum": 1},
}
_SCALARS = {int: "integer", float: "number", bool: "boolean", str: "string"}


def _schema_of(kind: Any, path: str) -> dict[str, Any]:
    args = typing.get_args(kind)
    if isinstance(kind, types.UnionType) and type(None) in args:
        (inner,) = [a for a in args if a is not type(None)]
        return {**_schema_of(inner, path), "nullable": True}
    if dataclasses.is_dataclass(kind):
        hints = typing.get_type_hints(kind)
        return {
            "type": "object",
            "properties": {
                f.name: _schema_of(hints[f.name], f"{path}.{f.name}" if path else f.name)
                for f in dataclasses.fields(kind)
            },
            "additionalProperties": False,
        }
    schema: dict[str, Any] = {"type": _SCALARS[kind]}
    if kind is str and path not in BOUNDS:
        schema["minLength"] = 1
    return {**schema, **BOUNDS.get(path, {})}


def config_json_schema() -> dict[str, Any]:
    """Every key is optional: a missing one takes the default of the tiny preset."""
    return {
        **_schema_of(SFTConfig, ""),
        "description": (
            "A whole SFT config instead of the preset; missing keys take the defaults, unknown keys are refused."
        ),
        "nullable": True,
    }
