"""Supervised fine-tuning with Tunix's `PeftTrainer` on prompt_completion records."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from training.engine.config import ConfigError, SFTConfig
from training.engine.data import DataError, encode_records, iter_training_inputs, record_texts, template_records
from training.engine.models import (
    ModelLoadError,
    ModelSpec,
    build_model,
    lora_dict,
    make_mesh,
    read_model_config_file,
    tiny_config_dict,
)
from training.engine.optim import learning_rate_schedule, make_optimizer
from training.engine.stack import ensure_training_stack
from training.engine.tokenizer import (
    TokenizerError,
    copy_hf_tokenizer,
    copy_tokenizer,
    fit_tokenizer,
    load_tokenizer,
)

if TYPE_CHECKING:
    from flax import nnx

StepCallback = Callable[[int, dict[str, float]], None]
CHECKPOINTS = "checkpoints"
INITIAL = "initial"
FINAL = "final"


class TrainingError(RuntimeError):
    """Training could not start or did not finish; the message says why."""


@dataclass(frozen=True)
class SFTResult:
    steps: int
    final_loss: float
    losses: list[float]
    run_dir: Path
    tokenizer_path: Path
    initial_checkpoint: Path
    final_checkpoint: Path
    seconds: float
    metrics: dict[str, float] = field(default_factory=dict)


def checkpoint_root(run_dir: Path, which: str) -> Path:
    """Directory that Tunix's checkpoint manager owns for the initial or final weights."""
    return run_dir / CHECKPOINTS / which


def run_sft(
    *,
    records: Sequence[Mapping[str, Any]],
    config: SFTConfig,
    run_dir: Path,
    on_step: StepCallback | None = None,
) -> SFTResult:
    """Train on `records` and leave tokenizer, model spec and checkpoints under `run_dir`.

    Precondition: `run_dir/checkpoints/{initial,final}` are absent or empty, because
    Tunix's trainer resumes from whatever it finds there. Deterministic for a given
    config, data and seed on one machine. `on_step(step, metrics)` gets the real
    training loss of every `log_every`-th step and of the last step.
    """
    ensure_training_stack()
    if not isinstance(config, SFTConfig):
        raise TrainingError(f"config must be an SFTConfig, got {type(config).__name__}")
    if len(records) == 0:
        raise TrainingError("no training records: the dataset export is empty")
    run_dir = Path(run_dir)
    initial_dir = checkpoint_root(run_dir, INITIAL)
    final_dir = checkpoint_root(run_dir, FINAL)
    for d in (initial_dir, final_dir):
        if d.exists() and any(d.iterdir()):
            raise TrainingError(f"checkpoint directory {d} is not empty; use a fresh run directory")
    run_dir.mkdir(parents=True, exist_ok=True)
    try:
        processor, tokenizer_path, spec = _prepare(records=records, config=config, run_dir=run_dir)
        tokens, mask = encode_records(
            records=template_records(records, processor),
            processor=processor,
            max_seq_len=config.training.max_seq_len,
            max_completion_len=config.eval.max_new_tokens if config.training.check_generation_budget else None,
        )
    except (DataError, TokenizerError, ModelLoadError, ConfigError) as exc:
        raise TrainingError(str(exc)) from exc
    spec.save(run_dir)
    start = time.perf_counter()
    try:
        losses = _train(
            spec=spec,
            config=config,
            tokens=tokens,
            mask=mask,
            pad_id=processor.pad_id(),
            initial_dir=initial_dir,
            final_dir=final_dir,
            on_step=on_step,
        )
    except MemoryError as exc:
        raise TrainingError(_oom_message(config)) from exc
    except Exception as exc:
        if "RESOURCE_EXHAUSTED" in str(exc) or "Out of memory" in str(exc):
            raise TrainingError(_oom_message(config)) from exc
        raise
    seconds = time.perf_counter() - start
    if not losses:
        raise TrainingError("the trainer ran no step")
    return SFTResult(
        steps=len(losses),
        final_loss=losses[-1],
        losses=losses,
        run_dir=run_dir,
        tokenizer_path=tokenizer_path,
        initial_checkpoint=_latest_step_dir(initial_dir),
        final_checkpoint=_latest_step_dir(final_dir),
        seconds=seconds,
        metrics={"steps_per_second": len(losses) / seconds if seconds else 0.0},
    )


def _prepare(*, records: Sequence[Mapping[str, Any]], config: SFTConfig, run_dir: Path) -> tuple[Any, Path, ModelSpec]:
    tokenizer_dir = run_dir / "tokenizer"
    processor: Any
    model = config.model
    if model.mode == "tiny":
        tokenizer_path = fit_tokenizer(
            texts=record_texts(records), out_dir=tokenizer_dir, vocab_size=config.tokenizer.vocab_size
        )
        processor = load_tokenizer(path=tokenizer_path)
        spec = ModelSpec(
            mode="tiny",
            model_config=tiny_config_dict(tiny=model.tiny, vocab_size=processor.get_piece_size()),
            dtype="float32",
            seed=config.training.seed,
        )
        return processor, tokenizer_path, spec
    if model.mode == "pretrained":
        from training.engine.hf import inspect_checkpoint

        if model.path is None:
            raise ConfigError("model.path is required when model.mode is 'pretrained'")
        checkpoint = inspect_checkpoint(model.path)
        processor = copy_hf_tokenizer(source=checkpoint.path, out_dir=tokenizer_dir)
        spec = ModelSpec(
            mode="pretrained",
            model_config={"family": checkpoint.family},
            dtype=model.dtype,
            seed=config.training.seed,
            base_checkpoint_path=str(checkpoint.path.resolve()),
            lora=lora_dict(model.lora),
        )
        return processor, tokenizer_dir, spec
    if not (model.tokenizer_path and model.checkpoint_path and model.model_config_path):
        raise ConfigError("checkpoint mode needs model.checkpoint_path, model_config_path and tokenizer_path")
    tokenizer_path = copy_tokenizer(source=Path(model.tokenizer_path), out_dir=tokenizer_dir)
    processor = load_tokenizer(path=tokenizer_path)
    fields = read_model_config_file(Path(model.model_config_path))
    spec = ModelSpec(
        mode="checkpoint",
        model_config=fields,
        dtype=model.dtype,
        seed=config.training.seed,
        base_checkpoint_path=str(Path(model.checkpoint_path).resolve()),
        lora=lora_dict(model.lora),
    )
    return processor, tokenizer_path, spec


