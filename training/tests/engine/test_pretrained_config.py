"""The ``pretrained`` mode and ``mesh`` keys of a config, parsed without JAX."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from training.engine.config import ConfigError, parse_config, parse_run_config

PRETRAINED = {"mode": "pretrained", "path": "/srv/models/qwen3"}


def test_pretrained_mode_needs_a_path() -> None:
    config = parse_config({"model": PRETRAINED})
    assert (config.model.mode, config.model.path, config.model.lora.enabled) == (
        "pretrained",
        "/srv/models/qwen3",
        True,
    )
    with pytest.raises(ConfigError, match="model.path is required when model.mode is 'pretrained'"):
        parse_config({"model": {"mode": "pretrained"}})
    with pytest.raises(ConfigError, match="model.path must be a non-empty string"):
        parse_config({"model": {"mode": "pretrained", "path": ""}})


def test_the_default_mesh_is_one_device_for_every_kind() -> None:
    assert parse_config({}).mesh.devices == 1
    for kind in ("grpo", "dpo"):
        assert parse_run_config({"kind": kind}).mesh.devices == 1


@given(fsdp=st.integers(1, 1024), tp=st.integers(1, 1024), per_device=st.integers(1, 4))
def test_any_mesh_in_range_whose_fsdp_divides_the_batch_parses(fsdp: int, tp: int, per_device: int) -> None:
    batch = min(1024, fsdp * per_device) // fsdp * fsdp
    config = parse_config({"mesh": {"fsdp": fsdp, "tp": tp}, "training": {"batch_size": batch}})
    assert (config.mesh.fsdp, config.mesh.tp, config.mesh.devices) == (fsdp, tp, fsdp * tp)
    grpo = parse_run_config({"kind": "grpo", "mesh": {"fsdp": fsdp, "tp": tp}})
    assert (grpo.mesh.fsdp, grpo.mesh.tp) == (fsdp, tp)


@given(fsdp=st.integers(2, 64), batch=st.integers(1, 1024))
def test_a_batch_that_fsdp_does_not_divide_is_refused(fsdp: int, batch: int) -> None:
    config = {"mesh": {"fsdp": fsdp}, "training": {"batch_size": batch}}
    if batch % fsdp:
        with pytest.raises(ConfigError, match=r"training.batch_size .* must be a multiple of mesh.fsdp"):
            parse_config(config)
    else:
        assert parse_config(config).mesh.fsdp == fsdp


@given(
    key=st.sampled_from(["fsdp", "tp"]),
    value=st.one_of(st.integers(max_value=0), st.integers(min_value=1025), st.booleans(), st.text(), st.floats()),
)
def test_a_mesh_axis_out_of_range_or_not_an_integer_is_refused(key: str, value: Any) -> None:
    with pytest.raises(ConfigError, match=f"mesh.{key}"):
        parse_config({"mesh": {key: value}, "training": {"batch_size": 1024}})


def test_unknown_mesh_keys_are_refused() -> None:
    with pytest.raises(ConfigError, match=r"unknown config key\(s\): mesh.dp"):
        parse_config({"mesh": {"dp": 2}})
