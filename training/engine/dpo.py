"""DPO (or ORPO) with Tunix's ``DPOTrainer`` from a parent run's final weights, on ``dpo``-format pairs.

The parent's final weights are both the policy's start and, for DPO, the frozen reference (ORPO
has none: its loss is the chosen side's NLL plus the odds-ratio term). Pairs are
tokenised here (``rl_data.encode_preferences``), so an over-long pair is refused by name
instead of being cut. Per step the run records the DPO loss, the mean chosen-over-rejected
reward margin and the preference accuracy (share of pairs whose chosen completion gains more
log-probability against the reference than the rejected one).
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from training.engine.config import DPORunConfig
from training.engine.data import DataError
from training.engine.grpo import RLResult
from training.engine.models import make_mesh
from training.engine.rl_common import (
    StepCallback,
    StepMetrics,
    load_parent_weights,
    make_rl_optimizer,
    prepare_child_run,
    save_snapshot,
)
from training.engine.rl_data import encode_preferences, preference_batches, template_preferences
from training.engine.sft import FINAL, INITIAL, TrainingError
from training.engine.stack import ensure_training_stack
from training.engine.tokenizer import TokenizerError, load_run_tokenizer

_PREFIX = "dpo"


def dpo_metric_names() -> dict[str, tuple[str, int]]:
    """Tunix's DPO trainer metrics to the run's; the trainer numbers its steps from 1."""
    names = {
        "loss": "loss",
        "learning_rate": "learning_rate",
        "rewards/margin": "margin",
        "rewards/accuracy": "preference_accuracy",
        "rewards/chosen": "reward_chosen",
        "rewards/rejected": "reward_rejected",
        "log_probs/chosen": "logp_chosen",
        "log_probs/rejected": "logp_rejected",
    }  # not ORPO's odds_ratio: exp of a summed log-odds, infinite in float32 for long completions
    return {f"{_PREFIX}/train/{tunix}": (ours, 0) for tunix, ours in names.items()}


def run_dpo(
    *,
    records: Sequence[Mapping[str, Any]],
    config: DPORunConfig,
    parent_dir: Path,
    run_dir: Path,
    on_step: StepCallback | None = None,
) -> RLResult:
    """Train the parent's final weights with DPO on ``records`` (``prompt``, ``chosen``, ``rejected``)."""
    ensure_training_stack()
    if not isinstance(config, DPORunConfig):
        raise TrainingError(f"config must be a DPORunConfig, got {type(config).__name__}")
    try:
        processor = load_run_tokenizer(tokenizer_dir=Path(parent_dir) / "tokenizer")
        records = template_preferences(records, processor)
        arrays = encode_preferences(records=records, processor=processor, config=config)
    except (DataError, TokenizerError) as exc:
        raise TrainingError(str(exc)) from exc
    run_dir = Path(run_dir)
    spec = prepare_child_run(parent_dir=parent_dir, run_dir=run_dir)
    lora = spec.lora is not None
    start = time.perf_counter()
    mesh = make_mesh(config.mesh)
    policy = load_parent_weights(parent_dir=parent_dir, mesh=mesh)
    initial = save_snapshot(model=policy, run_dir=run_dir, which=INITIAL, step=0, lora=lora)
    orpo = config.dpo.algorithm == "orpo"
    reference = None if orpo else load_parent_weights(parent_dir=parent_dir, mesh=mesh)
    t = config.training
    metrics = StepMetrics(rename=dpo_metric_names(), on_step=on_step, log_every=t.log_every, max_steps=t.max_steps)
    with metrics, mesh:
        trainer = _trainer(policy=policy, reference=reference, config=config)
        trainer.train(preference_batches(arrays=arrays, config=config))
        metrics.flush()
    steps = int(trainer.train_steps)
    if steps == 0:
        raise TrainingError("the DPO trainer ran no step")
    final = save_snapshot(model=policy, run_dir=run_dir, which=FINAL, step=steps, lora=lora)
    return RLResult(
        steps=steps,
        final_reward=metrics.last("margin"),
        history=metrics.history,
        run_dir=run_dir,
        initial_checkpoint=initial,
        final_checkpoint=final,
        seconds=time.perf_counter() - start,
        checks={"pairs": len(records)},
    )


def _trainer(*, policy: Any, reference: Any | None, config: DPORunConfig) -> Any:
    from tunix.sft.dpo import dpo_trainer

    t, d = config.training, config.dpo
    training_config = dpo_trainer.DPOTrainingConfig(
        algorithm=d.algorithm,
        beta=d.beta,
        lambda_orpo=d.lambda_orpo,
        label_smoothing=d.label_smoothing,
        eval_every_n_steps=t.max_steps + 1,
        max_steps=t.max_steps,
        checkpoint_root_directory=None,
        pbar_description=None,
        metrics_prefix=_PREFIX,
    )
    trainer = dpo_trainer.DPOTrainer(
        model=policy, ref_model=reference, optimizer=make_rl_optimizer(config), training_config=training_config
    )
    if trainer.train_steps:
        raise TrainingError(f"the DPO trainer resumed from step {trainer.train_steps}")
    return trainer
