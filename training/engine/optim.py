"""The SFT optimizer: AdamW behind global-norm clipping, with a warmup-cosine learning-rate schedule."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from training.engine.config import SFTConfig

if TYPE_CHECKING:
    import optax


def make_optimizer(config: SFTConfig) -> optax.GradientTransformation:
    """AdamW behind global-norm clipping, linear warmup then cosine decay to the end rate.

    `inject_hyperparams` exposes the learning rate where Tunix's trainer looks for it.
    """
    import optax

    t = config.training
    schedule = learning_rate_schedule(config)

    def chain(learning_rate: Any) -> optax.GradientTransformation:
        return optax.chain(
            optax.clip_by_global_norm(t.grad_clip),
            optax.adamw(learning_rate=learning_rate, b2=t.b2, weight_decay=t.weight_decay),
        )

    return optax.inject_hyperparams(chain)(learning_rate=schedule)


def learning_rate_schedule(config: SFTConfig) -> optax.Schedule:
    import optax

    t = config.training
    return optax.warmup_cosine_decay_schedule(
        init_value=0.0,
        peak_value=t.learning_rate.peak,
        warmup_steps=t.warmup_steps,
        decay_steps=t.max_steps,
        end_value=t.learning_rate.end,
    )
