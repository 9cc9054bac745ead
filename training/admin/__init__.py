"""Training and evaluation in the admin, one module per model family; importing registers them."""

from __future__ import annotations

from training.admin import eval_sets, evaluations, runs

__all__ = ["eval_sets", "evaluations", "runs"]
