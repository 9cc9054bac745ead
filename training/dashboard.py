"""The admin home's training panel: the newest runs with held-out accuracy before and after, as a table and a chart."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.urls import reverse

from training import selectors
from tunix_rt.dashboard import Panel, bar_chart, panel_register

RECENT = 5


def _evaluation(evaluation: Any) -> dict[str, Any] | None:
    if evaluation is None:
        return None
    return {
        "accuracy": evaluation.accuracy,
        "eval_set": evaluation.eval_set.name,
        "url": reverse("admin:training_evaluationrun_change", args=[evaluation.pk]),
    }


def recent_runs(request: HttpRequest) -> dict[str, Any]:
    """The ``RECENT`` newest runs with their accuracies; two queries."""
    rows = [
        {
            "run": row["run"],
            "url": reverse("admin:training_trainingrun_change", args=[row["run"].pk]),
            "before": _evaluation(row["before"]),
            "after": _evaluation(row["after"]),
        }
        for row in selectors.training_runs_recent_with_accuracy(limit=RECENT)
    ]
    measured = [row for row in rows if row["before"] or row["after"]]
    chart = bar_chart(
        pairs=[
            (
                f"{row['run'].recipe} {str(row['run'].pk)[:8]}",
                row["before"]["accuracy"] if row["before"] else None,
                row["after"]["accuracy"] if row["after"] else None,
            )
            for row in measured
        ]
    )
    return {
        "changelist": reverse("admin:training_trainingrun_changelist"),
        "runs": rows,
        "chart": chart if measured else None,
    }


panel_register(
    Panel(
        key="training",
        title="Train and evaluate",
        template="admin/dashboard/training.html",
        permission="training.view_trainingrun",
        build=recent_runs,
        order=30,
    )
)
