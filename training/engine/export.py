"""A trained run of a pretrained model written back as a Hugging Face directory: merged weights through
Tunix's LoRA-merging saver, a fully fine-tuned model through the inverse of Tunix's key map, or a PEFT adapter."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any

from training.engine.hf import (
    CheckpointError,
    HFCheckpoint,
    inspect_checkpoint,
    safetensors_header,
)
from training.engine.hf_load import params_module

if TYPE_CHECKING:
    from flax import nnx

from training.engine.models import ModelSpec
from training.engine.sft import FINAL
from training.engine.stack import ensure_training_stack


def export_run(*, run_dir: Path, out_dir: Path, checkpoint: str = FINAL, adapter_only: bool = False) -> Path:
    """Write the run's ``checkpoint`` weights, LoRA merged in, with the base model's config and tokenizer files
    (or, with ``adapter_only``, the LoRA adapters alone as a PEFT adapter directory).

    The output is what transformers, vLLM and ``model.mode: pretrained`` load; a run that did not
    start from a Hugging Face directory, or a non-empty ``out_dir``, is a ``CheckpointError``.
    """
    ensure_training_stack()
    from training.engine.sampling import load_run_model

    spec = ModelSpec.load(Path(run_dir))
    if spec.mode != "pretrained" or spec.base_checkpoint_path is None:
        raise CheckpointError(
            f"run {run_dir} trained a {spec.mode!r} model; only runs with model.mode 'pretrained' export "
            "to a Hugging Face directory"
        )
    out_dir = Path(out_dir)
    if out_dir.exists() and any(out_dir.iterdir()):
        raise CheckpointError(f"output directory {out_dir} is not empty")
    if adapter_only and spec.lora is None:
        raise CheckpointError(f"run {run_dir} fine-tuned every weight: it has no LoRA adapter to export")
    model = load_run_model(run_dir=Path(run_dir), checkpoint=checkpoint)
    if adapter_only and spec.lora is not None:
        return export_adapter(model=model, base=spec.base_checkpoint_path, out_dir=out_dir, lora=spec.lora)
    return export_merged(model=model, base=spec.base_checkpoint_path, out_dir=out_dir, lora=spec.lora)


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

    module = params_module(ckpt.family)
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
