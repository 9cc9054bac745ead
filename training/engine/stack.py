"""Is the optional JAX/Tunix training stack installed? Answered without importing it."""

from __future__ import annotations

import importlib.util

INSTALL_HINT = "make install-training (installs requirements-training.txt into .venv)"
_STACK_MODULES = ("jax", "flax", "optax", "orbax.checkpoint", "qwix", "sentencepiece", "tunix")


class TrainingStackMissing(RuntimeError):
    """The optional JAX/Tunix stack is not installed in this environment."""


def ensure_training_stack() -> None:
    """Fail fast, without importing JAX, when the optional stack is absent."""
    missing = []
    for name in _STACK_MODULES:
        try:
            found = importlib.util.find_spec(name) is not None
        except ModuleNotFoundError:
            found = False
        if not found:
            missing.append(name)
    if missing:
        raise TrainingStackMissing(f"training stack not installed (missing: {', '.join(missing)}); run: {INSTALL_HINT}")
