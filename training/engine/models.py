"""Model construction: the random `tiny` Gemma3 preset, a local base checkpoint, or a pretrained
Hugging Face directory (Gemma 3, Qwen 3, Llama 3), with LoRA or without, on a device mesh.

A run records a `ModelSpec` in `run_dir/model.json` so that sampling rebuilds exactly
the module tree that training checkpointed.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from training.engine.config import LoraConfig, MeshConfig, TinyModelConfig

if TYPE_CHECKING:
    import jax
    from flax import nnx
    from tunix.models.gemma3 import model as gemma3

SPEC_FILE = "model.json"
_CONFIG_FIELDS = (
    "num_layers",
    "num_embed",
    "embed_dim",
    "hidden_dim",
    "num_heads",
    "head_dim",
    "num_kv_heads",
    "sliding_window_size",
    "local_base_frequency",
    "global_base_frequency",
    "local_scale_factor",
    "global_scale_factor",
)
_INT_FIELDS = frozenset(_CONFIG_FIELDS[:10])


class ModelLoadError(ValueError):
    """A model-config file or base checkpoint is missing or malformed."""


@dataclass(frozen=True)
class ModelSpec:
    """Everything needed to rebuild a run's model skeleton; JSON-serialisable."""

    mode: str
    model_config: dict[str, Any]
    dtype: str
    seed: int
    base_checkpoint_path: str | None = None
    lora: dict[str, Any] | None = None

    def save(self, run_dir: Path) -> Path:
        path = run_dir / SPEC_FILE
        path.write_text(json.dumps(asdict(self), indent=2, sort_keys=True) + "\n", encoding="utf-8")
        return path

    @classmethod
    def load(cls, run_dir: Path) -> ModelSpec:
        path = run_dir / SPEC_FILE
        if not path.is_file():
            raise ModelLoadError(f"{path} not found: is {run_dir} a training run directory?")
        return cls(**json.loads(path.read_text(encoding="utf-8")))


def tiny_config_dict(*, tiny: TinyModelConfig, vocab_size: int) -> dict[str, Any]:
    """Gemma3 config fields of the tiny preset for a given tokenizer size."""
    return {
        "num_layers": tiny.num_layers,
        "num_embed": vocab_size,
        "embed_dim": tiny.embed_dim,
        "hidden_dim": tiny.hidden_dim,
        "num_heads": tiny.num_heads,
        "head_dim": tiny.head_dim,
        "num_kv_heads": tiny.num_kv_heads,
        "sliding_window_size": tiny.sliding_window_size,
    }


def read_model_config_file(path: Path) -> dict[str, Any]:
    """Read a base model's JSON config: `{"preset": "gemma3_1b_it"}` or explicit fields."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ModelLoadError(f"cannot read model config {path}: {exc}") from exc
    if not isinstance(data, dict):
        raise ModelLoadError(f"model config {path} must be a JSON object")
    gemma3_model_config(data)
    return data


def gemma3_model_config(fields: dict[str, Any], *, dtype: str = "float32") -> gemma3.ModelConfig:
    """Turn config fields (or a named Tunix preset) into a `gemma3.ModelConfig`."""
    import jax.numpy as jnp
    from tunix.models.gemma3 import model as gemma3

    param_dtype = jnp.float32 if dtype == "float32" else jnp.bfloat16
    if "preset" in fields:
        extra = sorted(set(fields) - {"preset"})
        if extra:
            raise ModelLoadError(f"model config with 'preset' takes no other keys, got {extra}")
        factory = getattr(gemma3.ModelConfig, str(fields["preset"]), None)
        if factory is None or str(fields["preset"]).startswith("_"):
            raise ModelLoadError(f"unknown gemma3 preset {fields['preset']!r}")
        config = factory()
        if config.vision_config is not None:
            config.vision_config = None
        config.param_dtype = param_dtype
        return config
    unknown = sorted(set(fields) - set(_CONFIG_FIELDS) - {"query_pre_attn_norm"})
    if unknown:
        raise ModelLoadError(f"unknown model config key(s): {unknown}")
    kwargs: dict[str, Any] = {}
    for key, value in fields.items():
        if key == "query_pre_attn_norm":
            try:
                kwargs[key] = gemma3.QueryPreAttentionNormalisation[value]
            except KeyError as exc:
                raise ModelLoadError(f"unknown query_pre_attn_norm {value!r}") from exc
        elif key in _INT_FIELDS:
            if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
                raise ModelLoadError(f"model config {key} must be an integer, got {value!r}")
            kwargs[key] = value
        else:
            kwargs[key] = float(value)
    try:
        return gemma3.ModelConfig(**kwargs, param_dtype=param_dtype)
    except TypeError as exc:
        raise ModelLoadError(f"incomplete model config: {exc}") from exc


def make_mesh(config: MeshConfig | None) -> jax.sharding.Mesh:
    """A ``('fsdp', 'tp')`` mesh over the first ``fsdp * tp`` devices, the axis names Tunix's models shard on."""
    import jax
    import numpy as np
    from jax.sharding import AxisType

    config = config or MeshConfig()
    devices = jax.devices()
    if config.devices > len(devices):
        raise ModelLoadError(
            f"mesh {{fsdp: {config.fsdp}, tp: {config.tp}}} needs {config.devices} devices, "
            f"this host has {len(devices)} ({devices[0].platform})"
        )
    grid = np.array(devices[: config.devices]).reshape(config.fsdp, config.tp)
    # Auto axes: JAX's Explicit axes break the Gemma3 embedder's gather.
    return jax.sharding.Mesh(grid, ("fsdp", "tp"), axis_types=(AxisType.Auto, AxisType.Auto))


