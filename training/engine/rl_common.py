"""What GRPO and DPO runs share: a run directory made from the parent's, the parent's weights,
the optimiser, per-step metrics from Tunix's loggers, and the final snapshot.

A child run keeps the parent's tokenizer and ``model.json``, and saves the parent's final
weights as its own ``initial`` checkpoint, so ``evaluate --checkpoint initial`` scores the
parent model and ``--checkpoint final`` the fine-tuned one, with the same code as for SFT.
"""

from __future__ import annotations

import math
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from training.engine.config import DPORunConfig, GRPORunConfig
from training.engine.models import SPEC_FILE, ModelSpec
from training.engine.sft import FINAL, INITIAL, TrainingError, checkpoint_root
from training.engine.tokenizer import HF_TOKENIZER_FILE, TOKENIZER_FILE

if TYPE_CHECKING:
    import optax
    from flax import nnx

StepCallback = Callable[[int, dict[str, float]], None]
TOKENIZER_DIR = "tokenizer"


def prepare_child_run(*, parent_dir: Path, run_dir: Path) -> ModelSpec:
    """Copy the parent's tokenizer and model spec into ``run_dir``; refuse a used directory."""
    parent_dir, run_dir = Path(parent_dir), Path(run_dir)
    for which in (INITIAL, FINAL):
        d = checkpoint_root(run_dir, which)
        if d.exists() and any(d.iterdir()):
            raise TrainingError(f"checkpoint directory {d} is not empty; use a fresh run directory")
    final = checkpoint_root(parent_dir, FINAL)
    if not final.is_dir() or not any(final.iterdir()):
        raise TrainingError(f"the parent run has no final checkpoint under {final}")
    tokenizer = parent_dir / TOKENIZER_DIR
    if not any((tokenizer / name).is_file() for name in (TOKENIZER_FILE, HF_TOKENIZER_FILE)):
        raise TrainingError(f"the parent run has no tokenizer at {tokenizer / TOKENIZER_FILE}")
    spec = ModelSpec.load(parent_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    shutil.copytree(tokenizer, run_dir / TOKENIZER_DIR, dirs_exist_ok=True)
    shutil.copy2(parent_dir / SPEC_FILE, run_dir / SPEC_FILE)
    return spec


def load_parent_weights(*, parent_dir: Path, mesh: Any = None) -> nnx.Module:
    """A fresh copy of the parent's final model on ``mesh`` (call twice for policy and frozen reference)."""
    from training.engine.sampling import SamplingError, load_run_model

    try:
        return load_run_model(run_dir=Path(parent_dir), checkpoint=FINAL, mesh=mesh)
    except SamplingError as exc:
        raise TrainingError(f"cannot load the parent run's final weights: {exc}") from exc


def make_rl_optimizer(config: GRPORunConfig | DPORunConfig) -> optax.GradientTransformation:
    """AdamW behind global-norm clipping; linear warmup, then cosine from peak to end."""
    import optax

    t = config.training
    if t.warmup_steps == 0 and t.learning_rate.end == t.learning_rate.peak:
        schedule: Any = optax.constant_schedule(t.learning_rate.peak)
    else:
        schedule = optax.warmup_cosine_decay_schedule(
            init_value=0.0 if t.warmup_steps else t.learning_rate.peak,
            peak_value=t.learning_rate.peak,
            warmup_steps=t.warmup_steps,
            decay_steps=t.max_steps,
            end_value=t.learning_rate.end,
        )

    def chain(learning_rate: Any) -> optax.GradientTransformation:
        return optax.chain(
            optax.clip_by_global_norm(t.grad_clip),
            optax.adamw(learning_rate=learning_rate, b2=t.b2, weight_decay=t.weight_decay),
        )

    return optax.inject_hyperparams(chain)(learning_rate=schedule)


def save_snapshot(*, model: nnx.Module, run_dir: Path, which: str, step: int, lora: bool) -> Path:
    """Save weights in the layout ``sampling.load_run_model`` restores; returns the step directory."""
    from tunix.sft import checkpoint_manager

    root = checkpoint_root(run_dir, which)
    manager = checkpoint_manager.CheckpointManager(root_directory=str(root.resolve()))
    try:
        manager.save(step, model, save_only_lora_params=lora, force=True)
    finally:
        manager.close()
    return root / str(step)


class StepMetrics:
    """Collects the scalars Tunix's metric loggers publish through ``jax.monitoring``, by step.

    Tunix writes a step's metrics after the next step has started (the last ones when the
    trainer closes), under names like ``actor/train/kl`` or ``rewards/train/check_answer``.
    ``rename`` maps each name kept to the run's metric name and a step offset (GRPO's rollout
    metrics count global steps from 0, its trainer's from 1). ``on_step`` gets a step once a
    scalar two steps later arrives, so late writers have finished it, and the rest at ``flush``.
    A value that is not finite stops the run with ``TrainingError`` (stored metrics are JSON numbers).
    """

    def __init__(
        self, *, rename: dict[str, tuple[str, int]], on_step: StepCallback | None, log_every: int, max_steps: int
    ):
        self.rename = rename
        self.on_step = on_step
        self.log_every = log_every
        self.max_steps = max_steps
        self.history: dict[int, dict[str, float]] = {}
        self._emitted = 0

    def __enter__(self) -> StepMetrics:
        import jax

        jax.monitoring.register_scalar_listener(self._listen)
        return self

    def __exit__(self, *exc: object) -> None:
        import jax

        jax.monitoring.unregister_scalar_listener(self._listen)

    def _listen(self, event: str, value: float | int, **kwargs: Any) -> None:
        target = self.rename.get(event)
        step = kwargs.get("step")
        if target is None or step is None:
            return
        name, offset = target
        step = int(step) + offset
        if not math.isfinite(value):
            raise TrainingError(f"{name} is {value} at step {step}: training diverged (try a lower learning rate)")
        self.history.setdefault(step, {})[name] = float(value)
        self._emit_until(step - 2)

    def _emit_until(self, last: int) -> None:
        for step in sorted(s for s in self.history if self._emitted < s <= last):
            self._emitted = step
            if self.on_step is not None and (step % self.log_every == 0 or step == self.max_steps):
                self.on_step(step, dict(self.history[step]))

    def flush(self) -> None:
        self._emit_until(max(self.history, default=0))

    def last(self, name: str) -> float | None:
        for step in sorted(self.history, reverse=True):
            if name in self.history[step]:
                return self.history[step][name]
        return None
