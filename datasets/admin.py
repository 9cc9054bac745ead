"""Read-only dataset pages: manifest, stats, downloads and a preview of what a trainer sees."""

from __future__ import annotations

import json
from itertools import islice
from typing import Any

from django.contrib import admin
from django.http import Http404, HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.http import urlencode
from django.views.decorators.http import require_safe

from datasets import selectors
from datasets.formats import ExportOptions, format_names, get_format
from datasets.models import Dataset
from tunix_rt import jsontext
from tunix_rt.admin import admin_require
from tunix_rt.errors import NotFound

PREVIEW_RECORDS = 3
DIFF_CHOICES = 100
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
        ("Splits", {"fields": ["split_table", "compare"]}),
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
        "split_table",
        "compare",
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
        return format_html("<pre>{}</pre>", jsontext.dumps(obj.filters, indent=2, ensure_ascii=False, sort_keys=True))

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

    @admin.display(description="splits")
    def split_table(self, obj: Dataset) -> str:
        if not obj.splits:
            return "Built without splits."
        rows = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td><code>{}</code></td></tr>",
            ((e["name"], e["fraction"], e["count"], e["group_count"], e["sha256"]) for e in obj.splits),
        )
        return format_html(
            "<table><tr><th>split</th><th>fraction</th><th>traces</th><th>groups</th><th>sha256 of ids</th></tr>{}"
            "</table><small>grouped by {}; groups in more than one split: {}</small>",
            rows,
            obj.split_group,
            obj.shared_groups,
        )

    @admin.display(description="compare with")
    def compare(self, obj: Dataset) -> str:
        url = reverse("admin:datasets_dataset_diff", args=[obj.pk])
        return format_html(
            '<a href="{}">Diff against another dataset</a> (added, removed and common traces; stats side by side)', url
        )

    def get_urls(self) -> list[Any]:
        extra = [
            path(
                "<path:object_id>/diff/",
                self.admin_site.admin_view(require_safe(self.diff_view)),
                name="datasets_dataset_diff",
            )
        ]
        return extra + super().get_urls()

    def diff_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """The API's diff, going from this dataset to ``?against=KEY``; an unknown key is 404 like the API."""
        admin_require(request, self.has_view_or_change_permission(request), "datasets.view_dataset")
        base = selectors.dataset_list().filter(pk=object_id).first() if object_id.isdigit() else None
        if base is None:
            raise Http404("No such dataset.")
        against_key = request.GET.get("against", "").strip()
        context: dict[str, Any] = {
            **self.admin_site.each_context(request),
            "title": f"Diff {base.key}",
            "opts": self.model._meta,
            "base": base,
            "against_key": against_key,
            "choices": list(selectors.dataset_list().exclude(pk=base.pk).values_list("key", flat=True)[:DIFF_CHOICES]),
        }
        if against_key:
            try:
                against = selectors.dataset_get(key=against_key)
            except NotFound as exc:
                raise Http404(exc.message) from None
            diff = selectors.dataset_diff(base=base, against=against)
            stat_names = list(dict.fromkeys([*base.stats, *against.stats]))
            context.update(
                against=against,
                diff=diff,
                stats_rows=[(n, base.stats.get(n, "–"), against.stats.get(n, "–")) for n in stat_names],
                split_rows=[
                    (n, _split_count(base, n), _split_count(against, n))
                    for n in dict.fromkeys([*base.split_names, *against.split_names])
                ],
            )
        return TemplateResponse(request, "admin/datasets/dataset/diff.html", context)

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


def _split_count(dataset: Dataset, name: str) -> Any:
    return next((e["count"] for e in dataset.splits if e["name"] == name), "–")
