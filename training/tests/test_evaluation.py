from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from datasets.models import Dataset
from training import services as evaluation
from training.models import EvalSet, EvaluationResult, RunStatus
from training.tests.factories import EvalItemFactory, EvalSetFactory, EvaluationRunFactory, TrainingRunFactory
from tunix_rt.errors import Conflict, InvalidInput

pytestmark = pytest.mark.django_db

GOOD = "<reasoning>1. Ones: 2 + 3 = 5.</reasoning>\n<answer>5</answer>"


def test_score_example() -> None:
    assert evaluation.score_example(generated=GOOD, expected="5") == {
        "predicted_answer": "5", "correct": True, "format_ok": True, "score": 1.0,
    }  # fmt: skip
    assert evaluation.score_example(generated="Answer: 5", expected="5.0") == {
        "predicted_answer": "5", "correct": True, "format_ok": False, "score": 1.0,
    }  # fmt: skip
    assert evaluation.score_example(generated="no idea", expected="5")["predicted_answer"] is None


def test_aggregate_overall_and_per_category() -> None:
    rows = [
        EvaluationResult(correct=True, format_ok=True, category="addition"),
        EvaluationResult(correct=False, format_ok=True, category="addition"),
        EvaluationResult(correct=True, format_ok=False, category="subtraction"),
        EvaluationResult(correct=False, format_ok=False, category=""),
    ]
    accuracy, format_rate, per_category = evaluation.aggregate(rows)
    assert (accuracy, format_rate) == (0.5, 0.5)
    assert per_category == {
        "addition": {"count": 2, "accuracy": 0.5, "format_rate": 1.0},
        "subtraction": {"count": 1, "accuracy": 1.0, "format_rate": 0.0},
        "uncategorised": {"count": 1, "accuracy": 0.0, "format_rate": 0.0},
    }
    assert evaluation.aggregate([]) == (0.0, 0.0, {})


def test_eval_set_import_is_whole_or_nothing() -> None:
    items: list[dict[str, Any]] = [{"id": "a", "prompt": "p", "expected_answer": "1"}]
    eval_set = evaluation.eval_set_import(name="s", items=items)
    assert eval_set.item_count == 1 and eval_set.items.get().category == ""
    with pytest.raises(Conflict):
        evaluation.eval_set_import(name="s", items=items)
    with pytest.raises(InvalidInput, match="repeated: a"):
        evaluation.eval_set_import(name="t", items=items * 2)
    with pytest.raises(InvalidInput):
        evaluation.eval_set_import(name="u", items=[])
    assert EvalSet.objects.count() == 1


def test_contamination_check_ignores_case_and_spacing(arith_dataset: Dataset) -> None:
    from traces.models import Trace

    prompt = Trace.objects.first().prompt  # type: ignore[union-attr]
    run = TrainingRunFactory.create(dataset_key="arith-1.0")
    eval_set = EvalSetFactory.create()
    EvalItemFactory.create(eval_set=eval_set, prompt="  " + prompt.upper().replace(" ", "  "))
    with pytest.raises(InvalidInput, match="Contamination: .* shares 1 prompt"):
        evaluation.evaluation_create(training_run=run, eval_set=eval_set, checkpoint="final")
    with pytest.raises(InvalidInput, match="checkpoint"):
        evaluation.evaluation_create(training_run=run, eval_set=eval_set, checkpoint="middle")


def test_execute_scores_and_stores_every_example(arith_dataset: Dataset, fake_engine: Callable[..., None]) -> None:
    run = TrainingRunFactory.create(dataset_key="arith-1.0")
    eval_set = EvalSetFactory.create(item_count=2)
    EvalItemFactory.create(eval_set=eval_set, prompt="What is 2 + 3?", expected_answer="5", category="addition")
    EvalItemFactory.create(eval_set=eval_set, prompt="What is 9 - 3?", expected_answer="6", category="subtraction")
    fake_engine(outputs=lambda prompts: [GOOD, "Answer: 7"])
    created = evaluation.evaluation_create(training_run=run, eval_set=eval_set, checkpoint="initial")
    done = evaluation.evaluation_execute(evaluation=created)
    assert done.status == RunStatus.SUCCEEDED
    assert (done.accuracy, done.format_rate) == (0.5, 0.5)
    results = list(done.results.order_by("position").values_list("prompt", "predicted_answer", "correct", "format_ok"))
    assert results == [("What is 2 + 3?", "5", True, True), ("What is 9 - 3?", "7", False, False)]
    assert evaluation.evaluation_execute(evaluation=done).status == RunStatus.SUCCEEDED


def test_execute_failure_is_recorded(arith_dataset: Dataset, fake_engine: Callable[..., None]) -> None:
    run = TrainingRunFactory.create(dataset_key="arith-1.0")
    eval_set = EvalSetFactory.create(item_count=1)
    EvalItemFactory.create(eval_set=eval_set, prompt="What is 1000 + 3?")

    def boom(prompts: list[str]) -> list[str]:
        raise RuntimeError("checkpoint missing")

    fake_engine(outputs=boom)
    done = evaluation.evaluation_execute(
        evaluation=evaluation.evaluation_create(training_run=run, eval_set=eval_set, checkpoint="final")
    )
    assert done.status == RunStatus.FAILED and "checkpoint missing" in done.error


def test_report_requires_the_same_eval_set() -> None:
    first = EvaluationRunFactory.create()
    other = EvaluationRunFactory.create()
    with pytest.raises(InvalidInput, match="same eval set"):
        evaluation.evaluation_report(before=first, after=other)


def test_report_refuses_a_sampled_evaluation() -> None:
    greedy = EvaluationRunFactory.create()
    sampled = EvaluationRunFactory.create(eval_set=greedy.eval_set, samples=4, temperature=0.8)
    with pytest.raises(InvalidInput, match="one answer per example"):
        evaluation.evaluation_report(before=greedy, after=sampled)


def test_report_refuses_an_evaluation_on_trained_prompts() -> None:
    held_out = EvaluationRunFactory.create()
    collected = EvaluationRunFactory.create(eval_set=held_out.eval_set, trained_prompts=True)
    with pytest.raises(InvalidInput, match="no held-out measure") as refused:
        evaluation.evaluation_report(before=held_out, after=collected)
    assert refused.value.field == "after"
