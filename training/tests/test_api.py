from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django_tasks_db.models import DBTaskResult
from rest_framework.test import APIClient

from datasets.models import Dataset
from training.models import EvalSet, EvaluationRun, RunStatus, TrainingMetric, TrainingRun
from training.tests.factories import EvalItemFactory, EvalSetFactory, EvaluationResultFactory, TrainingRunFactory

pytestmark = pytest.mark.django_db

# The public tunix-rt eval set, byte for byte as published.
SHARED_EVAL = Path(__file__).resolve().parents[1] / "evalsets" / "eval_v1.jsonl"


def post(client: APIClient, url: str, body: Any) -> Any:
    return client.post(url, data=json.dumps(body), content_type="application/json")


def test_post_queues_a_run_and_answers_202_without_training(
    api_client: APIClient, arith_dataset: Dataset, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        response = post(api_client, "/api/training/runs", {"dataset_key": "arith-1.0"})
    assert response.status_code == 202
    body = response.json()
    assert body["status"] == "pending" and body["started_at"] is None
    assert body["dataset"] == {"key": "arith-1.0", "build_id": str(arith_dataset.build_id)}
    task = DBTaskResult.objects.get()
    assert task.status == "READY" and task.args_kwargs["kwargs"] == {"run_id": body["run_id"]}


@pytest.mark.django_db(transaction=True)
def test_worker_runs_the_queued_job_and_a_missing_stack_fails_it(
    api_client: APIClient, arith_dataset: Dataset, no_training_stack: None
) -> None:
    run_id = post(api_client, "/api/training/runs", {"dataset_key": "arith-1.0"}).json()["run_id"]
    call_command("db_worker", "--batch", "--no-startup-delay", "--no-reload", "--interval", "0")
    body = api_client.get(f"/api/training/runs/{run_id}").json()
    assert body["status"] == "failed"
    assert "requirements-training.txt" in body["error"]


@pytest.mark.django_db(transaction=True)
def test_worker_trains_with_the_engine(
    api_client: APIClient, arith_dataset: Dataset, fake_engine: Callable[..., None]
) -> None:
    fake_engine(losses=[2.0, 1.0])
    run_id = post(api_client, "/api/training/runs", {"dataset_key": "arith-1.0"}).json()["run_id"]
    call_command("db_worker", "--batch", "--no-startup-delay", "--no-reload", "--interval", "0")
    body = api_client.get(f"/api/training/runs/{run_id}").json()
    assert body["status"] == "succeeded"
    assert body["metrics"] == [
        {"step": 1, "loss": 2.0, "eval_loss": None, "learning_rate": None, "values": {"loss": 2.0}},
        {"step": 2, "loss": 1.0, "eval_loss": None, "learning_rate": None, "values": {"loss": 1.0}},
    ]


@pytest.mark.parametrize(
    ("body", "code", "field"),
    [
        ({"dataset_key": "nope-1.0"}, 404, "detail"),
        ({"dataset_key": "arith-1.0", "preset": "huge"}, 400, "preset"),
        ({"dataset_key": "arith-1.0", "config": {"training": {"max_steps": 0}}}, 400, "config"),
        ({}, 400, "dataset_key"),
    ],
)
def test_post_refuses_bad_input(
    api_client: APIClient, arith_dataset: Dataset, body: dict[str, Any], code: int, field: str
) -> None:
    response = post(api_client, "/api/training/runs", body)
    assert response.status_code == code
    assert field in response.json()
    assert TrainingRun.objects.count() == 0


def test_list_and_detail(api_client: APIClient) -> None:
    run = TrainingRunFactory.create(steps=2, final_loss=0.5)
    TrainingMetric.objects.create(run=run, step=1, loss=0.9)
    TrainingRunFactory.create(status=RunStatus.FAILED)
    listing = api_client.get("/api/training/runs", {"status": "succeeded"}).json()
    assert [row["run_id"] for row in listing["data"]] == [str(run.run_id)]
    assert listing["pagination"] == {"limit": 20, "offset": 0, "next_offset": None}
    detail = api_client.get(f"/api/training/runs/{run.run_id}").json()
    assert detail["metrics"][0]["loss"] == 0.9 and detail["final_loss"] == 0.5
    assert api_client.get(f"/api/training/runs/{uuid.uuid4()}").status_code == 404
    assert api_client.get("/api/training/runs/zzz").status_code == 404
    assert api_client.get("/api/training/runs", {"limit": 0}).status_code == 400


def test_cancel_pending_run(api_client: APIClient) -> None:
    run = TrainingRunFactory.create(status=RunStatus.PENDING)
    response = api_client.post(f"/api/training/runs/{run.run_id}/cancel")
    assert response.status_code == 200 and response.json()["status"] == "cancelled"
    assert api_client.post(f"/api/training/runs/{run.run_id}/cancel").status_code == 400


def test_cancel_that_the_worker_beat_answers_already_finished(
    api_client: APIClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    run = TrainingRunFactory.create(status=RunStatus.RUNNING)
    fetched = TrainingRun.objects.get(pk=run.pk)
    monkeypatch.setattr("training.api.selectors.training_run_get", lambda run_id: fetched)
    TrainingRun.objects.filter(pk=run.pk).update(status=RunStatus.SUCCEEDED)  # the worker, after the fetch
    response = api_client.post(f"/api/training/runs/{run.run_id}/cancel")
    assert response.status_code == 400
    assert response.json() == {"status": [f"{fetched} has already finished (succeeded)."]}
    assert str(fetched).endswith("(succeeded)")
    assert TrainingRun.objects.get(pk=run.pk).status == RunStatus.SUCCEEDED


def test_eval_sets_import_the_shared_file_as_it_is(api_client: APIClient) -> None:
    items = [json.loads(line) for line in SHARED_EVAL.read_text(encoding="utf-8").splitlines() if line.strip()]
    response = post(api_client, "/api/eval/sets", {"name": "eval_v1", "items": items})
    assert response.status_code == 201
    assert response.json()["item_count"] == 25
    detail = api_client.get("/api/eval/sets/eval_v1").json()
    assert detail["items"][0] == {
        "id": "eval-001",
        "prompt": "What is 15 + 27?",
        "expected_answer": "42",
        "category": "arithmetic",
        "difficulty": "easy",
    }
    assert post(api_client, "/api/eval/sets", {"name": "eval_v1", "items": items}).status_code == 409
    assert api_client.get("/api/eval/sets").json()["data"][0]["name"] == "eval_v1"
    assert api_client.get("/api/eval/sets/missing").status_code == 404


@pytest.mark.parametrize(
    "body",
    [
        {"name": "bad name", "items": [{"id": "a", "prompt": "p", "expected_answer": "x"}]},
        {"name": "ok", "items": []},
        {"name": "ok", "items": [{"id": "a", "prompt": "p"}]},
        {"name": "ok", "items": [{"id": "a", "prompt": "p", "expected_answer": "1"}] * 2},
    ],
)
def test_eval_set_bad_input_stores_nothing(api_client: APIClient, body: dict[str, Any]) -> None:
    assert post(api_client, "/api/eval/sets", body).status_code == 400
    assert EvalSet.objects.count() == 0


def test_eval_run_post_refuses_contamination_and_untrained_runs(
    api_client: APIClient, arith_dataset: Dataset, django_capture_on_commit_callbacks: Any
) -> None:
    from traces.models import Trace

    trained = TrainingRunFactory.create(dataset_key="arith-1.0")
    shared_prompt = Trace.objects.first().prompt  # type: ignore[union-attr]
    leaky = EvalSetFactory.create(name="leaky")
    EvalItemFactory.create(eval_set=leaky, prompt=shared_prompt)
    clean = EvalSetFactory.create(name="clean")
    EvalItemFactory.create(eval_set=clean, prompt="What is 1000 + 1?")
    response = post(api_client, "/api/eval/runs", {"training_run_id": str(trained.run_id), "eval_set": "leaky"})
    assert response.status_code == 400
    assert shared_prompt in response.json()["eval_set"][0]
    pending = TrainingRunFactory.create(status=RunStatus.PENDING)
    response = post(api_client, "/api/eval/runs", {"training_run_id": str(pending.run_id), "eval_set": "clean"})
    assert response.status_code == 400
    with django_capture_on_commit_callbacks(execute=True):
        ok = post(api_client, "/api/eval/runs", {"training_run_id": str(trained.run_id), "eval_set": "clean",
                                                  "checkpoint": "initial"})  # fmt: skip
    assert ok.status_code == 202 and ok.json()["status"] == "pending" and ok.json()["checkpoint"] == "initial"
    assert EvaluationRun.objects.count() == 1


def test_eval_run_detail_list_and_cancel(api_client: APIClient) -> None:
    result = EvaluationResultFactory.create()
    evaluation = result.evaluation
    detail = api_client.get(f"/api/eval/runs/{evaluation.id}").json()
    assert detail["results"][0]["example_id"] == result.example_id
    assert api_client.get("/api/eval/runs").json()["data"][0]["id"] == str(evaluation.id)
    assert api_client.post(f"/api/eval/runs/{evaluation.id}/cancel").status_code == 400
    pending = EvaluationResultFactory.create(evaluation__status=RunStatus.PENDING).evaluation
    assert api_client.post(f"/api/eval/runs/{pending.id}/cancel").json()["status"] == "cancelled"
    assert api_client.get(f"/api/eval/runs/{uuid.uuid4()}").status_code == 404
