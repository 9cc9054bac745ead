"""Eval sets, evaluation runs and before/after reports (DESIGN §7).

Generation imports JAX lazily through ``training.engine.sampling``; importing eval sets,
checking contamination and writing reports need no training stack.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from datasets.selectors import dataset_get, dataset_iter_traces
from traces.verifiers.answers import answers_match, extract_answer, format_ok
from training import jobs
from training.models import (
    CheckpointChoice,
    EvalItem,
    EvalSet,
    EvaluationResult,
    EvaluationRun,
    RunStatus,
    TrainingRun,
)
from training.services import run_config
from tunix_rt.errors import Conflict, InvalidInput

_SPACE = re.compile(r"\s+")
SHOWN_SHARED = 5


def prompt_key(prompt: str) -> str:
    """Prompts compare equal when they differ only in case and spacing."""
    return _SPACE.sub(" ", prompt).strip().casefold()


@transaction.atomic
def eval_set_import(*, name: str, items: Sequence[dict[str, Any]], description: str = "") -> EvalSet:
    """Stores a validated eval set whole, or nothing; a name that exists is a 409."""
    if EvalSet.objects.filter(name=name).exists():
        raise Conflict(f"Eval set {name!r} already exists; eval sets are immutable, choose a new name.")
    if not items:
        raise InvalidInput("An eval set needs at least one item.", field="items")
    ids = [item["id"] for item in items]
    repeated = sorted({i for i in ids if ids.count(i) > 1}) if len(set(ids)) != len(ids) else []
    if repeated:
        raise InvalidInput(f"Item ids must be unique; repeated: {', '.join(repeated[:SHOWN_SHARED])}.", field="items")
    try:
        eval_set = EvalSet.objects.create(name=name, description=description, item_count=len(items))
    except IntegrityError:
        raise Conflict(f"Eval set {name!r} already exists.") from None
    EvalItem.objects.bulk_create(
        EvalItem(
            eval_set=eval_set,
            position=n,
            example_id=item["id"],
            prompt=item["prompt"],
            expected_answer=item["expected_answer"],
            category=item.get("category") or "",
            difficulty=item.get("difficulty") or "",
        )
        for n, item in enumerate(items)
    )
    return eval_set


def shared_prompts(*, eval_prompts: Iterable[str], dataset_key: str) -> list[str]:
    """Eval prompts that also appear in the dataset (streamed, so memory holds only the eval set)."""
    wanted = {prompt_key(p): p for p in eval_prompts}
    shared: dict[str, str] = {}
    for trace in dataset_iter_traces(dataset=dataset_get(key=dataset_key)):
        key = prompt_key(trace.prompt)
        if key in wanted:
            shared[key] = wanted[key]
    return sorted(shared.values())


def evaluation_create(*, training_run: TrainingRun, eval_set: EvalSet, checkpoint: str) -> EvaluationRun:
    """Refuses a dry or unfinished run and an eval set that shares prompts with the run's data."""
    if checkpoint not in CheckpointChoice.values:
        raise InvalidInput(f"checkpoint must be one of {', '.join(CheckpointChoice.values)}.", field="checkpoint")
    if training_run.dry_run or training_run.status != RunStatus.SUCCEEDED:
        raise InvalidInput(
            f"Training run {training_run.run_id} has no trained checkpoints (status {training_run.status}"
            f"{', dry run' if training_run.dry_run else ''}).",
            field="training_run_id",
        )
    prompts = eval_set.items.values_list("prompt", flat=True)
    shared = shared_prompts(eval_prompts=prompts, dataset_key=training_run.dataset_key)
    if shared:
        shown = "; ".join(repr(p) for p in shared[:SHOWN_SHARED])
        more = f" and {len(shared) - SHOWN_SHARED} more" if len(shared) > SHOWN_SHARED else ""
        raise InvalidInput(
            f"Contamination: eval set {eval_set.name!r} shares {len(shared)} prompt(s) with dataset "
            f"{training_run.dataset_key!r}: {shown}{more}.",
            field="eval_set",
        )
    return EvaluationRun.objects.create(
        training_run=training_run, eval_set=eval_set, checkpoint=checkpoint, example_count=eval_set.item_count
    )


def evaluation_enqueue(*, training_run: TrainingRun, eval_set: EvalSet, checkpoint: str) -> EvaluationRun:
    from training import tasks

    with transaction.atomic():
        evaluation = evaluation_create(training_run=training_run, eval_set=eval_set, checkpoint=checkpoint)
        evaluation_id = str(evaluation.id)
        transaction.on_commit(lambda: tasks.evaluate.enqueue(evaluation_id=evaluation_id))
    return evaluation


