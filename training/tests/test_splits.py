from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from rest_framework.test import APIClient

from datasets.models import Dataset
from datasets.selectors import dataset_trace_ids
from datasets.services import dataset_build
from traces.generation import traces_generate
from traces.models import Trace
from training.models import EvalSet, TrainingRun
from training.services import evaluation_create, training_run_create, training_run_dry_run
from training.tests.factories import TrainingRunFactory
from tunix_rt.errors import InvalidInput

pytestmark = pytest.mark.django_db


@pytest.fixture
def split_dataset(db: Any, artifacts: Path) -> Dataset:
    traces_generate(name="arithmetic", count=40, seed=1, level="medium")
    return dataset_build(name="arith", version="split", limit=40, seed=2, splits={"train": 0.75, "test": 0.25})


ITEM = {"id": "a", "prompt": "p", "expected_answer": "x"}


def post(client: APIClient, url: str, body: Any) -> Any:
    return client.post(url, data=json.dumps(body), content_type="application/json")


def test_eval_set_from_a_split_by_api(api_client: APIClient, split_dataset: Dataset) -> None:
    response = post(api_client, "/api/eval/sets", {"name": "held-out", "from_dataset": "arith-split", "split": "test"})
    assert response.status_code == 201
    body = response.json()
    assert (body["item_count"], body["from_dataset"], body["split"]) == (10, "arith-split", "test")
    detail = api_client.get("/api/eval/sets/held-out").json()
    test_ids = [str(i) for i in dataset_trace_ids(dataset=split_dataset, split="test")]
    assert [item["id"] for item in detail["items"]] == test_ids
    first = Trace.objects.get(id=test_ids[0])
    assert detail["items"][0]["prompt"] == first.prompt
    assert detail["items"][0]["expected_answer"] == first.final_answer
    assert detail["items"][0]["difficulty"] == "medium"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"from_dataset": "arith-split", "split": "dev"}, "split"),
        ({"from_dataset": "missing-1", "split": "test"}, "from_dataset"),
        ({"from_dataset": "arith-split"}, "split"),
        ({"split": "test"}, "from_dataset"),
        ({}, "items"),
        ({"from_dataset": "arith-split", "split": "test", "items": [ITEM]}, "items"),
    ],
)  # fmt: skip
def test_eval_set_from_a_split_mistakes_are_400(
    api_client: APIClient, split_dataset: Dataset, body: dict[str, Any], field: str
) -> None:
    response = post(api_client, "/api/eval/sets", {"name": "held-out", **body})
    assert response.status_code == 400 and field in response.json()
    assert EvalSet.objects.count() == 0


def test_eval_set_from_a_split_name_clash_is_409(api_client: APIClient, split_dataset: Dataset) -> None:
    body = {"name": "held-out", "from_dataset": "arith-split", "split": "test"}
    assert post(api_client, "/api/eval/sets", body).status_code == 201
    assert post(api_client, "/api/eval/sets", body).status_code == 409


def test_make_eval_set_from_a_split(split_dataset: Dataset, tmp_path: Path) -> None:
    out = io.StringIO()
    target = tmp_path / "test.jsonl"
    call_command("make_eval_set", "--from-dataset", "arith-split", "--split", "test", "--output", str(target),
                 stdout=out)  # fmt: skip
    assert "Eval set arith-split-test: 10 item(s) from split test of arith-split." in out.getvalue()
    eval_set = EvalSet.objects.get(name="arith-split-test")
    assert (eval_set.source_dataset_key, eval_set.source_split) == ("arith-split", "test")
    lines = [json.loads(line) for line in target.read_text(encoding="utf-8").splitlines()]
    assert [line["id"] for line in lines] == [str(i) for i in dataset_trace_ids(dataset=split_dataset, split="test")]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--from-dataset", "arith-split"], "go together"),
        (["arithmetic", "--from-dataset", "arith-split", "--split", "test"], "not both"),
        (["--from-dataset", "arith-split", "--split", "nope"], "has no split 'nope'"),
        (["--from-dataset", "nope-1", "--split", "test"], "Dataset nope-1 not found"),
        ([], "Give GENERATOR"),
        (["arithmetic", "--count", "3"], "missing: --exclude-dataset, --output"),
    ],
)
def test_make_eval_set_mistakes(split_dataset: Dataset, args: list[str], message: str) -> None:
    with pytest.raises(CommandError, match=message):
        call_command("make_eval_set", *args, stdout=io.StringIO())


def test_a_run_trains_on_its_split_only(split_dataset: Dataset, tiny_config: Path) -> None:
    run = training_run_create(dataset_key="arith-split", config_path=str(tiny_config), dry_run=True, split="train")
    assert training_run_dry_run(run=run).record_count == 30
    manifest = json.loads((Path(run.artifacts_path) / "run_manifest.json").read_text(encoding="utf-8"))
    assert manifest["split"] == "train"
    with pytest.raises(InvalidInput, match="has no split 'dev'"):
        training_run_create(dataset_key="arith-split", config_path=str(tiny_config), split="dev")


def test_api_run_on_a_split(api_client: APIClient, split_dataset: Dataset) -> None:
    response = post(api_client, "/api/training/runs", {"dataset_key": "arith-split", "split": "train"})
    assert response.status_code == 202 and response.json()["split"] == "train"
    bad = post(api_client, "/api/training/runs", {"dataset_key": "arith-split", "split": "dev"})
    assert bad.status_code == 400 and "split" in bad.json()
    assert TrainingRun.objects.count() == 1


def test_evaluation_refuses_an_eval_set_from_the_training_split(api_client: APIClient, split_dataset: Dataset) -> None:
    for split in ("train", "test"):
        post(api_client, "/api/eval/sets", {"name": f"from-{split}", "from_dataset": "arith-split", "split": split})
    on_train = TrainingRunFactory.create(dataset_key="arith-split", split="train")
    on_all = TrainingRunFactory.create(dataset_key="arith-split", split="")
    from_train, from_test = EvalSet.objects.get(name="from-train"), EvalSet.objects.get(name="from-test")
    with pytest.raises(InvalidInput, match="drawn from split 'train' of arith-split, .* trained on split 'train'"):
        evaluation_create(training_run=on_train, eval_set=from_train, checkpoint="final")
    with pytest.raises(InvalidInput, match="trained on the whole dataset"):
        evaluation_create(training_run=on_all, eval_set=from_test, checkpoint="final")
    evaluation = evaluation_create(training_run=on_train, eval_set=from_test, checkpoint="final")
    assert evaluation.example_count == 10
    response = post(api_client, "/api/eval/runs", {"training_run_id": str(on_train.run_id), "eval_set": "from-train"})
    assert response.status_code == 400 and "held-out split" in response.json()["eval_set"][0]
