"""Pretrained models from a local Hugging Face directory: inspect it, load it with Tunix, write it back.

``inspect_checkpoint`` reads only ``config.json`` and the safetensors headers (no JAX), so a bad
directory is refused before anything trains; loading and LoRA merging use Tunix's own loaders
and savers, and a fully fine-tuned model is written back through the inverse of Tunix's key map.
"""

from __future__ import annotations

import json
import logging
import re
import shutil
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from training.engine.config import ConfigError

if TYPE_CHECKING:
    import jax
    from flax import nnx

# Hugging Face ``model_type`` -> the Tunix model family that loads it.
FAMILIES = {"qwen3": "qwen3", "llama": "llama3", "gemma3_text": "gemma3"}
REQUIRED_FILES = ("config.json", "tokenizer.json", "tokenizer_config.json")
_HEADER_LIMIT = 100 * 1024 * 1024
# Tunix 0.1.7's Qwen 3 and Llama 3 attention apply RoPE with this base whatever the config says.
TUNIX_ROPE_THETA = 1_000_000
logger = logging.getLogger(__name__)


class CheckpointError(ConfigError):
    """A pretrained model directory is missing a file, is of an unsupported family or disagrees with itself."""


@dataclass(frozen=True)
class HFCheckpoint:
    path: Path
    family: str
    config: dict[str, Any]
    weight_files: tuple[Path, ...]

    @property
    def head_dim(self) -> int:
        c = self.config
        return int(c.get("head_dim") or c["hidden_size"] // c["num_attention_heads"])

    @property
    def tied(self) -> bool:
        return bool(self.config.get("tie_word_embeddings", self.family == "gemma3"))


def read_config(path: Path) -> dict[str, Any]:
    """``config.json`` of a model directory as a mapping; an error names the file."""
    config_file = path / "config.json"
    try:
        data = json.loads(config_file.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise CheckpointError(f"cannot read {config_file}: {exc}") from exc
    if not isinstance(data, dict):
        raise CheckpointError(f"{config_file} must hold a JSON object")
    return data


def family_of(config: dict[str, Any], config_file: Path) -> str:
    model_type = config.get("model_type")
    if model_type not in FAMILIES:
        supported = ", ".join(sorted(FAMILIES))
        raise CheckpointError(f"{config_file}: model_type {model_type!r} is not supported (supported: {supported})")
    return FAMILIES[str(model_type)]


def safetensors_header(path: Path) -> dict[str, Any]:
    """The tensor names, dtypes and shapes of a safetensors file, read from its header only."""
    try:
        with path.open("rb") as f:
            raw = f.read(8)
            if len(raw) != 8:
                raise CheckpointError(f"{path} is not a safetensors file (too short)")
            (length,) = struct.unpack("<Q", raw)
            if length > _HEADER_LIMIT:
                raise CheckpointError(f"{path} is not a safetensors file (header of {length} bytes)")
            header = json.loads(f.read(length))
    except OSError as exc:
        raise CheckpointError(f"cannot read {path}: {exc}") from exc
    except ValueError as exc:
        raise CheckpointError(f"{path} is not a safetensors file: {exc}") from exc
    if not isinstance(header, dict):
        raise CheckpointError(f"{path} is not a safetensors file")
    header.pop("__metadata__", None)
    return header


def inspect_checkpoint(path: str | Path) -> HFCheckpoint:
    """Check a Hugging Face directory before anything loads: the files, the family and the weight shapes.

    Every error is a ``CheckpointError`` naming the file at fault.
    """
    root = Path(path)
    if not root.is_dir():
        raise CheckpointError(f"model directory not found: {root}")
    for name in REQUIRED_FILES:
        if not (root / name).is_file():
            raise CheckpointError(f"{root / name} not found: a Hugging Face model directory needs {name}")
    config = read_config(root)
    family = family_of(config, root / "config.json")
    for key in ("vocab_size", "hidden_size", "intermediate_size", "num_hidden_layers", "num_attention_heads"):
        value = config.get(key)
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise CheckpointError(f"{root / 'config.json'}: {key} must be a positive integer, got {value!r}")
    _check_architecture(config, family, root / "config.json")
    files = tuple(sorted(root.glob("*.safetensors")))
    if not files:
        raise CheckpointError(f"no *.safetensors weights in {root}")
    checkpoint = HFCheckpoint(path=root, family=family, config=config, weight_files=files)
    _check_shapes(checkpoint)
    _check_tokenizer_ids(root / "tokenizer.json", config["vocab_size"])
    _check_chat_template(root)
    return checkpoint


def _check_chat_template(root: Path) -> None:
    """Every prompt is rendered by the model's chat template: it must have one."""
    if (root / "chat_template.jinja").is_file() or (root / "chat_template.json").is_file():
        return
    try:
        data = json.loads((root / "tokenizer_config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise CheckpointError(f"cannot read {root / 'tokenizer_config.json'}: {exc}") from exc
    if not (isinstance(data, dict) and data.get("chat_template")):
        raise CheckpointError(
            f"{root / 'tokenizer_config.json'} has no chat_template (nor is there a chat_template.jinja): "
            "prompts are rendered with the model's own chat template"
        )


def _check_architecture(config: dict[str, Any], family: str, config_file: Path) -> None:
    """Refuse what Tunix's model would silently drop: biases, an untied Gemma head, another layer pattern."""
    for key in ("attention_bias", "mlp_bias"):
        if config.get(key):
            raise CheckpointError(f"{config_file}: {key}=true is not supported by Tunix's {family} model")
    if family != "gemma3":
        return
    if config.get("tie_word_embeddings") is False:
        raise CheckpointError(f"{config_file}: tie_word_embeddings=false is not supported by Tunix's gemma3 model")
    pattern = ["sliding_attention"] * 5 + ["full_attention"]
    layer_types = config.get("layer_types")
    if layer_types is not None and list(layer_types) != [pattern[i % 6] for i in range(len(layer_types))]:
        raise CheckpointError(
            f"{config_file}: layer_types must repeat five sliding_attention layers and one full_attention "
            "(Tunix's Gemma 3 pattern)"
        )
    for key in ("final_logit_softcapping", "attn_logit_softcapping"):
        if config.get(key) is not None:
            raise CheckpointError(f"{config_file}: {key} is not supported by Tunix's gemma3 model")


def _check_tokenizer_ids(tokenizer_file: Path, vocab_size: int) -> None:
    """Every token id of ``tokenizer.json`` must have a row in the embedding."""
    try:
        data = json.loads(tokenizer_file.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise CheckpointError(f"cannot read {tokenizer_file}: {exc}") from exc
    vocab = (data.get("model") or {}).get("vocab") if isinstance(data, dict) else None
    if isinstance(vocab, dict):
        ids = [i for i in vocab.values() if isinstance(i, int)]
    elif isinstance(vocab, list):
        ids = [len(vocab) - 1] if vocab else []
    else:
        raise CheckpointError(f"{tokenizer_file} has no model.vocab: not a Hugging Face tokenizers file")
    ids += [t["id"] for t in data.get("added_tokens") or [] if isinstance(t, dict) and isinstance(t.get("id"), int)]
    if ids and max(ids) >= vocab_size:
        raise CheckpointError(
            f"{tokenizer_file} has token id {max(ids)}, beyond the vocab_size={vocab_size} of config.json"
        )


def _expected_shapes(ckpt: HFCheckpoint) -> dict[str, tuple[int, ...]]:
    c = ckpt.config
    hidden, heads, head_dim = c["hidden_size"], c["num_attention_heads"], ckpt.head_dim
    kv = int(c.get("num_key_value_heads") or heads)
    shapes: dict[str, tuple[int, ...]] = {"model.embed_tokens.weight": (c["vocab_size"], hidden)}
    if not ckpt.tied:
        shapes["lm_head.weight"] = (c["vocab_size"], hidden)
    for i in range(c["num_hidden_layers"]):
        p = f"model.layers.{i}."
        shapes[p + "self_attn.q_proj.weight"] = (heads * head_dim, hidden)
        shapes[p + "self_attn.k_proj.weight"] = (kv * head_dim, hidden)
        shapes[p + "self_attn.v_proj.weight"] = (kv * head_dim, hidden)
        shapes[p + "self_attn.o_proj.weight"] = (hidden, heads * head_dim)
        shapes[p + "mlp.gate_proj.weight"] = (c["intermediate_size"], hidden)
        shapes[p + "mlp.up_proj.weight"] = (c["intermediate_size"], hidden)
        shapes[p + "mlp.down_proj.weight"] = (hidden, c["intermediate_size"])
    return shapes


_LAYER = re.compile(r"model\.layers\.([0-9]+)\.")


def _check_shapes(ckpt: HFCheckpoint) -> None:
    found: dict[str, tuple[tuple[int, ...], Path]] = {}
    for file in ckpt.weight_files:
        for name, info in safetensors_header(file).items():
            shape = info.get("shape") if isinstance(info, dict) else None
            if not isinstance(shape, list):
                raise CheckpointError(f"{file}: tensor {name} has no shape in the header")
            found[name] = (tuple(shape), file)
            layer = _LAYER.match(name)
            if layer and int(layer.group(1)) >= ckpt.config["num_hidden_layers"]:
                raise CheckpointError(
                    f"{file}: tensor {name} is beyond num_hidden_layers={ckpt.config['num_hidden_layers']} "
                    f"of {ckpt.path / 'config.json'}"
                )
    for name, want in _expected_shapes(ckpt).items():
        if name not in found:
            raise CheckpointError(f"tensor {name} is missing from the weights in {ckpt.path}")
        shape, file = found[name]
        if shape != want:
            raise CheckpointError(
                f"{file}: tensor {name} has shape {list(shape)}, but {ckpt.path / 'config.json'} implies {list(want)}"
            )


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


def _params_module(family: str) -> Any:
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
        return _params_module(ckpt.family).create_model_from_safe_tensors(
            file_dir=str(ckpt.path.resolve()),
            config=config,
            mesh=mesh,
            dtype=jnp.float32 if dtype == "float32" else jnp.bfloat16,
        )
    except (ValueError, KeyError, AssertionError, AttributeError, TypeError) as exc:
        raise CheckpointError(f"cannot load the weights in {ckpt.path}: {exc}") from exc


def copy_support_files(*, source: Path, out_dir: Path) -> None:
    """Copy config, tokenizer and generation files (everything but the weights) into ``out_dir``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    for file in sorted(source.iterdir()):
        if file.is_file() and not file.name.endswith(".safetensors") and file.name != "model.safetensors.index.json":
            shutil.copyfile(file, out_dir / file.name)


def export_merged(*, model: nnx.Module, base: str | Path, out_dir: Path, lora: dict[str, Any] | None) -> Path:
    """Write ``model`` as a Hugging Face directory: the base's config and tokenizer, merged weights.

    LoRA adapters are folded into the base weights with Tunix's savers; a fully fine-tuned model's
    parameters go back to the base's tensor names through the inverse of Tunix's own key map.
    """
    import numpy as np
    import safetensors.numpy as safe_np

    ckpt = inspect_checkpoint(base)
    out_dir = Path(out_dir)
    if out_dir.exists() and any(out_dir.iterdir()):
        raise CheckpointError(f"output directory {out_dir} is not empty")
    if lora is not None and len(ckpt.weight_files) == 1 and ckpt.weight_files[0].name == "model.safetensors":
        _save_lora_merged(ckpt=ckpt, model=model, out_dir=out_dir, lora=lora)
        return out_dir
    if lora is not None:
        raise CheckpointError(
            f"merging LoRA needs the base weights in one model.safetensors, {ckpt.path} has "
            f"{', '.join(f.name for f in ckpt.weight_files)}; export the adapter with --adapter-only"
        )
    tensors: dict[str, Any] = {}
    for file in ckpt.weight_files:
        tensors.update(safe_np.load_file(str(file)))
    updated = _tensors_from_model(ckpt=ckpt, model=model, names=list(tensors))
    for name, value in updated.items():
        tensors[name] = np.asarray(value).astype(tensors[name].dtype)
    out_dir.mkdir(parents=True, exist_ok=True)
    safe_np.save_file(tensors, str(out_dir / "model.safetensors"))
    copy_support_files(source=ckpt.path, out_dir=out_dir)
    return out_dir


def _save_lora_merged(*, ckpt: HFCheckpoint, model: nnx.Module, out_dir: Path, lora: dict[str, Any]) -> None:
    rank, alpha = int(lora["rank"]), float(lora["alpha"])
    if ckpt.family in ("qwen3", "gemma3"):
        from tunix.models.gemma3 import params as gemma3_params
        from tunix.models.qwen3 import params as qwen3_params

        saver = qwen3_params if ckpt.family == "qwen3" else gemma3_params
        saver.save_lora_merged_model_as_safetensors(
            local_model_path=str(ckpt.path), output_dir=str(out_dir), lora_model=model, rank=rank, alpha=alpha
        )
        return
    from tunix.models import safetensors_saver

    # Tunix ships the generic saver but no Llama 3 wrapper; Llama 3's module names follow Qwen 3's.
    safetensors_saver.save_lora_merged_model_as_safetensors(
        local_model_path=str(ckpt.path),
        output_dir=str(out_dir),
        lora_model=model,
        rank=rank,
        alpha=alpha,
        state_key_transform_fn=lambda name: f"model.{name}.weight".replace(".attn.", ".self_attn."),
        transpose_rules={
            k: (1, 0) for k in ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")
        },
    )


def _lora_layers(model: nnx.Module) -> dict[str, list[Any]]:
    """Each LoRA-wrapped module path (``layers.0.attn.q_proj``) with ``[lora_a, lora_b]``, read as Tunix reads them."""
    from flax import nnx

    layers: dict[str, list[Any]] = {}
    for path, value in nnx.iter_graph(model):
        if isinstance(value, nnx.LoRAParam):
            layers.setdefault(".".join(str(p) for p in path[:-1]), []).append(value)
    return layers


def export_adapter(*, model: nnx.Module, base: str | Path, out_dir: Path, lora: dict[str, Any]) -> Path:
    """Write the LoRA adapters alone as a PEFT adapter directory for the base model.

    ``adapter_model.safetensors`` holds ``lora_A`` (rank x in) and ``lora_B`` (out x rank) under the
    base's tensor names, so that ``W + lora_alpha / r * B @ A`` is the merged weight ``export_merged``
    writes; ``adapter_config.json`` names the base directory; the tokenizer files are copied.
    """
    import numpy as np
    import safetensors.numpy as safe_np

    ckpt = inspect_checkpoint(base)
    out_dir = Path(out_dir)
    if out_dir.exists() and any(out_dir.iterdir()):
        raise CheckpointError(f"output directory {out_dir} is not empty")
    layers = _lora_layers(model)
    if not layers:
        raise CheckpointError("the run has no LoRA adapters to export (it fine-tuned every weight)")
    if ckpt.family == "gemma3":
        from tunix.models.gemma3 import params as gemma3_params

        layers = gemma3_params._extract_gemma3_lora_layers(layers)
        key_of = gemma3_params._gemma3_state_key_to_safetensors_key
    else:
        from tunix.models.qwen3 import params as qwen3_params

        # Llama 3's module names follow Qwen 3's (Tunix has no Llama 3 saver to borrow from).
        key_of = qwen3_params._qwen3_state_key_to_safetensors_key
    shapes: dict[str, tuple[int, ...]] = {}
    for file in ckpt.weight_files:
        shapes.update({k: tuple(v["shape"]) for k, v in safetensors_header(file).items()})
    tensors: dict[str, Any] = {}
    targets = set()
    for path, (lora_a, lora_b) in layers.items():
        key = key_of(path)
        a = np.asarray(getattr(lora_a, "value", lora_a), dtype=np.float32)
        b = np.asarray(getattr(lora_b, "value", lora_b), dtype=np.float32)
        a = a.reshape(-1, a.shape[-1])
        b = b.reshape(b.shape[0], -1)
        if key not in shapes or shapes[key] != (b.shape[1], a.shape[0]):
            raise CheckpointError(f"LoRA of {path} does not fit tensor {key} of {ckpt.path}")
        prefix = "base_model.model." + key.removesuffix(".weight")
        tensors[prefix + ".lora_A.weight"] = np.ascontiguousarray(a.T)
        tensors[prefix + ".lora_B.weight"] = np.ascontiguousarray(b.T)
        targets.add(key.split(".")[-2])
    out_dir.mkdir(parents=True, exist_ok=True)
    safe_np.save_file(tensors, str(out_dir / "adapter_model.safetensors"), metadata={"format": "pt"})
    adapter_config = {
        "peft_type": "LORA",
        "task_type": "CAUSAL_LM",
        "base_model_name_or_path": str(ckpt.path.resolve()),
        "r": int(lora["rank"]),
        "lora_alpha": float(lora["alpha"]),
        "lora_dropout": 0.0,
        "bias": "none",
        "fan_in_fan_out": False,
        "inference_mode": True,
        "target_modules": sorted(targets),
    }
    (out_dir / "adapter_config.json").write_text(json.dumps(adapter_config, indent=2) + "\n", encoding="utf-8")
    for name in ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "chat_template.jinja"):
        if (ckpt.path / name).is_file():
            shutil.copyfile(ckpt.path / name, out_dir / name)
    return out_dir


def _flat_params(model: nnx.Module) -> dict[str, Any]:
    from flax import nnx, traverse_util

    state = nnx.to_pure_dict(nnx.state(model, nnx.All(nnx.Param, nnx.Not(nnx.LoRAParam))))
    return {".".join(str(k) for k in key): value for key, value in traverse_util.flatten_dict(state).items()}


def _tensors_from_model(*, ckpt: HFCheckpoint, model: nnx.Module, names: list[str]) -> dict[str, Any]:
    """Each base tensor's trained value, undoing the permute and reshape of Tunix's key map."""
    import numpy as np
    from tunix.utils import torch_utils

    module = _params_module(ckpt.family)
    config = model.config  # type: ignore[attr-defined]
    mapping = module._get_key_and_transform_mapping(config)
    params = _flat_params(model)
    shapes = {}
    for file in ckpt.weight_files:
        shapes.update({k: tuple(v["shape"]) for k, v in safetensors_header(file).items()})
    out: dict[str, Any] = {}
    for name in names:
        try:
            key, transform = torch_utils.torch_key_to_jax_key(mapping, name)
        except ValueError:
            continue
        value = _gemma3_attention(params, key) if key.startswith("tmp.") else params.get(key)
        if value is None:
            continue
        value = np.asarray(value)
        hf_shape = shapes[name]
        if transform is not None:
            permute, reshape = transform
            permuted = tuple(hf_shape[i] for i in permute) if permute else hf_shape
            if reshape:
                value = value.reshape(permuted)
            if permute:
                value = value.transpose(np.argsort(permute))
        if value.shape != hf_shape:
            raise CheckpointError(f"cannot write {name}: the model holds shape {value.shape}, the base {hf_shape}")
        out[name] = value
    return out


def _gemma3_attention(params: dict[str, Any], key: str) -> Any:
    """Gemma 3's q, k and v as the loader's intermediate (D, N, H) tensors, from the fused einsums."""
    import numpy as np

    match = re.fullmatch(r"tmp\.layers\.([0-9]+)\.attn\.([qkv])", key)
    if match is None:
        return None
    layer, slot = match.groups()
    prefix = f"layers.{layer}.attn."
    if prefix + "qkv_einsum.w" in params:
        value = np.asarray(params[prefix + "qkv_einsum.w"])["qkv".index(slot)]
    elif slot == "q":
        value = np.asarray(params[prefix + "q_einsum.w"])
    else:
        value = np.asarray(params[prefix + "kv_einsum.w"])["kv".index(slot)]
    return value.transpose(1, 0, 2)
