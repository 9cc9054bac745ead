"""A training run's weights written back as a Hugging Face model directory."""

from __future__ import annotations

from pathlib import Path

from training.models import RunStatus, TrainingRun
from tunix_rt.errors import InvalidInput


def training_run_export(
    *, run: TrainingRun, output: str, checkpoint: str = "final", adapter_only: bool = False
) -> Path:
    """Writes the run's ``checkpoint`` weights (LoRA merged in) with its base model's config and tokenizer,
    or with ``adapter_only`` its LoRA adapters as a PEFT adapter directory.

    Only a succeeded run that started from a ``pretrained`` Hugging Face directory exports;
    anything else, or a non-empty ``output``, is ``InvalidInput`` with the reason.
    """
    from training.engine.export import export_run
    from training.engine.hf import CheckpointError

    if run.status != RunStatus.SUCCEEDED or run.dry_run:
        raise InvalidInput(f"Training run {run.run_id} has no trained weights ({run.status}).", field="run")
    try:
        return export_run(
            run_dir=Path(run.artifacts_path), out_dir=Path(output), checkpoint=checkpoint, adapter_only=adapter_only
        )
    except CheckpointError as exc:
        raise InvalidInput(str(exc), field="output") from None
