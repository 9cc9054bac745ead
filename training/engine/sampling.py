"""Generation with Tunix's `Sampler` from a run's initial or final checkpoint: greedy, or sampled
several times a prompt at a temperature (seeded)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from training.engine.config import MeshConfig
from training.engine.data import wrap_prompt
from training.engine.models import ModelSpec, build_model, make_mesh
from training.engine.sft import FINAL, INITIAL, checkpoint_root
from training.engine.stack import ensure_training_stack
from training.engine.tokenizer import load_run_tokenizer, run_stop_ids

if TYPE_CHECKING:
    import jax
    from flax import nnx


class SamplingError(RuntimeError):
    """Generation could not run: missing run files or a bad request."""


def load_run_model(*, run_dir: Path, checkpoint: str, mesh: jax.sharding.Mesh | None = None) -> nnx.Module:
    """Rebuild the run's model skeleton (on ``mesh``) and restore the chosen snapshot into it."""
    from tunix.sft import checkpoint_manager

    if checkpoint not in (INITIAL, FINAL):
        raise SamplingError(f"checkpoint must be {INITIAL!r} or {FINAL!r}, got {checkpoint!r}")
    root = checkpoint_root(run_dir, checkpoint)
    if not root.is_dir() or not any(root.iterdir()):
        raise SamplingError(f"no {checkpoint} checkpoint under {root}")
    spec = ModelSpec.load(run_dir)
    model = build_model(spec=spec, mesh=mesh)
    manager = checkpoint_manager.CheckpointManager(root_directory=str(root.resolve()))
    try:
        step, _ = manager.maybe_restore(model, restore_only_lora_params=spec.lora is not None)
    finally:
        manager.close()
    if checkpoint == FINAL and step == 0:
        raise SamplingError(f"final checkpoint under {root} holds no trained step")
    return model


def generate(
    *,
    run_dir: Path,
    checkpoint: str,
    prompts: list[str],
    max_new_tokens: int,
    batch_size: int = 50,
    samples: int = 1,
    temperature: float = 0.0,
    seed: int = 0,
    mesh: MeshConfig | None = None,
) -> list[str]:
    """Completions of raw user prompts, wrapped in the training turn template (a pretrained
    model's own chat template), on the ``mesh`` of the run's config (one device by default).

    Greedy when ``temperature`` is 0; otherwise ``samples`` completions of each prompt at that
    temperature, returned prompt by prompt (the prompt's samples next to each other), drawn from
    ``seed`` so that the same call gives the same text on one machine. Each output stops before
    eos or `<end_of_turn>` and is returned without them. Batches are padded to a fixed size so
    XLA compiles once per run.
    """
    ensure_training_stack()
    from tunix.generate import sampler as sampler_lib

    if max_new_tokens < 1:
        raise SamplingError("max_new_tokens must be >= 1")
    if batch_size < 1:
        raise SamplingError("batch_size must be >= 1")
    if samples < 1:
        raise SamplingError("samples must be >= 1")
    if temperature < 0:
        raise SamplingError("temperature must be >= 0")
    if samples > 1 and temperature == 0:
        raise SamplingError("several samples of a prompt need a temperature above 0 (greedy gives one answer)")
    if not prompts:
        return []
    run_dir = Path(run_dir)
    processor = load_run_tokenizer(tokenizer_dir=run_dir / "tokenizer")
    device_mesh = make_mesh(mesh)
    model = load_run_model(run_dir=run_dir, checkpoint=checkpoint, mesh=device_mesh)
    texts = [wrap_prompt(p, processor) for p in prompts for _ in range(samples)]
    longest = max(len(processor.EncodeAsIds(t)) + 1 for t in texts)
    prompt_len = 1 << (longest - 1).bit_length()
    config: Any = model.config  # type: ignore[attr-defined]
    sampler = sampler_lib.Sampler(
        transformer=model,
        tokenizer=processor,
        cache_config=sampler_lib.CacheConfig(
            cache_size=prompt_len + max_new_tokens,
            num_layers=config.num_layers,
            num_kv_heads=config.num_kv_heads,
            head_dim=config.head_dim,
        ),
    )
    stops = run_stop_ids(processor)
    size = min(batch_size, len(texts))
    size = -(-size // device_mesh.shape["fsdp"]) * device_mesh.shape["fsdp"]
    outputs: list[str] = []
    with device_mesh:
        for number, start in enumerate(range(0, len(texts), size)):
            chunk = texts[start : start + size]
            padded = chunk + [chunk[-1]] * (size - len(chunk))
            result = sampler(
                padded,
                max_generation_steps=max_new_tokens,
                max_prompt_length=prompt_len,
                eos_tokens=stops,
                temperature=temperature,
                top_p=1.0 if temperature > 0 else None,  # Tunix samples only in its top-p mode; 1.0 keeps every token
                seed=seed + number if temperature > 0 else None,
            )
            outputs.extend(result.text[: len(chunk)])
    return outputs
