"""GRPO with Tunix's ``GRPOLearner`` from a parent run's final weights, rewarded by the verifiers.

Actor, frozen reference and rollout sit on the config's device mesh (one device by default)
whose axes are ``AxisType.Auto`` (JAX's default Explicit axes break the Gemma3 embedder's gather). The
reward functions are ``traces.verifiers.rewards``: what a curator sees as ``tunix_reward`` is
what the policy is trained to raise.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from traces.verifiers.answers import answers_match
from training.engine.config import GRPORunConfig
from training.engine.data import DataError, template_records
from training.engine.models import make_mesh
from training.engine.rl_common import (
    StepCallback,
    StepMetrics,
    load_parent_weights,
    make_rl_optimizer,
    prepare_child_run,
    save_snapshot,
)
from training.engine.rl_data import (
    check_grpo_budgets,
    check_grpo_config,
    check_grpo_records,
    grpo_batches,
    reward_functions,
)
from training.engine.sft import FINAL, INITIAL, TrainingError
from training.engine.stack import ensure_training_stack
from training.engine.tokenizer import TokenizerError, load_run_tokenizer, run_stop_ids

SAMPLED_CORRECT = "sampled_correct"


@dataclass(frozen=True)
class RLResult:
    steps: int
    final_reward: float | None
    history: dict[int, dict[str, float]]
    run_dir: Path
    initial_checkpoint: Path
    final_checkpoint: Path
    seconds: float
    checks: dict[str, int] = field(default_factory=dict)


def grpo_metric_names(config: GRPORunConfig) -> dict[str, tuple[str, int]]:
    """Tunix's metric names (``prefix/mode/name``) to the run's, with their step offsets.

    The trainer's (loss, KL, learning rate) are numbered from 1; the rollout's (rewards,
    lengths, sampled correctness) by global step from 0, so they move up by one.
    """
    names = {
        "actor/train/loss": ("loss", 0),
        "actor/train/kl": ("kl", 0),
        "actor/train/learning_rate": ("learning_rate", 0),
        "rewards/train/sum": ("reward", 1),
        "completions/train/mean_length": ("completion_length", 1),
        f"{SAMPLED_CORRECT}/train/mean": (SAMPLED_CORRECT, 1),
    }
    for name in config.grpo.rewards:
        names[f"rewards/train/{name}"] = (f"reward_{name}", 1)
    return names


def sampled_correctness(prompts: Sequence[str], completions: Sequence[str], **kwargs: Any) -> dict[str, Any]:
    """Share of the sampled completions whose answer matches (the evaluation's exact match)."""
    answers = kwargs.get("answer")
    if answers is None:
        return {}
    hits = [answers_match(c, str(a)) for c, a in zip(completions, answers, strict=True)]
    return {f"{SAMPLED_CORRECT}/mean": (float(np.mean(hits)) if hits else 0.0, np.mean)}


def grpo_preflight(*, records: Sequence[Mapping[str, Any]], config: GRPORunConfig, parent_dir: Path) -> dict[str, int]:
    """Everything checked before any weight is loaded; errors name the record or the key."""
    try:
        check_grpo_config(config)
        check_grpo_records(records=records, config=config)
        processor = load_run_tokenizer(tokenizer_dir=Path(parent_dir) / "tokenizer")
        return check_grpo_budgets(records=template_records(records, processor), processor=processor, config=config)
    except (DataError, TokenizerError) as exc:
        raise TrainingError(str(exc)) from exc


def run_grpo(
    *,
    records: Sequence[Mapping[str, Any]],
    config: GRPORunConfig,
    parent_dir: Path,
    run_dir: Path,
    on_step: StepCallback | None = None,
) -> RLResult:
    """Train the parent's final weights with GRPO on ``records``; leave checkpoints under ``run_dir``.

    ``on_step(step, metrics)`` gets, every ``log_every`` steps and at the last, the step's mean
    total reward and each reward component, the KL to the reference, the policy loss, the mean
    completion length and the share of sampled completions with the right answer.
    """
    ensure_training_stack()
    if not isinstance(config, GRPORunConfig):
        raise TrainingError(f"config must be a GRPORunConfig, got {type(config).__name__}")
    checks = grpo_preflight(records=records, config=config, parent_dir=parent_dir)
    records = template_records(records, load_run_tokenizer(tokenizer_dir=Path(parent_dir) / "tokenizer"))
    run_dir = Path(run_dir)
    spec = prepare_child_run(parent_dir=parent_dir, run_dir=run_dir)
    lora = spec.lora is not None
    start = time.perf_counter()
    mesh = make_mesh(config.mesh)
    actor = load_parent_weights(parent_dir=parent_dir, mesh=mesh)
    initial = save_snapshot(model=actor, run_dir=run_dir, which=INITIAL, step=0, lora=lora)
    reference = load_parent_weights(parent_dir=parent_dir, mesh=mesh) if config.grpo.beta > 0 else None
    t = config.training
    metrics = StepMetrics(
        rename=grpo_metric_names(config), on_step=on_step, log_every=t.log_every, max_steps=t.max_steps
    )
    with metrics:
        cluster, learner = _learner(actor=actor, reference=reference, config=config, parent_dir=parent_dir, mesh=mesh)
        learner.train(grpo_batches(records=records, config=config))
        metrics.flush()
    steps = int(cluster.actor_trainer.train_steps)
    if steps == 0:
        raise TrainingError("the GRPO learner ran no step")
    final = save_snapshot(model=cluster.actor_trainer.model, run_dir=run_dir, which=FINAL, step=steps, lora=lora)
    return RLResult(
        steps=steps,
        final_reward=metrics.last("reward"),
        history=metrics.history,
        run_dir=run_dir,
        initial_checkpoint=initial,
        final_checkpoint=final,
        seconds=time.perf_counter() - start,
        checks=checks,
    )


def _learner(*, actor: Any, reference: Any, config: GRPORunConfig, parent_dir: Path, mesh: Any) -> tuple[Any, Any]:
    from tunix.rl import rl_cluster as rl_cluster_lib
    from tunix.rl.grpo import grpo_learner
    from tunix.rl.rollout import base_rollout

    g, t = config.grpo, config.training
    processor = load_run_tokenizer(tokenizer_dir=Path(parent_dir) / "tokenizer")
    Role = rl_cluster_lib.Role
    micro = g.micro_batch_size or t.batch_size
    training_config = rl_cluster_lib.RLTrainingConfig(
        actor_optimizer=make_rl_optimizer(config),
        eval_every_n_steps=t.max_steps + 1,
        max_steps=t.max_steps,
        mini_batch_size=t.batch_size,
        train_micro_batch_size=micro,
        rollout_micro_batch_size=micro,
        compute_logps_micro_batch_size=micro,
        checkpoint_root_directory=None,
        pbar_description=None,
    )
    rollout_config = base_rollout.RolloutConfig(
        max_tokens_to_generate=g.max_new_tokens,
        max_prompt_length=g.max_prompt_len,
        kv_cache_size=g.max_prompt_len + g.max_new_tokens + 8,
        temperature=g.temperature,
        top_p=g.top_p,
        top_k=g.top_k,
        seed=t.seed,
        eos_tokens=run_stop_ids(processor),
    )
    cluster = rl_cluster_lib.RLCluster(
        actor=actor,
        reference=reference,
        tokenizer=processor,
        cluster_config=rl_cluster_lib.ClusterConfig(
            role_to_mesh={Role.ACTOR: mesh, Role.REFERENCE: mesh, Role.ROLLOUT: mesh},
            rollout_engine="vanilla",
            offload_to_cpu=False,
            training_config=training_config,
            rollout_config=rollout_config,
        ),
    )
    learner = grpo_learner.GRPOLearner(
        rl_cluster=cluster,
        algo_config=grpo_learner.GRPOConfig(
            num_generations=g.num_generations, num_iterations=1, beta=g.beta, epsilon=g.epsilon
        ),
        reward_fns=reward_functions(g.rewards),
        metric_fns=[sampled_correctness],
        data_shuffle_seed=t.seed,
    )
    return cluster, learner
