"""Training runs in the admin: status, loss curve, manifest, metrics and artifacts."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.contrib import admin
from django.http import HttpRequest
from django.utils.html import format_html, format_html_join

from training import selectors, services
from training.charts import loss_curve_svg
from training.models import TrainingRun


@admin.register(TrainingRun)
class TrainingRunAdmin(admin.ModelAdmin):
    list_display = ["run_id", "status", "dataset_key", "recipe", "steps", "last_loss", "started_at", "duration"]
    list_filter = ["status", "recipe", "dry_run"]
    search_fields = ["dataset_key", "run_id"]
    readonly_fields = [
        "run_id", "status", "dataset_key", "dataset_build_id", "recipe", "seed", "git_sha", "dry_run",
        "created_at", "started_at", "finished_at", "duration", "steps", "last_loss", "record_count", "error",
        "loss_curve", "metrics_table", "manifest", "artifacts",
    ]  # fmt: skip
    fieldsets = [
        ("Run", {"fields": ["run_id", "status", "dataset_key", "dataset_build_id", "recipe", "seed", "git_sha",
                            "dry_run", "error"]}),
        ("Progress", {"fields": ["created_at", "started_at", "finished_at", "duration", "steps", "last_loss",
                                 "record_count", "loss_curve"]}),
        ("Files", {"fields": ["artifacts", "manifest", "metrics_table"]}),
    ]  # fmt: skip

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description="last loss", ordering="final_loss")
    def last_loss(self, obj: TrainingRun) -> str:
        return "–" if obj.final_loss is None else f"{obj.final_loss:.4f}"

    @admin.display(description="duration")
    def duration(self, obj: TrainingRun) -> str:
        seconds = obj.duration_seconds
        return "–" if seconds is None else f"{seconds:.0f} s"

    @admin.display(description="loss curve")
    def loss_curve(self, obj: TrainingRun) -> str:
        points = [(m.step, m.loss) for m in selectors.training_run_metrics(run=obj) if m.loss is not None]
        return loss_curve_svg(points)

    @admin.display(description="metrics")
    def metrics_table(self, obj: TrainingRun) -> str:
        rows = format_html_join(
            "", "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
            ((m.step, m.loss, m.eval_loss if m.eval_loss is not None else "–")
             for m in selectors.training_run_metrics(run=obj)),
        )  # fmt: skip
        return format_html("<table><tr><th>step</th><th>loss</th><th>eval loss</th></tr>{}</table>", rows)

    @admin.display(description="run manifest")
    def manifest(self, obj: TrainingRun) -> str:
        return format_html("<pre>{}</pre>", json.dumps(services.run_manifest(obj), indent=2, sort_keys=True))

    @admin.display(description="artifacts")
    def artifacts(self, obj: TrainingRun) -> str:
        root = Path(obj.artifacts_path)
        if not root.is_dir():
            return "No artifacts directory."
        entries = sorted(p.relative_to(root).as_posix() + ("/" if p.is_dir() else "") for p in root.iterdir())
        return format_html("<code>{}</code><ul>{}</ul>", root, format_html_join("", "<li>{}</li>", ((e,) for e in entries)))