def evaluation_cancel(*, evaluation: EvaluationRun) -> EvaluationRun:
    jobs.job_cancel(evaluation)
    return evaluation


def score_example(*, generated: str, expected: str) -> dict[str, Any]:
    correct = answers_match(generated, expected)
    return {
        "predicted_answer": extract_answer(generated),
        "correct": correct,
        "format_ok": format_ok(generated),
        "score": 1.0 if correct else 0.0,
    }


def aggregate(results: Sequence[EvaluationResult]) -> tuple[float, float, dict[str, dict[str, float]]]:
    """Exact-match accuracy and format rate overall and per category."""
    groups: dict[str, list[EvaluationResult]] = defaultdict(list)
    for result in results:
        groups[result.category or "uncategorised"].append(result)

    def rates(rows: Sequence[EvaluationResult]) -> tuple[float, float]:
        if not rows:
            return 0.0, 0.0
        return sum(r.correct for r in rows) / len(rows), sum(r.format_ok for r in rows) / len(rows)

    accuracy, format_rate = rates(results)
    per_category = {
        name: {"count": len(rows), "accuracy": rates(rows)[0], "format_rate": rates(rows)[1]}
        for name, rows in sorted(groups.items())
    }
    return accuracy, format_rate, per_category


def evaluation_execute(*, evaluation: EvaluationRun) -> EvaluationRun:
    """Generates greedily with Tunix's Sampler, scores every example, stores results and aggregates."""
    if not jobs.job_start(evaluation):
        return evaluation
    run = evaluation.training_run
    items = list(evaluation.eval_set.items.order_by("position"))
    try:
        from training.engine.sampling import generate

        config = run_config(run)
        with jobs.heartbeat(evaluation):
            outputs = generate(
                run_dir=Path(run.artifacts_path),
                checkpoint=evaluation.checkpoint,
                prompts=[item.prompt for item in items],
                max_new_tokens=config.eval.max_new_tokens,
                batch_size=config.eval.batch_size,
            )
    except Exception as exc:
        jobs.job_fail(evaluation, f"{exc.__class__.__name__}: {exc}")
        if isinstance(exc, (RuntimeError, ValueError, OSError, MemoryError)):
            return evaluation
        raise
    return _store_results(evaluation=evaluation, items=items, outputs=outputs)


@transaction.atomic
def _store_results(*, evaluation: EvaluationRun, items: Sequence[EvalItem], outputs: Sequence[str]) -> EvaluationRun:
    results = [
        EvaluationResult(
            evaluation=evaluation,
            position=n,
            example_id=item.example_id,
            prompt=item.prompt,
            generated_response=output,
            expected_response=item.expected_answer,
            category=item.category,
            metadata={"category": item.category, "difficulty": item.difficulty},
            **score_example(generated=output, expected=item.expected_answer),
        )
        for n, (item, output) in enumerate(zip(items, outputs, strict=True))
    ]
    EvaluationResult.objects.bulk_create(results)
    accuracy, format_rate, per_category = aggregate(results)
    EvaluationRun.objects.filter(pk=evaluation.pk, status=RunStatus.RUNNING).update(
        status=RunStatus.SUCCEEDED,
        accuracy=accuracy,
        format_rate=format_rate,
        per_category=per_category,
        example_count=len(results),
        finished_at=timezone.now(),
    )
    evaluation.refresh_from_db()
    return evaluation


def evaluation_report(*, before: EvaluationRun, after: EvaluationRun) -> dict[str, Any]:
    """Overall and per-category accuracy and format rate, and the examples whose outcome changed."""
    for side in (before, after):
        if side.status != RunStatus.SUCCEEDED:
            raise InvalidInput(f"Evaluation {side.id} has not succeeded ({side.status}).", field="before")
    if before.eval_set_id != after.eval_set_id:
        raise InvalidInput("Both evaluations must use the same eval set.", field="after")
    before_rows = {r.example_id: r for r in before.results.all()}
    changed = []
    for row in after.results.order_by("position"):
        old = before_rows.get(row.example_id)
        if old is not None and (old.correct, old.format_ok) != (row.correct, row.format_ok):
            changed.append({
                "example_id": row.example_id, "prompt": row.prompt, "expected": row.expected_response,
                "before": {"answer": old.predicted_answer, "correct": old.correct, "format_ok": old.format_ok},
                "after": {"answer": row.predicted_answer, "correct": row.correct, "format_ok": row.format_ok},
            })  # fmt: skip
    categories = sorted(set(before.per_category) | set(after.per_category))
    return {
        "eval_set": before.eval_set.name,
        "before": {"id": str(before.id), "checkpoint": before.checkpoint, "training_run": str(before.training_run_id),
                   "accuracy": before.accuracy, "format_rate": before.format_rate},
        "after": {"id": str(after.id), "checkpoint": after.checkpoint, "training_run": str(after.training_run_id),
                  "accuracy": after.accuracy, "format_rate": after.format_rate},
        "per_category": [
            {"category": c, "before": before.per_category.get(c), "after": after.per_category.get(c)}
            for c in categories
        ],
        "changed": changed,
    }  # fmt: skip


