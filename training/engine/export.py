"""A trained run of a pretrained model written back as a Hugging Face directory (merged weights)."""

from __future__ import annotations

from pathlib import Path

from training.engine.hf import CheckpointError, export_adapter, export_merged
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
