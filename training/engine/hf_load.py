"""A checked Hugging Face checkpoint loaded as a Tunix model by Tunix's own safetensors loaders."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

from training.engine.hf import (
    TUNIX_ROPE_THETA,
    CheckpointError,
    HFCheckpoint,
    inspect_checkpoint,
)

if TYPE_CHECKING:
    import jax
    from flax import nnx

logger = logging.getLogger(__name__)


def _rope(config: dict[str, Any], kind: str | None, default: float) -> tuple[float, float]:
    """(theta, linear scale factor) from ``rope_parameters`` (transformers 5) or the older top-level keys."""
    params = config.get("rope_parameters") or {}
    if kind is not None and isinstance(params.get(kind), dict):
        params = params[kind]
    theta = params.get("rope_theta")
    if theta is None:
        legacy = "rope_local_base_freq" if kind == "sliding_attention" else "rope_theta"
        theta = config.get(legacy, default)
    scaling = config.get("rope_scaling") if kind != "sliding_attention" else None
    scale = params.get("factor") or (scaling or {}).get("factor") or 1.0
    if params.get("rope_type", "default") not in ("default", "linear", "llama3"):
        raise CheckpointError(f"rope_type {params.get('rope_type')!r} is not supported")
    return float(theta), float(scale)


def tunix_config(ckpt: HFCheckpoint, *, dtype: str = "float32") -> Any:
    """The Tunix ``ModelConfig`` of the checkpoint's family, read from its ``config.json``."""
    import jax.numpy as jnp

    c = ckpt.config
    param_dtype = jnp.float32 if dtype == "float32" else jnp.bfloat16
    common = {
        "num_layers": c["num_hidden_layers"],
        "embed_dim": c["hidden_size"],
        "hidden_dim": c["intermediate_size"],
        "num_heads": c["num_attention_heads"],
        "head_dim": ckpt.head_dim,
        "num_kv_heads": int(c.get("num_key_value_heads") or c["num_attention_heads"]),
    }
    if ckpt.family in ("qwen3", "llama3"):
        _warn_rope(ckpt)
    if ckpt.family == "qwen3":
        from tunix.models.qwen3 import model as qwen3

        theta, _ = _rope(c, None, 1_000_000)
        return qwen3.ModelConfig(
            **common,
            vocab_size=c["vocab_size"],
            rope_theta=int(theta),
            norm_eps=float(c.get("rms_norm_eps", 1e-6)),
            use_tied_embedding=ckpt.tied,
            dtype=param_dtype,
            param_dtype=param_dtype,
        )
    if ckpt.family == "llama3":
        from tunix.models.llama3 import model as llama3

        theta, _ = _rope(c, None, 500_000)
        return llama3.ModelConfig(
            **common,
            vocab_size=c["vocab_size"],
            rope_theta=int(theta),
            norm_eps=float(c.get("rms_norm_eps", 1e-5)),
            weight_tying=ckpt.tied,
        )
    from tunix.models.gemma3 import model as gemma3

    local_theta, _ = _rope(c, "sliding_attention", 10_000)
    global_theta, global_scale = _rope(c, "full_attention", 1_000_000)
    scalar = c.get("query_pre_attn_scalar", ckpt.head_dim)
    norms = gemma3.QueryPreAttentionNormalisation
    if scalar == ckpt.head_dim:
        query_norm = norms.BY_ONE_OVER_SQRT_HEAD_DIM
    elif scalar * c["num_attention_heads"] == c["hidden_size"]:
        query_norm = norms.BY_ONE_OVER_SQRT_EMBED_DIM_DIV_NUM_HEADS
    else:
        raise CheckpointError(f"{ckpt.path / 'config.json'}: query_pre_attn_scalar={scalar} is not supported")
    return gemma3.ModelConfig(
        **common,
        num_embed=c["vocab_size"],
        sliding_window_size=c.get("sliding_window"),
        local_base_frequency=int(local_theta),
        global_base_frequency=int(global_theta),
        global_scale_factor=global_scale,
        query_pre_attn_norm=query_norm,
        param_dtype=param_dtype,
    )


def _warn_rope(ckpt: HFCheckpoint) -> None:
    """Say so when Tunix's model will not position tokens as the checkpoint was trained to."""
    theta, scale = _rope(ckpt.config, None, TUNIX_ROPE_THETA)
    scaling = (ckpt.config.get("rope_parameters") or ckpt.config.get("rope_scaling") or {}).get("rope_type", "default")
    if theta != TUNIX_ROPE_THETA or scale != 1.0 or scaling != "default":
        logger.warning(
            "%s: rope_theta=%s (rope_type %s), but Tunix's %s model applies RoPE with theta %s and no scaling; "
            "the loaded model's logits differ from transformers' beyond the first positions",
            ckpt.path / "config.json",
            theta,
            scaling,
            ckpt.family,
            TUNIX_ROPE_THETA,
        )


def params_module(family: str) -> Any:
    if family == "gemma3":
        from tunix.models.gemma3 import params_safetensors

        return params_safetensors
    if family == "qwen3":
        from tunix.models.qwen3 import params as qwen3_params

        return qwen3_params
    from tunix.models.llama3 import params as llama3_params

    return llama3_params


def load_pretrained(*, path: str | Path, dtype: str, mesh: jax.sharding.Mesh | None = None) -> nnx.Module:
    """The checkpoint as a Tunix model, loaded by Tunix's own safetensors loader (sharded over ``mesh``)."""
    import jax.numpy as jnp

    ckpt = inspect_checkpoint(path)
    config = tunix_config(ckpt, dtype=dtype)
    try:
        return params_module(ckpt.family).create_model_from_safe_tensors(
            file_dir=str(ckpt.path.resolve()),
            config=config,
            mesh=mesh,
            dtype=jnp.float32 if dtype == "float32" else jnp.bfloat16,
        )
    except (ValueError, KeyError, AssertionError, AttributeError, TypeError) as exc:
        raise CheckpointError(f"cannot load the weights in {ckpt.path}: {exc}") from exc
