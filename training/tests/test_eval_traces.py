"""An evaluation's wrong (or all) generations come back as pending model traces."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from typing import Any

import pytest
from django.core.management import call_command
from rest_framework.test import APIClient

from datasets.models import Dataset
from traces.models import Trace, TraceStatus
from training.models import EvaluationRun
from training.services.eval_traces import generation_steps
from training.tests.factories import EvalItemFactory, TrainingRunFactory

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
