from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from datasets.models import Dataset
from datasets.services import dataset_build
from traces.models import Trace
from training.engine.stack import INSTALL_HINT, TrainingStackMissing
from training.models import EvaluationRun, RunStatus, TrainingMetric, TrainingRun
from training.services.eval_traces import evaluation_store_traces
from training.tests.factories import (
    EvalItemFactory,
    EvalSetFactory,
    EvaluationResultFactory,
    EvaluationRunFactory,
    TrainingRunFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client: Client, staff_user: Any) -> Client:
    client.force_login(staff_user)
    return client


def test_run_pages_show_curve_manifest_and_buttons(admin_client: Client, tmp_path: Any) -> None:
    run = TrainingRunFactory.create(artifacts_path=str(tmp_path), steps=3, final_loss=0.25)
    (tmp_path / "metrics.jsonl").write_text("")
    for step, loss in ((1, 2.0), (2, 1.0), (3, 0.25)):
        TrainingMetric.objects.create(run=run, step=step, loss=loss)
    assert admin_client.get("/admin/training/trainingrun/").status_code == 200
    html = admin_client.get(f"/admin/training/trainingrun/{run.run_id}/change/").content.decode()
    assert "<svg" in html and "<polyline" in html
    assert f"&quot;run_id&quot;: &quot;{run.run_id}&quot;" in html
    assert "metrics.jsonl" in html
    assert "Evaluate" in html and "Compare two evaluations" in html


def test_start_training_from_the_admin_queues_it(admin_client: Client, arith_dataset: Dataset) -> None:
    page = admin_client.get("/admin/training/trainingrun/start/")
    assert page.status_code == 200 and b"sft_tiny" in page.content
    response = admin_client.post(
        "/admin/training/trainingrun/start/", {"dataset_key": "arith-1.0", "preset": "sft_tiny"}
    )
    assert response.status_code == 302
    assert TrainingRun.objects.get().status == RunStatus.PENDING
    missing = admin_client.post("/admin/training/trainingrun/start/", {"dataset_key": "nope", "preset": "sft_tiny"})
    assert missing.status_code == 200 and b"Select a valid choice" in missing.content
    assert TrainingRun.objects.count() == 1


START = "/admin/training/trainingrun/start/"


def test_start_form_picks_dataset_and_split_from_lists(
    admin_client: Client, arith_dataset: Dataset, django_assert_max_num_queries: Any
) -> None:
    split = dataset_build(
        name="arith-split", version="1.0", filters={"generator": "arithmetic"}, limit=40,
        splits={"train": 0.75, "validation": 0.25}, seed=3,
    )  # fmt: skip
    with django_assert_max_num_queries(8):
        html = admin_client.get(START).content.decode()
    assert '<select name="dataset_key"' in html and '<select name="split"' in html
    assert html.index('<option value="arith-split-1.0">') < html.index('<option value="arith-1.0">')
    assert '<option value="" selected>whole dataset</option>' in html
    assert '<option value="train">train</option>' in html and '<option value="validation">' in html
    assert '{"arith-split-1.0": ["train", "validation"], "arith-1.0": []}' in html
    queued = admin_client.post(START, {"dataset_key": split.key, "split": "validation", "preset": "sft_tiny"})
    assert queued.status_code == 302
    assert TrainingRun.objects.get().split == "validation"
    refused = admin_client.post(START, {"dataset_key": "arith-1.0", "split": "train", "preset": "sft_tiny"})
    assert refused.status_code == 200 and "has no split &#x27;train&#x27;" in refused.content.decode()
    assert TrainingRun.objects.count() == 1


