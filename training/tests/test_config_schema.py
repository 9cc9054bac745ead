"""The documented config schema and the config parser agree on names, types and ranges."""

from __future__ import annotations

from typing import Any

import pytest

from training.config_schema import BOUNDS, config_json_schema
from training.engine.config import ConfigError, parse_config

# Values the cross-field rules need so that a bound can be tried on its own.
CHECKPOINT_MODE = {
    "model.mode": "checkpoint",
    "model.checkpoint_path": "c",
    "model.model_config_path": "m",
    "model.tokenizer_path": "t",
    "model.path": "p",
}
COMPANIONS: dict[str, dict[str, Any]] = {
    "training.max_steps": {"training.warmup_steps": 0},
    "training.learning_rate.peak": {"training.learning_rate.end": 0.0},
    "model.tiny.num_heads": {"model.tiny.num_kv_heads": 1},
    "model.tiny.num_kv_heads": {"model.tiny.num_heads": 128},
    "model.tiny.sliding_window_size": CHECKPOINT_MODE,
    "training.max_seq_len": CHECKPOINT_MODE,
    "training.warmup_steps": {"training.max_steps": 1_000_000},
    "model.mode": CHECKPOINT_MODE,
    "mesh.fsdp": {"training.batch_size": 1024},
}


def config_with(values: dict[str, Any]) -> dict[str, Any]:
    config: dict[str, Any] = {}
    for path, value in values.items():
        *parents, leaf = path.split(".")
        node = config
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = value
    return config


def node_at(schema: dict[str, Any], path: str) -> dict[str, Any]:
    for part in path.split("."):
        schema = schema["properties"][part]
    return schema


@pytest.mark.parametrize("path", sorted(BOUNDS))
def test_each_documented_bound_is_the_parsers(path: str) -> None:
    bound = BOUNDS[path]
    documented = node_at(config_json_schema(), path)
    assert {k: documented[k] for k in bound} == bound
    companions = COMPANIONS.get(path, {})
    if "enum" in bound:
        for value in bound["enum"]:
            parse_config(config_with({**companions, path: value}))  # companions first: the value under test wins
        with pytest.raises(ConfigError, match=path):
            parse_config(config_with({path: "something-else"}))
        return
    step = 1 if node_at(config_json_schema(), path)["type"] == "integer" else 1e-9
    if "minimum" in bound:
        low = bound["minimum"]
        if not bound.get("exclusiveMinimum"):
            parse_config(config_with({**companions, path: low}))
        with pytest.raises(ConfigError, match=path):
            parse_config(config_with({**companions, path: low if bound.get("exclusiveMinimum") else low - step}))
    if "maximum" in bound:
        high = bound["maximum"]
        if not bound.get("exclusiveMaximum"):
            parse_config(config_with({**companions, path: high}))
        with pytest.raises(ConfigError, match=path):
            parse_config(config_with({**companions, path: high if bound.get("exclusiveMaximum") else high + step}))


def test_unknown_keys_are_refused_by_both() -> None:
    schema = config_json_schema()
    assert schema["additionalProperties"] is False
    assert set(schema["properties"]) == {"model", "tokenizer", "training", "eval", "mesh"}
    with pytest.raises(ConfigError, match="unknown config key"):
        parse_config({"training": {"epochs": 3}})
    assert node_at(schema, "training")["additionalProperties"] is False
    assert node_at(schema, "training.checkpoint.save_every_steps")["nullable"] is True
    assert node_at(schema, "model.lora.enabled") == {"type": "boolean"}
