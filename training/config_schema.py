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

from training.engine.config import LIMITS, SFTConfig


def _range(low: int, limit: str) -> dict[str, Any]:
    return {"minimum": low, "maximum": LIMITS[limit]}


BOUNDS: dict[str, dict[str, Any]] = {
    "model.tiny.num_layers": _range(1, "num_layers"),
    "model.tiny.embed_dim": _range(1, "width"),
    "model.tiny.hidden_dim": _range(1, "width"),
    "model.tiny.num_heads": _range(1, "heads"),
    "model.tiny.head_dim": _range(1, "head_dim"),
    "model.tiny.num_kv_heads": _range(1, "heads"),
    "model.tiny.sliding_window_size": _range(1, "seq_len"),
    "model.mode": {"enum": ["tiny", "checkpoint", "pretrained"]},
    "model.dtype": {"enum": ["float32", "bfloat16"]},
    "model.lora.rank": _range(1, "lora_rank"),
    "model.lora.alpha": {"minimum": 0, "exclusiveMinimum": True},
    "tokenizer.vocab_size": _range(16, "vocab_size"),
    "training.seed": {"minimum": 0, "maximum": 2**31 - 1},
    "training.batch_size": _range(1, "batch_size"),
    "training.max_steps": _range(1, "max_steps"),
    "training.max_seq_len": _range(4, "seq_len"),
    "training.learning_rate.peak": {"minimum": 0, "exclusiveMinimum": True},
    "training.learning_rate.end": {"minimum": 0},
    "training.warmup_steps": {"minimum": 0, "maximum": LIMITS["max_steps"] - 1},
    "training.weight_decay": {"minimum": 0},
    "training.b2": {"minimum": 0, "maximum": 1, "exclusiveMaximum": True},
    "training.grad_clip": {"minimum": 0, "exclusiveMinimum": True},
    "training.log_every": _range(1, "max_steps"),
    "training.checkpoint.save_every_steps": _range(1, "max_steps"),
    "training.checkpoint.max_to_keep": _range(1, "max_to_keep"),
    "training.pad_multiple": _range(1, "seq_len"),
    "eval.max_new_tokens": _range(1, "eval_tokens"),
    "eval.batch_size": _range(1, "batch_size"),
    "mesh.fsdp": _range(1, "mesh_axis"),
    "mesh.tp": _range(1, "mesh_axis"),
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
