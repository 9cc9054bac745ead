"""Eval items drawn from a dataset split, and the rule that a run is never evaluated on its own training data."""

from __future__ import annotations

from typing import Any

from datasets.selectors import dataset_get, dataset_iter_traces
from training.models import EvalSet, TrainingRun
from tunix_rt.errors import InvalidInput, NotFound

TEXT_FIELD_MAX = 64


def _label(meta: dict[str, Any], *keys: str) -> str:
    """The first of ``keys`` whose value is a plain string or number, as text."""
    for key in keys:
        value = meta.get(key)
        if not isinstance(value, bool) and isinstance(value, str | int | float) and str(value):
            return str(value)[:TEXT_FIELD_MAX]
    return ""


def eval_items_from_split(*, dataset_key: str, split: str) -> list[dict[str, Any]]:
    """One item per trace of the split that still exists, in manifest order: the trace id, prompt and answer,
    labelled by ``meta`` (category: ``category``, ``generator`` or ``source``; difficulty: ``difficulty`` or
    ``level``) when those are plain values.

    An unknown dataset or split is ``InvalidInput`` naming ``from_dataset`` or ``split``.
    """
    try:
        dataset = dataset_get(key=dataset_key)
    except NotFound as exc:
        raise InvalidInput(exc.message, field="from_dataset") from None
    items = []
    for trace in dataset_iter_traces(dataset=dataset, split=split):
        meta = trace.meta if isinstance(trace.meta, dict) else {}
        items.append(
            {
                "id": str(trace.id),
                "prompt": trace.prompt,
                "expected_answer": trace.final_answer,
                "category": _label(meta, "category", "generator", "source"),
                "difficulty": _label(meta, "difficulty", "level"),
            }
        )
    return items


def check_not_trained_on(*, training_run: TrainingRun, eval_set: EvalSet) -> None:
    """Refuses an eval set drawn from the run's own training data: the split it trained on, or any split of
    its dataset when it trained on the whole dataset."""
    if not eval_set.source_dataset_key or eval_set.source_dataset_key != training_run.dataset_key:
        return
    if training_run.split and training_run.split != eval_set.source_split:
        return
    trained_on = f"split {training_run.split!r}" if training_run.split else "the whole dataset"
    raise InvalidInput(
        f"Eval set {eval_set.name!r} is drawn from split {eval_set.source_split!r} of {training_run.dataset_key}, "
        f"and run {training_run.run_id} trained on {trained_on} of that dataset: evaluate on a held-out split.",
        field="eval_set",
    )