def _outcome_cell(side: dict[str, Any]) -> str:
    mark = "correct" if side["correct"] else "wrong"
    fmt = "" if side["format_ok"] else ", bad format"
    answer = str(side["answer"]).replace("|", "\\|")
    return f"{answer} ({mark}{fmt})"


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{value:.1%}"


def report_markdown(report: dict[str, Any]) -> str:
    before, after = report["before"], report["after"]
    lines = [
        f"# Evaluation report: {report['eval_set']}",
        "",
        f"- before: `{before['id']}` ({before['checkpoint']} weights of run `{before['training_run']}`)",
        f"- after: `{after['id']}` ({after['checkpoint']} weights of run `{after['training_run']}`)",
        "",
        "| | accuracy | format rate |",
        "|---|---|---|",
        f"| before | {_pct(before['accuracy'])} | {_pct(before['format_rate'])} |",
        f"| after | {_pct(after['accuracy'])} | {_pct(after['format_rate'])} |",
        "",
        "## Per category",
        "",
        "| category | n | accuracy before | accuracy after | format before | format after |",
        "|---|---|---|---|---|---|",
    ]
    for row in report["per_category"]:
        b, a = row["before"] or {}, row["after"] or {}
        lines.append(
            f"| {row['category']} | {a.get('count', b.get('count', 0))} | {_pct(b.get('accuracy'))} | "
            f"{_pct(a.get('accuracy'))} | {_pct(b.get('format_rate'))} | {_pct(a.get('format_rate'))} |"
        )
    lines += ["", f"## Changed outcomes ({len(report['changed'])})", ""]
    if report["changed"]:
        lines += ["| example | expected | before | after |", "|---|---|---|---|"]
        for change in report["changed"]:
            before, after = _outcome_cell(change["before"]), _outcome_cell(change["after"])
            lines.append(f"| {change['example_id']} | {change['expected']} | {before} | {after} |")
    else:
        lines.append("No example changed outcome.")
    return "\n".join(lines) + "\n"


def _category_of(payload: dict[str, Any]) -> str:
    meta = payload.get("meta") or {}
    operators = meta.get("operators")
    if meta.get("generator") == "arithmetic" and operators:
        if len(operators) > 1:
            return "chained"
        return "addition" if operators[0] == "+" else "subtraction"
    return str(meta.get("generator") or "generated")


def eval_items_from_generator(
    *, name: str, count: int, seed: int, level: str | None, exclude_dataset_key: str
) -> list[dict[str, Any]]:
    """``count`` eval items whose prompts are distinct and absent from the dataset; never repeats a prompt."""
    from traces.generators import (
        InvalidGeneratorOption,
        NotEnoughDistinctPrompts,
        UnknownGenerator,
        distinct_prompts,
        get_generator,
    )

    dataset = dataset_get(key=exclude_dataset_key)
    seen = {trace.prompt for trace in dataset_iter_traces(dataset=dataset)}
    try:
        generator = get_generator(name)
        payloads = distinct_prompts(name=name, count=count, seed=seed, level=level, exclude=seen)
    except UnknownGenerator as exc:
        raise InvalidInput(str(exc), field="name") from None
    except (NotEnoughDistinctPrompts, InvalidGeneratorOption) as exc:
        raise InvalidInput(str(exc), field="count") from None
    difficulty = level or str(generator.options.get("default_level") or "")
    return [
        {
            "id": f"{name}-{difficulty or 'default'}-s{seed}-{n:05d}",
            "prompt": payload["prompt"],
            "expected_answer": generator.expected_answer(payload),
            "category": _category_of(payload),
            "difficulty": difficulty,
        }
        for n, payload in enumerate(payloads)
    ]
