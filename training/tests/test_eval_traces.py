"""An evaluation's wrong (or all) generations come back as pending model traces."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from rest_framework.test import APIClient

from datasets.models import Dataset
from traces.models import Trace, TraceStatus
from training.models import EvalSet, EvaluationRun
from training.services import evaluation_create
from training.services.eval_traces import generation_steps
from training.tests.factories import EvalItemFactory, TrainingRunFactory
from tunix_rt.errors import InvalidInput

pytestmark = pytest.mark.django_db

RIGHT = "<reasoning>1. Ones: 0 + 1 = 1.\n2. So 500 + 1 = 501.</reasoning>\n<answer>501</answer>"
WRONG = "<reasoning>1. Ones: 0 + 1 = 2.\n2. So 600 + 1 = 602.</reasoning>\n<answer>602</answer>"


def test_generation_steps_reads_the_numbered_reasoning_lines() -> None:
    assert generation_steps(WRONG) == [
        {"i": 0, "type": "generated", "content": "Ones: 0 + 1 = 2."},
        {"i": 1, "type": "generated", "content": "So 600 + 1 = 602."},
    ]
    assert generation_steps("no tags at all") == [{"i": 0, "type": "generated", "content": "no tags at all"}]
    assert generation_steps("   ") == [{"i": 0, "type": "generated", "content": "(empty generation)"}]


def _two_items(run_key: str = "arith-1.0") -> tuple[Any, str]:
    trained = TrainingRunFactory.create(dataset_key=run_key)
    first = EvalItemFactory.create(example_id="e1", position=0, prompt="What is 500 + 1?", expected_answer="501",
                                   eval_set__item_count=2)  # fmt: skip
    EvalItemFactory.create(eval_set=first.eval_set, example_id="e2", position=1, prompt="What is 600 + 1?",
                           expected_answer="601")  # fmt: skip
    return trained, first.eval_set.name


def _answers(prompts: list[str]) -> list[str]:
    return [RIGHT if "500" in p else WRONG for p in prompts]


def test_evaluate_stores_wrong_generations_as_pending_model_traces(
    arith_dataset: Dataset, fake_engine: Callable[..., None]
) -> None:
    trained, name = _two_items()
    fake_engine(outputs=_answers)
    out = io.StringIO()
    call_command("evaluate", "--run", str(trained.run_id), "--eval-set", name, "--store-traces", "wrong", stdout=out)
    evaluation = EvaluationRun.objects.get()
    assert evaluation.stored_trace_count == 1
    assert "stored 1 generation(s) as pending model traces" in out.getvalue()
    trace = Trace.objects.get(source="model")
    assert (trace.prompt, trace.final_answer, trace.status) == ("What is 600 + 1?", "602", TraceStatus.PENDING)
    assert [s["content"] for s in trace.steps] == ["Ones: 0 + 1 = 2.", "So 600 + 1 = 602."]
    assert trace.meta == {
        "source": "model",
        "training_run_id": str(trained.run_id),
        "evaluation_run_id": str(evaluation.id),
        "checkpoint": "final",
        "eval_set": name,
        "example_id": "e2",
        "expected_answer": "601",
        "correct": False,
        "format_ok": True,
        "generated_response": WRONG,
    }


def test_evaluate_can_store_every_generation_and_by_default_stores_none(
    arith_dataset: Dataset, fake_engine: Callable[..., None]
) -> None:
    trained, name = _two_items()
    fake_engine(outputs=_answers)
    call_command("evaluate", "--run", str(trained.run_id), "--eval-set", name, stdout=io.StringIO())
    assert not Trace.objects.filter(source="model").exists()
    call_command("evaluate", "--run", str(trained.run_id), "--eval-set", name, "--store-traces", "all",
                 stdout=io.StringIO())  # fmt: skip
    assert sorted(Trace.objects.filter(source="model").values_list("final_answer", flat=True)) == ["501", "602"]


def test_api_takes_store_traces_and_refuses_a_bad_value(arith_dataset: Dataset, api_client: APIClient) -> None:
    trained, name = _two_items()
    body = {"training_run_id": str(trained.run_id), "eval_set": name, "store_traces": "sometimes"}
    bad = api_client.post("/api/eval/runs", data=json.dumps(body), content_type="application/json")
    assert bad.status_code == 400 and "store_traces" in bad.json()
    body["store_traces"] = "wrong"
    good = api_client.post("/api/eval/runs", data=json.dumps(body), content_type="application/json")
    assert good.status_code == 202
    assert good.json()["store_traces"] == "wrong" and good.json()["stored_trace_count"] == 0
    assert EvaluationRun.objects.get().store_traces == "wrong"


def test_sampled_evaluation_scores_and_stores_every_draw(
    arith_dataset: Dataset, fake_engine: Callable[..., None]
) -> None:
    trained, name = _two_items()
    fake_engine(outputs=lambda drawn: [RIGHT if n % 2 == 0 else WRONG for n in range(len(drawn))])
    out = io.StringIO()
    call_command("evaluate", "--run", str(trained.run_id), "--eval-set", name, "--samples", "2",
                 "--temperature", "0.7", "--seed", "5", "--store-traces", "wrong", stdout=out)  # fmt: skip
    assert "Evaluating 4 generation(s)" in out.getvalue()
    evaluation = EvaluationRun.objects.get()
    assert (evaluation.samples, evaluation.temperature, evaluation.seed) == (2, 0.7, 5)
    assert evaluation.example_count == 4 and evaluation.accuracy == 0.25  # only e1's first draw is right
    rows = list(evaluation.results.values_list("example_id", "metadata__sample", "correct"))
    assert rows == [("e1", 0, True), ("e1", 1, False), ("e2", 0, False), ("e2", 1, False)]
    stored = Trace.objects.filter(source="model").order_by("meta__example_id", "meta__sample")
    assert [(t.meta["example_id"], t.meta["sample"], t.meta["temperature"], t.meta["seed"]) for t in stored] == [
        ("e1", 1, 0.7, 5), ("e2", 0, 0.7, 5), ("e2", 1, 0.7, 5),
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("options", "field", "message"),
    [
        ({"samples": 2}, "temperature", "samples above 1 need a temperature above 0"),
        ({"samples": 17, "temperature": 1.0}, "samples", "samples must be between 1 and 16"),
        ({"temperature": 2.5}, "temperature", "temperature must be between 0 and 2"),
        ({"seed": -1}, "seed", "seed must be between 0 and"),
    ],
)
def test_api_refuses_bad_sampling(
    arith_dataset: Dataset, api_client: APIClient, options: dict[str, Any], field: str, message: str
) -> None:
    trained, name = _two_items()
    body = {"training_run_id": str(trained.run_id), "eval_set": name, **options}
    bad = api_client.post("/api/eval/runs", data=json.dumps(body), content_type="application/json")
    assert bad.status_code == 400 and message in json.dumps(bad.json()[field])
    assert not EvaluationRun.objects.exists()


def test_api_takes_sampling_and_returns_it(arith_dataset: Dataset, api_client: APIClient) -> None:
    trained, name = _two_items()
    body = {"training_run_id": str(trained.run_id), "eval_set": name, "samples": 4, "temperature": 0.6, "seed": 3}
    made = api_client.post("/api/eval/runs", data=json.dumps(body), content_type="application/json")
    assert made.status_code == 202
    assert {k: made.json()[k] for k in ("samples", "temperature", "seed", "example_count")} == {
        "samples": 4, "temperature": 0.6, "seed": 3, "example_count": 8,
    }  # fmt: skip


def test_a_sampled_evaluation_is_bounded(arith_dataset: Dataset) -> None:
    trained, name = _two_items()
    eval_set = EvalSet.objects.get(name=name)
    eval_set.item_count = 1_500
    with pytest.raises(InvalidInput, match="1500 item\\(s\\) × 16 samples is 24000 generations"):
        evaluation_create(training_run=trained, eval_set=eval_set, checkpoint="final", samples=16, temperature=1.0)


def test_trained_prompts_collects_samples_on_the_runs_own_prompts(
    arith_dataset: Dataset, api_client: APIClient, fake_engine: Callable[..., None]
) -> None:
    trained, name = _two_items()
    eval_set = EvalSet.objects.get(name=name)
    EvalItemFactory.create(eval_set=eval_set, example_id="e3", position=2, prompt=Trace.objects.first().prompt)  # type: ignore[union-attr]
    EvalSet.objects.filter(pk=eval_set.pk).update(item_count=3)
    fake_engine(outputs=_answers)
    run = ["evaluate", "--run", str(trained.run_id), "--eval-set", name]
    with pytest.raises(CommandError, match="Contamination"):
        call_command(*run, "--store-traces", "all", stdout=io.StringIO())
    with pytest.raises(CommandError, match="store them"):
        call_command(*run, "--trained-prompts", stdout=io.StringIO())
    call_command(*run, "--trained-prompts", "--store-traces", "all", stdout=io.StringIO())
    evaluation = EvaluationRun.objects.get()
    assert evaluation.trained_prompts and evaluation.stored_trace_count == 3
    assert all(t.meta["trained_prompts"] for t in Trace.objects.filter(source="model"))
    body = {"training_run_id": str(trained.run_id), "eval_set": name, "trained_prompts": True}
    bad = api_client.post("/api/eval/runs", data=json.dumps(body), content_type="application/json")
    assert bad.status_code == 400 and "store them" in json.dumps(bad.json()["store_traces"])
    good = api_client.post("/api/eval/runs", data=json.dumps({**body, "store_traces": "wrong"}),
                           content_type="application/json")  # fmt: skip
    assert good.status_code == 202 and good.json()["trained_prompts"] is True