def shard_model(model: nnx.Module, mesh: jax.sharding.Mesh) -> nnx.Module:
    """Place every variable by its sharding annotation on ``mesh`` (replicated where it has none)."""
    import jax
    from flax import nnx

    state = nnx.state(model)
    shardings = nnx.get_named_sharding(state, mesh)
    nnx.update(model, jax.device_put(state, shardings))
    return model


def build_model(*, spec: ModelSpec, mesh: jax.sharding.Mesh | None = None) -> nnx.Module:
    """Build the run's model: tiny random init, base checkpoint or pretrained directory, plus LoRA."""
    if mesh is None:
        mesh = make_mesh(None)
    if spec.mode == "tiny":
        with mesh:
            return shard_model(init_tiny_model(fields=spec.model_config, seed=spec.seed), mesh)
    if spec.base_checkpoint_path is None:
        raise ModelLoadError(f"{spec.mode} mode needs a base checkpoint path")
    if spec.mode == "pretrained":
        from training.engine.hf_load import load_pretrained

        model = load_pretrained(path=spec.base_checkpoint_path, dtype=spec.dtype, mesh=mesh)
    else:
        model = load_base_model(
            fields=spec.model_config, checkpoint_path=Path(spec.base_checkpoint_path), dtype=spec.dtype
        )
    if spec.lora is not None:
        with mesh:
            model = apply_lora(model=model, lora=LoraConfig(**spec.lora), seed=spec.seed)
    return shard_model(model, mesh)


def init_tiny_model(*, fields: dict[str, Any], seed: int) -> gemma3.Gemma3:
    """Random float32 Gemma3; MLP kernels re-drawn because Tunix zero-initialises them.

    With zero gate/up/down kernels every MLP gradient is zero, so those weights would
    never move; LeCun-normal draws (seeded) make the feed-forward blocks trainable.
    """
    import jax
    from flax import nnx
    from tunix.models.gemma3 import model as gemma3

    config = gemma3_model_config(fields, dtype="float32")
    model = gemma3.Gemma3(config, rngs=nnx.Rngs(params=seed))
    init = nnx.initializers.lecun_normal()
    key = jax.random.fold_in(jax.random.key(seed), 0x4D4C50)
    for layer in model.layers:
        for proj in (layer.mlp.gate_proj, layer.mlp.up_proj, layer.mlp.down_proj):
            key, sub = jax.random.split(key)
            kernel = proj.kernel
            kernel[...] = init(sub, kernel.shape, kernel.dtype)
    return model


def load_base_model(*, fields: dict[str, Any], checkpoint_path: Path, dtype: str) -> gemma3.Gemma3:
    """Load a text-only Gemma3 from an upstream-layout orbax checkpoint with Tunix's loader."""
    import jax.numpy as jnp
    from tunix.models.gemma3 import params as gemma3_params

    if not checkpoint_path.is_dir():
        raise ModelLoadError(f"base checkpoint directory not found: {checkpoint_path}")
    config = gemma3_model_config(fields, dtype=dtype)
    try:
        return gemma3_params.create_model_from_checkpoint(
            str(checkpoint_path.resolve()),
            config,
            dtype=jnp.float32 if dtype == "float32" else jnp.bfloat16,
        )
    except (ValueError, KeyError, FileNotFoundError) as exc:
        raise ModelLoadError(f"cannot load base checkpoint {checkpoint_path}: {exc}") from exc


def apply_lora(*, model: nnx.Module, lora: LoraConfig, seed: int) -> nnx.Module:
    """Wrap matching projections with qwix LoRA adapters; only those are then trained."""
    import jax
    import qwix
    from flax import nnx

    provider = qwix.LoraProvider(module_path=lora.module_path, rank=lora.rank, alpha=lora.alpha)
    inputs = model.get_model_input()  # type: ignore[attr-defined]
    wrapped = qwix.apply_lora_to_model(model, provider, rngs=nnx.Rngs(seed), **inputs)
    if not jax.tree.leaves(nnx.state(wrapped, nnx.LoRAParam)):
        raise ModelLoadError(f"model.lora.module_path {lora.module_path!r} matches no module of the model")
    return wrapped


def lora_dict(lora: LoraConfig) -> dict[str, Any] | None:
    """The LoRA part of a `ModelSpec`, or None when LoRA is disabled (full fine-tune)."""
    if not lora.enabled:
        return None
    return {"enabled": True, "rank": lora.rank, "alpha": lora.alpha, "module_path": lora.module_path}