def test_job_forms_say_at_once_when_the_training_stack_is_missing(
    admin_client: Client, arith_dataset: Dataset, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("training.services.execution.ensure_training_stack", lambda: None)
    assert 'id="training-stack-missing"' not in admin_client.get(START).content.decode()

    def missing() -> None:
        raise TrainingStackMissing(f"training stack not installed (missing: jax); run: {INSTALL_HINT}")

    monkeypatch.setattr("training.services.execution.ensure_training_stack", missing)
    run = TrainingRunFactory.create(dataset_key="arith-1.0")
    for url in (START, f"/admin/training/trainingrun/{run.run_id}/evaluate/",
                f"/admin/training/trainingrun/{run.run_id}/fine-tune/"):  # fmt: skip
        html = admin_client.get(url).content.decode()
        assert '<p class="errornote" id="training-stack-missing">' in html, url
        assert "missing: jax" in html and "make install-training" in html, url
    compare = admin_client.get(f"/admin/training/trainingrun/{run.run_id}/compare/").content.decode()
    assert 'id="training-stack-missing"' not in compare


def test_evaluate_cancel_and_compare_from_a_run_page(admin_client: Client, arith_dataset: Dataset) -> None:
    run = TrainingRunFactory.create(dataset_key="arith-1.0")
    eval_set = EvalSetFactory.create(name="held", item_count=1)
    EvalItemFactory.create(eval_set=eval_set, prompt="What is 1000 + 5?")
    response = admin_client.post(
        f"/admin/training/trainingrun/{run.run_id}/evaluate/", {"eval_set": "held", "checkpoint": "final"}
    )
    assert response.status_code == 302
    assert EvaluationRun.objects.get().status == RunStatus.PENDING
    bad = admin_client.post(
        f"/admin/training/trainingrun/{run.run_id}/evaluate/", {"eval_set": "x", "checkpoint": "final"}
    )
    assert b"not found" in bad.content
    pending = TrainingRunFactory.create(status=RunStatus.PENDING)
    admin_client.post(f"/admin/training/trainingrun/{pending.run_id}/cancel/")
    pending.refresh_from_db()
    assert pending.status == RunStatus.CANCELLED
    assert admin_client.get(f"/admin/training/trainingrun/{run.run_id}/compare/").status_code == 200


def test_report_page_and_result_filters(admin_client: Client) -> None:
    before = EvaluationResultFactory.create(correct=False).evaluation
    after = EvaluationResultFactory.create(evaluation__eval_set=before.eval_set,
                                           evaluation__training_run=before.training_run).evaluation  # fmt: skip
    for side, acc in ((before, 0.0), (after, 1.0)):
        side.accuracy, side.format_rate, side.per_category = acc, 1.0, {"addition": {"count": 1, "accuracy": acc,
                                                                                     "format_rate": 1.0}}  # fmt: skip
        side.save()
    compare = admin_client.get(
        f"/admin/training/trainingrun/{before.training_run_id}/compare/",
        {"before": str(before.pk), "after": str(after.pk)},
    )
    assert compare.status_code == 302
    report = admin_client.get(compare["Location"])
    assert report.status_code == 200 and b"Changed outcomes" in report.content
    assert admin_client.get("/admin/training/evaluationrun/report/", {"before": "x", "after": "y"}).status_code == 302
    detail = admin_client.get(f"/admin/training/evaluationrun/{after.pk}/change/")
    assert detail.status_code == 200 and after.results.get().prompt.encode() in detail.content
    listing = admin_client.get("/admin/training/evaluationresult/", {"outcome": "wrong"})
    assert listing.status_code == 200
    for outcome in ("correct", "bad_format"):
        assert admin_client.get("/admin/training/evaluationresult/", {"outcome": outcome}).status_code == 200
    assert admin_client.get(f"/admin/training/evalset/{before.eval_set.pk}/change/").status_code == 200


def test_cancel_action(admin_client: Client) -> None:
    runs = [TrainingRunFactory.create(status=RunStatus.PENDING), TrainingRunFactory.create()]
    admin_client.post(
        "/admin/training/trainingrun/",
        {"action": "cancel_runs", "_selected_action": [str(r.run_id) for r in runs]},
    )
    assert sorted(TrainingRun.objects.values_list("status", flat=True)) == ["cancelled", "succeeded"]


def test_a_grpo_run_page_plots_each_metric_and_links_its_parent(admin_client: Client, tmp_path: Any) -> None:
    parent = TrainingRunFactory.create(status=RunStatus.SUCCEEDED, steps=3)
    run = TrainingRunFactory.create(artifacts_path=str(tmp_path), kind="grpo", parent=parent, final_reward=5.5)
    for step in (1, 2, 3):
        values = {"loss": 0.1, "reward": 4.0 + step / 2, "kl": 0.001 * step, "sampled_correct": 0.1 * step}
        TrainingMetric.objects.create(run=run, step=step, loss=0.1, values=values)
    html = admin_client.get(f"/admin/training/trainingrun/{run.run_id}/change/").content.decode()
    for name in ("reward", "kl", "sampled_correct"):
        assert f'aria-label="{name} by step"' in html
    assert f"/admin/training/trainingrun/{parent.run_id}/change/" in html and "5.5" in html
    parent_page = admin_client.get(f"/admin/training/trainingrun/{parent.run_id}/change/").content.decode()
    assert "GRPO / DPO from this run" in parent_page


def test_start_grpo_from_a_run_page_queues_it(
    admin_client: Client, arith_dataset: Dataset, django_capture_on_commit_callbacks: Any
) -> None:
    parent = TrainingRunFactory.create(status=RunStatus.SUCCEEDED, dataset_key="arith-1.0")
    url = f"/admin/training/trainingrun/{parent.run_id}/fine-tune/"
    form = admin_client.get(url).content.decode()
    assert '<select name="dataset_key"' in form and '<option value="arith-1.0">arith-1.0</option>' in form
    assert '<option value="" selected>whole dataset</option>' in form and 'id="dataset-splits"' in form
    unknown = admin_client.post(url, {"kind": "grpo", "preset": "grpo_tiny", "dataset_key": "nope"})
    assert unknown.status_code == 200 and b"Select a valid choice" in unknown.content
    wrong = admin_client.post(url, {"kind": "grpo", "preset": "dpo_tiny", "dataset_key": "arith-1.0"})
    assert wrong.status_code == 200 and b"Not a grpo preset" in wrong.content
    with django_capture_on_commit_callbacks(execute=False):
        response = admin_client.post(url, {"kind": "grpo", "preset": "grpo_tiny", "dataset_key": "arith-1.0"})
    assert response.status_code == 302
    child = TrainingRun.objects.get(kind="grpo")
    assert child.parent_id == parent.run_id and child.status == RunStatus.PENDING


def test_run_page_charts_its_evaluations_before_and_after(admin_client: Client, tmp_path: Any) -> None:
    run = TrainingRunFactory.create(artifacts_path=str(tmp_path))
    held = EvalSetFactory.create(name="held")
    EvaluationRunFactory.create(training_run=run, eval_set=held, checkpoint="initial", accuracy=0.25)
    EvaluationRunFactory.create(training_run=run, eval_set=held, checkpoint="final", accuracy=0.75)
    EvaluationRunFactory.create(training_run=run, eval_set=held, status=RunStatus.PENDING)
    html = admin_client.get(f"/admin/training/trainingrun/{run.run_id}/change/").content.decode()
    chart = html[html.index('<div id="run-evaluations-chart">') :]
    chart = chart[: chart.index("</svg>")]
    assert chart.count("<rect") == 2 and 'fill="#9ab"' in chart and 'fill="#447e9b"' in chart
    assert "held · initial: 25.0%" in chart and "held · final: 75.0%" in chart
    assert chart.index("held · initial") < chart.index("held · final")
    empty = TrainingRunFactory.create(artifacts_path=str(tmp_path))
    page = admin_client.get(f"/admin/training/trainingrun/{empty.run_id}/change/").content.decode()
    assert "No evaluation yet." in page and "run-evaluations-chart" not in page


def _evaluation_with_wrong_answers(wrong: int, *, store: str) -> EvaluationRun:
    per_category = {
        "addition": {"count": 2, "accuracy": 0.5, "format_rate": 1.0},
        "subtraction": {"count": wrong - 1, "accuracy": 0.0, "format_rate": 1.0},
    }
    evaluation = EvaluationRunFactory.create(
        accuracy=1 / (wrong + 1), format_rate=1.0, per_category=per_category, store_traces=store
    )
    EvaluationResultFactory.create(evaluation=evaluation, example_id="right")
    results = [
        EvaluationResultFactory.create(
            evaluation=evaluation, example_id=f"wrong-{n}", correct=False, predicted_answer=str(n),
            category="addition" if n == 0 else "subtraction",
        )
        for n in range(wrong)
    ]  # fmt: skip
    evaluation_store_traces(evaluation=evaluation, results=results, actor=None)
    return evaluation


def test_evaluation_page_charts_accuracy_and_lists_wrong_answers_linked_to_their_review(
    admin_client: Client, django_assert_max_num_queries: Any
) -> None:
    evaluation = _evaluation_with_wrong_answers(53, store="wrong")
    with django_assert_max_num_queries(20):
        html = admin_client.get(f"/admin/training/evaluationrun/{evaluation.pk}/change/").content.decode()
    chart = html[html.index('aria-label="Accuracy overall and per category"') :]
    chart = chart[: chart.index("</svg>")]
    assert chart.count("<rect") == 3
    assert "overall: 1.9%" in chart and "addition: 50.0%" in chart and "subtraction: 0.0%" in chart
    assert "53 wrong answers; the first 50 below." in html
    table = html[html.index('<table id="wrong-answers">') :]
    table = table[: table.index("</table>")]
    assert table.count("review the trace") == 50 and "open the result" not in table
    trace = Trace.objects.get(meta__example_id="wrong-0", meta__evaluation_run_id=str(evaluation.pk))
    assert f'href="/admin/traces/trace/review/?trace={trace.pk}"' in table
    assert ">right<" not in table and ">wrong-49<" in table and ">wrong-50<" not in table


def test_evaluation_page_links_wrong_answers_to_results_when_no_trace_was_stored(
    admin_client: Client, django_assert_max_num_queries: Any
) -> None:
    few = _evaluation_with_wrong_answers(2, store="none")
    with django_assert_max_num_queries(20):
        html = admin_client.get(f"/admin/training/evaluationrun/{few.pk}/change/").content.decode()
    assert "2 wrong answers." in html and "review the trace" not in html
    result = few.results.get(example_id="wrong-1")
    assert f'href="/admin/training/evaluationresult/{result.pk}/change/">open the result</a>' in html
    pending = EvaluationRunFactory.create(status=RunStatus.PENDING)
    page = admin_client.get(f"/admin/training/evaluationrun/{pending.pk}/change/").content.decode()
    assert "No wrong answer." in page and "Accuracy overall and per category" not in page