def _train(
    *,
    spec: ModelSpec,
    config: SFTConfig,
    tokens: Any,
    mask: Any,
    pad_id: int,
    initial_dir: Path,
    final_dir: Path,
    on_step: StepCallback | None,
) -> list[float]:
    import orbax.checkpoint as ocp
    from tunix.sft import peft_trainer
    from tunix.sft import utils as sft_utils

    t = config.training
    mesh = make_mesh(config.mesh)
    model = build_model(spec=spec, mesh=mesh)
    lora = spec.lora is not None
    _save_weights(model=model, root=initial_dir, step=0, lora=lora)

    losses: list[float] = []
    loss_hook = _loss_hook(config=config, schedule=learning_rate_schedule(config), losses=losses, on_step=on_step)

    def gen_model_input(x: Any) -> dict[str, Any]:
        pad_mask = x.input_tokens != pad_id
        return {
            "input_tokens": x.input_tokens,
            "input_mask": x.input_mask,
            "positions": sft_utils.build_positions_from_mask(pad_mask),
            "attention_mask": sft_utils.make_causal_attn_mask(pad_mask),
        }

    save_every = t.checkpoint.save_every_steps or t.max_steps
    trainer_config = peft_trainer.TrainingConfig(
        eval_every_n_steps=t.max_steps + 1,
        max_steps=t.max_steps,
        checkpoint_root_directory=str(final_dir.resolve()),
        checkpointing_options=ocp.CheckpointManagerOptions(
            save_interval_steps=save_every, max_to_keep=t.checkpoint.max_to_keep
        ),
        pbar_description=None,
    )
    with mesh:
        trainer = peft_trainer.PeftTrainer(model, make_optimizer(config), trainer_config)
        if trainer.train_steps:
            raise TrainingError(f"trainer resumed from step {trainer.train_steps} in {final_dir}")
        trainer = trainer.with_gen_model_input_fn(gen_model_input)
        trainer.with_training_hooks(loss_hook)
        batches = iter_training_inputs(
            tokens=tokens,
            mask=mask,
            batch_size=t.batch_size,
            num_batches=t.max_steps,
            seed=t.seed,
            pad_multiple=t.pad_multiple,
        )
        trainer.train(batches)
    return losses


def _loss_hook(*, config: SFTConfig, schedule: Any, losses: list[float], on_step: StepCallback | None) -> Any:
    """A Tunix training hook that appends each step's mean training loss to ``losses`` and reports every
    ``log_every`` steps (and the last) to ``on_step``."""
    from tunix.sft import hooks

    t = config.training

    class _LossHook(hooks.TrainingHooks):
        """Receives the trainer's per-step mean training loss (written one step late)."""

        def on_train_start(self, train_ctx: Any) -> None:
            return None

        def on_train_end(self, train_ctx: Any) -> None:
            return None

        def on_train_step_start(self, train_ctx: Any) -> None:
            return None

        def on_train_step_end(self, train_ctx: Any, train_step: int, train_loss: float) -> None:
            loss = float(train_loss)
            losses.append(loss)
            if on_step is not None and (train_step % t.log_every == 0 or train_step == t.max_steps):
                on_step(train_step, {"loss": loss, "learning_rate": float(schedule(train_step - 1))})

        def on_eval_step_start(self, train_ctx: Any) -> None:
            return None

        def on_eval_step_end(self, train_ctx: Any, eval_loss: float) -> None:
            return None

    return _LossHook()


def _save_weights(*, model: nnx.Module, root: Path, step: int, lora: bool) -> None:
    """Save weights with Tunix's checkpoint manager so both snapshots share one layout."""
    from tunix.sft import checkpoint_manager

    manager = checkpoint_manager.CheckpointManager(root_directory=str(root.resolve()))
    try:
        manager.save(step, model, save_only_lora_params=lora, force=True)
    finally:
        manager.close()


def _latest_step_dir(root: Path) -> Path:
    steps = sorted((p for p in root.iterdir() if p.is_dir() and p.name.isdigit()), key=lambda p: int(p.name))
    if not steps:
        raise TrainingError(f"no checkpoint was written under {root}")
    return steps[-1]


def _oom_message(config: SFTConfig) -> str:
    t = config.training
    return (
        f"out of memory while training (batch_size={t.batch_size}, max_seq_len={t.max_seq_len}); "
        "lower training.batch_size or training.max_seq_len, or use a smaller model"
    )
