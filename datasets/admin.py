"""Read-only dataset pages: manifest, stats, downloads and a preview of what a trainer sees."""

from __future__ import annotations

import json
from itertools import islice
from typing import Any

from django.contrib import admin
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.http import urlencode

from datasets import selectors
from datasets.formats import ExportOptions, format_names, get_format
from datasets.models import Dataset

PREVIEW_RECORDS = 3
BLOCK = "white-space: pre-wrap; font-family: monospace; padding: 6px; margin: 2px 0; border-radius: 4px;"
PROMPT_STYLE = BLOCK + "background: #f1f1f1; color: #555; border-left: 4px solid #999;"
COMPLETION_STYLE = BLOCK + "background: #e8f5e9; color: #1b3d1f; border-left: 4px solid #2e7d32;"


@admin.register(Dataset)
class DatasetAdmin(admin.ModelAdmin):
    list_display = ["key", "name", "version", "selection_strategy", "trace_count", "created_by", "created_at"]
    list_filter = ["selection_strategy", "created_at", ("created_by", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["key", "name"]
    date_hierarchy = "created_at"
    list_select_related = ["parent_dataset", "created_by"]
    fieldsets = [
        ("Dataset", {"fields": ["key", "name", "version", "build_id", "created_at", "trace_count"]}),
        (
            "Selection",
            {"fields": ["selection_strategy", "seed", "limit", "filters_json", "curation", "parent_key"]},
        ),
        ("Provenance", {"fields": ["created_by", "session_id", "training_run_id"]}),
        ("Stats", {"fields": ["stats_table"]}),
        ("Exports", {"fields": ["downloads", "recorded_exports"]}),
        ("Preview (prompt_completion)", {"fields": ["preview"]}),
    ]
    readonly_fields = [
        "key",
        "name",
        "version",
        "build_id",
        "created_at",
        "trace_count",
        "selection_strategy",
        "seed",
        "limit",
        "filters_json",
        "curation",
        "parent_key",
        "created_by",
        "session_id",
        "training_run_id",
        "stats_table",
        "downloads",
        "recorded_exports",
        "preview",
    ]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description="filters")
    def filters_json(self, obj: Dataset) -> str:
        return format_html("<pre>{}</pre>", json.dumps(obj.filters, indent=2, ensure_ascii=False, sort_keys=True))

    @admin.display(description="curation")
    def curation(self, obj: Dataset) -> str:
        parts = [f"status={obj.status_filter}" if obj.status_filter else "", f"tags={', '.join(obj.tag_filter)}"]
        if obj.explicit_selection:
            parts.append("explicit trace ids")
        return "; ".join(p for p in parts if p and p != "tags=") or "–"

    @admin.display(description="parent dataset")
    def parent_key(self, obj: Dataset) -> str:
        return obj.parent_dataset.key if obj.parent_dataset is not None else "–"

    @admin.display(description="stats")
    def stats_table(self, obj: Dataset) -> str:
        rows = format_html_join("", "<tr><th>{}</th><td>{}</td></tr>", sorted(obj.stats.items()))
        return format_html("<table>{}</table>", rows)

    @admin.display(description="download")
    def downloads(self, obj: Dataset) -> str:
        url = reverse("dataset-export", kwargs={"key": obj.key})
        links = format_html_join(
            " · ", '<a href="{}?{}">{}</a>', ((url, urlencode({"format": name}), name) for name in format_names())
        )
        return format_html("{} <br><small>JSONL, streamed by the API; your admin session signs you in.</small>", links)

    @admin.display(description="recorded digests")
    def recorded_exports(self, obj: Dataset) -> str:
        rows = format_html_join(
            "",
            "<tr><td>{}</td><td><code>{}</code></td><td>{}</td><td><code>{}</code></td></tr>",
            (
                (e.format, json.dumps(e.options, ensure_ascii=False), e.line_count, e.sha256)
                for e in selectors.dataset_exports(dataset=obj)
            ),
        )
        if not rows:
            return "No export computed yet."
        return format_html(
            "<table><tr><th>format</th><th>options</th><th>lines</th><th>sha256</th></tr>{}</table>", rows
        )

    @admin.display(description="first records")
    def preview(self, obj: Dataset) -> str:
        fmt = get_format("prompt_completion")
        traces = islice(selectors.dataset_iter_traces(dataset=obj, chunk_size=PREVIEW_RECORDS), PREVIEW_RECORDS)
        records = [fmt.render(trace, ExportOptions()) for trace in traces]
        if not records:
            return "None of this dataset's traces exist any more."
        blocks = format_html_join(
            "",
            '<div style="margin-bottom: 1em"><small>{}</small>'
            '<div class="preview-prompt" style="{}"><small>prompt (no loss)</small>\n{}</div>'
            '<div class="preview-completion" style="{}"><small>completion (loss)</small>\n{}</div></div>',
            ((r["id"], PROMPT_STYLE, r["prompt"], COMPLETION_STYLE, r["completion"]) for r in records),
        )
        return format_html("{}", blocks)
