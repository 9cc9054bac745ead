"""Before/after reports comparing two evaluations of the same eval set."""

from __future__ import annotations

from typing import Any

from training.models import EvaluationRun, RunStatus
from tunix_rt.errors import InvalidInput


def evaluation_report(*, before: EvaluationRun, after: EvaluationRun) -> dict[str, Any]:
    """Overall and per-category accuracy and format rate, and the examples whose outcome changed."""
    for side in (before, after):
        if side.status != RunStatus.SUCCEEDED:
            raise InvalidInput(f"Evaluation {side.id} has not succeeded ({side.status}).", field="before")
    if before.eval_set_id != after.eval_set_id:
        raise InvalidInput("Both evaluations must use the same eval set.", field="after")
    if before.samples > 1 or after.samples > 1:
        raise InvalidInput(
            "A report compares one answer per example; sample each evaluation once (samples 1).", field="after"
        )
    for side in (before, after):
        if side.trained_prompts:
            raise InvalidInput(
                f"Evaluation {side.id} generated on prompts its run trained on (trained_prompts); "
                "its accuracy is no held-out measure to compare.",
                field="before" if side is before else "after",
            )
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
