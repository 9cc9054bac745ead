"""Writes and orchestration of the ``training`` app, one module per sub-domain.

``runs`` (training runs), ``configs`` (presets, files, API guardrails), ``eval_sets``,
``evaluations``, ``reports`` and ``exports`` (a run as a Hugging Face directory); the names
other code uses are re-exported here.
"""

from __future__ import annotations

from training.services.configs import config_check_model_paths, config_load, preset_path, recipe_of
from training.services.eval_sets import eval_items_from_generator, eval_set_from_split, eval_set_import
from training.services.evaluations import (
    EVALUATION_OPTIONS,
    aggregate,
    evaluation_cancel,
    evaluation_create,
    evaluation_enqueue,
    evaluation_execute,
    score_example,
    shared_prompts,
)
from training.services.execution import RunCancelled, training_stack_ready
from training.services.exports import training_run_export
from training.services.reports import evaluation_report, report_markdown
from training.services.rl_runs import (
    rl_records,
    rl_run_create,
    rl_run_dry_run,
    rl_run_enqueue,
    rl_run_execute,
)
from training.services.runs import (
    training_jobs_reap,
    training_records,
    training_run_cancel,
    training_run_create,
    training_run_dry_run,
    training_run_enqueue,
    training_run_execute,
    training_run_fail,
)

__all__ = [
    "EVALUATION_OPTIONS",
    "RunCancelled",
    "aggregate",
    "config_check_model_paths",
    "config_load",
    "eval_items_from_generator",
    "eval_set_from_split",
    "eval_set_import",
    "evaluation_cancel",
    "evaluation_create",
    "evaluation_enqueue",
    "evaluation_execute",
    "evaluation_report",
    "preset_path",
    "recipe_of",
    "report_markdown",
    "rl_records",
    "rl_run_create",
    "rl_run_dry_run",
    "rl_run_enqueue",
    "rl_run_execute",
    "score_example",
    "shared_prompts",
    "training_jobs_reap",
    "training_records",
    "training_run_cancel",
    "training_run_create",
    "training_run_dry_run",
    "training_run_enqueue",
    "training_run_execute",
    "training_run_export",
    "training_run_fail",
    "training_stack_ready",
]
