from __future__ import annotations

import importlib.abc
import io
import json
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command

from datasets.models import Dataset
from traces.models import Trace
from training.models import EvalSet, EvaluationRun, RunStatus, TrainingRun
from training.tests.factories import EvalItemFactory, EvaluationResultFactory, EvaluationRunFactory, TrainingRunFactory

pytestmark = pytest.mark.django_db

# The public tunix-rt eval set, byte for byte as published.
SHARED_EVAL = Path(__file__).resolve().parents[1] / "evalsets" / "eval_v1.jsonl"


def run(*args: Any) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


class RefuseJax(importlib.abc.MetaPathFinder):
    """Any attempt to import JAX or Tunix during the block fails loudly."""

    def find_spec(self, name: str, path: Any = None, target: Any = None) -> None:
        if name.split(".")[0] in {"jax", "jaxlib", "flax", "tunix", "optax", "orbax", "qwix"}:
            raise ImportError(f"{name} imported during a dry run")


@pytest.fixture
def refuse_jax() -> Iterator[None]:
    finder = RefuseJax()
    sys.meta_path.insert(0, finder)
    try:
        yield
    finally:
        sys.meta_path.remove(finder)


def test_train_sft_dry_run_writes_the_manifest_without_jax(
    arith_dataset: Dataset, tiny_config: Path, refuse_jax: None
) -> None:
    out = run("train_sft", "--dataset", "arith-1.0", "--config", str(tiny_config), "--dry-run")
    last = out.strip().splitlines()[-1]
    run_obj = TrainingRun.objects.get()
    assert last == f"run={run_obj.run_id} status=succeeded steps=0"
    assert "loss" not in out
    assert "exports 40 record(s)" in out
    manifest = json.loads((Path(run_obj.artifacts_path) / "run_manifest.json").read_text())
    assert manifest["dry_run"] is True and manifest["record_count"] == 40


def test_train_sft_without_the_stack_names_the_install_command(
    arith_dataset: Dataset, tiny_config: Path, no_training_stack: None
) -> None:
    with pytest.raises(CommandError, match="requirements-training.txt"):
        run("train_sft", "--dataset", "arith-1.0", "--config", str(tiny_config))
    assert TrainingRun.objects.count() == 0


def test_train_sft_operator_mistakes(arith_dataset: Dataset, tiny_config: Path, tmp_path: Path) -> None:
    with pytest.raises(CommandError, match="not found"):
        run("train_sft", "--dataset", "missing-1.0", "--config", str(tiny_config), "--dry-run")
    bad = tmp_path / "bad.yaml"
    bad.write_text("model: {mode: huge}\n", encoding="utf-8")
    with pytest.raises(CommandError, match="mode"):
        run("train_sft", "--dataset", "arith-1.0", "--config", str(bad), "--dry-run")


def test_train_sft_reports_a_real_run_and_fails_non_zero_on_error(
    arith_dataset: Dataset, tiny_config: Path, fake_engine: Callable[..., None]
) -> None:
    fake_engine(losses=[1.5, 0.75])
    out = run("train_sft", "--dataset", "arith-1.0", "--config", str(tiny_config))
    run_obj = TrainingRun.objects.get()
    assert out.strip().splitlines()[-1] == f"run={run_obj.run_id} status=succeeded steps=2 final_loss=0.75"
    fake_engine(fail=MemoryError("out of memory"))
    with pytest.raises(CommandError, match="failed: out of memory"):
        run("train_sft", "--dataset", "arith-1.0", "--config", str(tiny_config))


def test_import_eval_set_takes_the_shared_file_as_it_is() -> None:
    out = run("import_eval_set", str(SHARED_EVAL), "--name", "eval_v1")
    assert "with 25 item(s)" in out
    eval_set = EvalSet.objects.get(name="eval_v1")
    assert eval_set.items.get(example_id="eval-004").prompt == "What is 8 × 7?"
    with pytest.raises(CommandError, match="already exists"):
        run("import_eval_set", str(SHARED_EVAL), "--name", "eval_v1")


