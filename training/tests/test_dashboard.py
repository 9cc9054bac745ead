"""The home page's runs: held-out accuracy before and after per run, from the right evaluations, in two queries."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from training.dashboard import recent_runs
from training.selectors import training_runs_recent_with_accuracy
from training.tests.factories import EvalSetFactory, EvaluationRunFactory, TrainingRunFactory

pytestmark = pytest.mark.django_db


def test_before_and_after_come_from_the_latest_held_out_evaluations_on_one_eval_set(
    django_assert_num_queries: Any,
) -> None:
    now = timezone.now()
    held_out, other = EvalSetFactory.create(name="held-out"), EvalSetFactory.create(name="other")
    run = TrainingRunFactory.create(created_at=now)
    unmeasured = TrainingRunFactory.create(created_at=now - timedelta(hours=1))
    for minutes, checkpoint, eval_set, accuracy, extra in (
        (1, "initial", held_out, 0.2, {}),
        (2, "initial", other, 0.9, {}),  # another eval set than the latest final: not its "before"
        (3, "final", held_out, 0.6, {}),
        (4, "final", held_out, 0.7, {}),  # the latest final wins
        (5, "final", held_out, 0.99, {"trained_prompts": True}),  # no held-out measure
        (6, "final", held_out, 0.95, {"status": "failed"}),
    ):
        EvaluationRunFactory.create(
            training_run=run,
            eval_set=eval_set,
            checkpoint=checkpoint,
            accuracy=accuracy,
            created_at=now + timedelta(minutes=minutes),
            **extra,
        )
    with django_assert_num_queries(2):
        rows = training_runs_recent_with_accuracy(limit=5)
    assert [row["run"] for row in rows] == [run, unmeasured]
    assert (rows[0]["before"].accuracy, rows[0]["after"].accuracy) == (0.2, 0.7)
    assert rows[1]["before"] is None and rows[1]["after"] is None


def test_no_before_from_another_eval_set_than_the_after() -> None:
    run = TrainingRunFactory.create()
    EvaluationRunFactory.create(training_run=run, checkpoint="initial", accuracy=0.1)
    EvaluationRunFactory.create(training_run=run, checkpoint="final", accuracy=0.4)
    (row,) = training_runs_recent_with_accuracy(limit=5)
    assert row["before"] is None and row["after"].accuracy == 0.4
    only_initial = TrainingRunFactory.create()
    EvaluationRunFactory.create(training_run=only_initial, checkpoint="initial", accuracy=0.3)
    assert training_runs_recent_with_accuracy(limit=1)[0]["before"].accuracy == 0.3


def test_the_panel_charts_only_measured_runs(rf: Any) -> None:
    run = TrainingRunFactory.create(recipe="sft_tiny")
    TrainingRunFactory.create(created_at=timezone.now() - timedelta(days=1))
    EvaluationRunFactory.create(training_run=run, checkpoint="final", accuracy=0.5)
    panel = recent_runs(rf.get("/admin/"))
    assert len(panel["runs"]) == 2
    assert [row["label"] for row in panel["chart"]["rows"]] == [f"sft_tiny {str(run.pk)[:8]}"]
    assert [bar["text"] for bar in panel["chart"]["rows"][0]["bars"]] == ["–", "50%"]
