from __future__ import annotations

import factory
from factory.django import DjangoModelFactory

from training.models import EvalItem, EvalSet, EvaluationResult, EvaluationRun, RunStatus, TrainingRun


class TrainingRunFactory(DjangoModelFactory[TrainingRun]):
    class Meta:
        model = TrainingRun

    dataset_key = "arith-1.0"
    recipe = "sft_tiny"
    training_config = factory.LazyFunction(dict)
    status = RunStatus.SUCCEEDED
    run_id = factory.Faker("uuid4", cast_to=None)
    artifacts_path = factory.LazyAttribute(lambda o: f"/tmp/tunix-rt-test-runs/{o.run_id}")  # noqa: S108


class EvalSetFactory(DjangoModelFactory[EvalSet]):
    class Meta:
        model = EvalSet

    name = factory.Sequence(lambda n: f"eval-{n}")
    item_count = 0


class EvalItemFactory(DjangoModelFactory[EvalItem]):
    class Meta:
        model = EvalItem

    eval_set = factory.SubFactory(EvalSetFactory)
    position = factory.Sequence(int)
    example_id = factory.Sequence(lambda n: f"ex-{n}")
    prompt = factory.Sequence(lambda n: f"What is {n} + 1?")
    expected_answer = factory.Sequence(lambda n: str(n + 1))
    category = "addition"
    difficulty = "easy"


class EvaluationRunFactory(DjangoModelFactory[EvaluationRun]):
    class Meta:
        model = EvaluationRun

    training_run = factory.SubFactory(TrainingRunFactory)
    eval_set = factory.SubFactory(EvalSetFactory)
    checkpoint = "final"
    status = RunStatus.SUCCEEDED


class EvaluationResultFactory(DjangoModelFactory[EvaluationResult]):
    class Meta:
        model = EvaluationResult

    evaluation = factory.SubFactory(EvaluationRunFactory)
    position = factory.Sequence(int)
    example_id = factory.Sequence(lambda n: f"ex-{n}")
    prompt = "What is 1 + 1?"
    generated_response = "<reasoning>1. 1 + 1 = 2</reasoning>\n<answer>2</answer>"
    expected_response = "2"
    predicted_answer = "2"
    correct = True
    format_ok = True
    score = 1.0
    category = "addition"