def test_import_eval_set_reports_bad_lines_and_stores_nothing(tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    good = {"id": "a", "prompt": "p", "expected_answer": "1"}
    path.write_text("\n".join([json.dumps(good), "{oops", json.dumps({"id": "b"}), "[1]"]) + "\n", encoding="utf-8")
    err = io.StringIO()
    with pytest.raises(CommandError, match="3 invalid line"):
        call_command("import_eval_set", str(path), "--name", "x", stdout=io.StringIO(), stderr=err)
    lines = err.getvalue().splitlines()
    assert lines[0].startswith("line 2: invalid JSON")
    assert lines[1] == "line 3: prompt: This field is required.; expected_answer: This field is required."
    assert lines[2] == "line 4: expected a JSON object"
    assert EvalSet.objects.count() == 0
    with pytest.raises(CommandError, match="No such file"):
        run("import_eval_set", str(tmp_path / "none.jsonl"), "--name", "x")


def test_make_eval_set_shares_no_prompt_with_the_dataset(arith_dataset: Dataset, tmp_path: Path) -> None:
    target = tmp_path / "held_out.jsonl"
    out = run("make_eval_set", "arithmetic", "--count", "30", "--seed", "1", "--level", "medium",
              "--exclude-dataset", "arith-1.0", "--output", str(target))  # fmt: skip
    assert "Wrote 30 item(s)" in out
    items = [json.loads(line) for line in target.read_text().splitlines()]
    prompts = {item["prompt"] for item in items}
    assert len(prompts) == 30
    assert not prompts & set(Trace.objects.values_list("prompt", flat=True))
    assert set(items[0]) == {"id", "prompt", "expected_answer", "category", "difficulty"}
    for item in items:
        left, op, right = item["prompt"].removeprefix("What is ").removesuffix("?").split()
        assert int(item["expected_answer"]) == (int(left) + int(right) if op == "+" else int(left) - int(right))


def test_make_eval_set_refuses_to_repeat_prompts(arith_dataset: Dataset, tmp_path: Path) -> None:
    with pytest.raises(CommandError, match="could be found"):
        run("make_eval_set", "arithmetic", "--count", "500", "--level", "easy",
            "--exclude-dataset", "arith-1.0", "--output", str(tmp_path / "x.jsonl"))  # fmt: skip
    assert not (tmp_path / "x.jsonl").exists()


def test_evaluate_command(arith_dataset: Dataset, fake_engine: Callable[..., None], no_training_stack: None) -> None:
    trained = TrainingRunFactory.create(dataset_key="arith-1.0")
    item = EvalItemFactory.create(prompt="What is 500 + 1?", expected_answer="501", eval_set__item_count=1)
    with pytest.raises(CommandError, match="requirements-training.txt"):
        run("evaluate", "--run", str(trained.run_id), "--eval-set", item.eval_set.name)
    fake_engine(
        outputs=lambda prompts: ["<reasoning>1. 500 + 1 = 501</reasoning>\n<answer>501</answer>"] * len(prompts)
    )
    out = run("evaluate", "--run", str(trained.run_id), "--eval-set", item.eval_set.name)
    evaluation = EvaluationRun.objects.get()
    assert out.strip().splitlines()[-1] == f"accuracy=1.0000 format_rate=1.0000 eval_run={evaluation.id}"


def test_eval_report_markdown(tmp_path: Path) -> None:
    before_row = EvaluationResultFactory.create(correct=False, format_ok=False, predicted_answer=None)
    before = before_row.evaluation
    before.accuracy, before.format_rate = 0.0, 0.0
    before.per_category = {"addition": {"count": 1, "accuracy": 0.0, "format_rate": 0.0}}
    before.save()
    after = EvaluationRunFactory.create(
        training_run=before.training_run, eval_set=before.eval_set, accuracy=1.0, format_rate=1.0,
        per_category={"addition": {"count": 1, "accuracy": 1.0, "format_rate": 1.0}},
    )  # fmt: skip
    EvaluationResultFactory.create(evaluation=after, example_id=before_row.example_id)
    target = tmp_path / "report.md"
    run("eval_report", "--before", str(before.id), "--after", str(after.id), "--output", str(target))
    text = target.read_text()
    assert "| before | 0.0% | 0.0% |" in text and "| after | 100.0% | 100.0% |" in text
    assert "| addition | 1 | 0.0% | 100.0% | 0.0% | 100.0% |" in text
    assert f"| {before_row.example_id} | 2 | None (wrong, bad format) | 2 (correct) |" in text
    pending = EvaluationRunFactory.create(status=RunStatus.PENDING)
    with pytest.raises(CommandError, match="has not succeeded"):
        run("eval_report", "--before", str(pending.id), "--after", str(after.id))


def test_import_eval_set_refuses_a_line_nested_past_the_depth_limit(tmp_path: Path) -> None:
    path = tmp_path / "deep.jsonl"
    good = {"id": "a", "prompt": "p", "expected_answer": "1"}
    lines = [json.dumps(good), '{"id": "b", "category": ' + "[" * 65 + "]" * 65 + "}", "[" * 5_000 + "]" * 5_000]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    err = io.StringIO()
    with pytest.raises(CommandError, match="2 invalid line"):
        call_command("import_eval_set", str(path), "--name", "x", stdout=io.StringIO(), stderr=err)
    assert "line 2: category: category[0]" in err.getvalue()
    assert "nests deeper than 64 levels of objects and arrays." in err.getvalue()
    assert "line 3: invalid JSON (The document nests deeper than 64 levels" in err.getvalue()
    assert EvalSet.objects.count() == 0
