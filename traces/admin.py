"""Curation UI: every change goes through ``traces.services``.

Actions work on "Select all N" over any number of traces: their intermediate forms post
back the changelist's filters (the URL) and ``select_across``, never the matched ids.
"""

from __future__ import annotations

import json
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.http import urlencode

from datasets.services import dataset_build
from datasets.services.build import LIMIT_MAX, NAME_PATTERN
from traces import admin_views, bulk, selectors, services
from traces.admin_filters import AnswerVerdictFilter, FormatVerdictFilter, HasDuplicatesFilter
from traces.models import Score, Tag, Trace, TraceStatus
from traces.serializers import TAG_PATTERN
from tunix_rt.errors import DomainError

VERIFIERS = ("answer_match", "format_match", "tunix_reward")


class TagForm(forms.Form):
    tag = forms.RegexField(regex=TAG_PATTERN, max_length=64, help_text="Letters, digits, '_', '.', ':' and '-'.")


class BuildDatasetForm(forms.Form):
    name = forms.RegexField(regex=NAME_PATTERN, max_length=128, help_text="Letters, digits, '.', '_' and '-'.")
    version = forms.RegexField(regex=NAME_PATTERN, max_length=64, help_text="The dataset key is name-version.")


class TraceAdminForm(forms.ModelForm):
    class Meta:
        model = Trace
        fields = ["status", "tags", "notes"]


def _verdict(value: float | None) -> str:
    return "–" if value is None else ("✓" if value >= 1.0 else "✗")


@admin.register(Trace)
class TraceAdmin(admin.ModelAdmin):
    form = TraceAdminForm
    change_list_template = "admin/traces/trace/change_list.html"
    list_display = [
        "excerpt",
        "source",
        "status",
        "step_count",
        "baseline_score",
        "answer_verdict",
        "format_verdict",
        "tag_list",
        "created_at",
    ]
    list_filter = ["status", "source", "tags", AnswerVerdictFilter, FormatVerdictFilter, HasDuplicatesFilter]
    search_fields = ["prompt", "final_answer"]
    date_hierarchy = "created_at"
    list_per_page = 50
    show_full_result_count = False
    filter_horizontal = ["tags"]
    actions = [
        "approve",
        "reject",
        "add_tag",
        "remove_tag",
        "score_baseline",
        "verify",
        "keep_oldest_duplicate",
        "compare_two",
        "build_dataset",
    ]
    readonly_fields = [
        "id",
        "created_at",
        "updated_at",
        "trace_version",
        "source",
        "content_hash",
        "prompt_text",
        "numbered_steps",
        "final_answer_text",
        "meta_json",
        "score_history",
    ]
    fieldsets = [
        ("Reasoning (read-only)", {"fields": ["prompt_text", "numbered_steps", "final_answer_text"]}),
        ("Curation", {"fields": ["status", "tags", "notes", "score_history"]}),
        (
            "Metadata",
            {"fields": ["meta_json", "source", "trace_version", "content_hash", "id", "created_at", "updated_at"]},
        ),
    ]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Trace]:
        return selectors.traces_for_admin()

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.display(description="prompt")
    def excerpt(self, obj: Trace) -> str:
        text = getattr(obj, "prompt_excerpt", "")
        return text if len(text) < 80 else text[:79] + "…"

    @admin.display(description="baseline", ordering="latest_baseline")
    def baseline_score(self, obj: Trace) -> str:
        value = getattr(obj, "latest_baseline", None)
        return "–" if value is None else f"{value:.2f}"

    @admin.display(description="answer", ordering="latest_answer_match")
    def answer_verdict(self, obj: Trace) -> str:
        return _verdict(getattr(obj, "latest_answer_match", None))

    @admin.display(description="format", ordering="latest_format_match")
    def format_verdict(self, obj: Trace) -> str:
        return _verdict(getattr(obj, "latest_format_match", None))

    @admin.display(description="tags")
    def tag_list(self, obj: Trace) -> str:
        return ", ".join(tag.name for tag in obj.tags.all())

    @admin.display(description="prompt")
    def prompt_text(self, obj: Trace) -> str:
        return format_html('<div style="white-space: pre-wrap">{}</div>', obj.prompt)

    @admin.display(description="steps")
    def numbered_steps(self, obj: Trace) -> str:
        items = format_html_join(
            "",
            '<li><small>[{}]</small> <span style="white-space: pre-wrap">{}</span></li>',
            ((step["type"], step["content"]) for step in obj.steps),
        )
        return format_html("<ol>{}</ol>", items)

    @admin.display(description="final answer")
    def final_answer_text(self, obj: Trace) -> str:
        return format_html('<div style="white-space: pre-wrap"><strong>{}</strong></div>', obj.final_answer)

    @admin.display(description="meta")
    def meta_json(self, obj: Trace) -> str:
        return format_html("<pre>{}</pre>", json.dumps(obj.meta, indent=2, ensure_ascii=False, sort_keys=True))

    @admin.display(description="scores")
    def score_history(self, obj: Trace) -> str:
        rows = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
            ((s.criteria, f"{s.score:.2f}", s.created_at.isoformat()) for s in selectors.trace_scores(trace=obj)),
        )
        if not rows:
            return "Not scored yet."
        return format_html("<table><tr><th>criteria</th><th>score</th><th>scored at</th></tr>{}</table>", rows)

    def save_model(self, request: HttpRequest, obj: Trace, form: forms.ModelForm, change: bool) -> None:
        """Saved in ``save_related`` through the curation service, tags included."""

    def save_related(self, request: HttpRequest, form: forms.ModelForm, formsets: Any, change: bool) -> None:
        data = form.cleaned_data
        services.trace_update_curation(
            trace=form.instance,
            status=data["status"],
            notes=data["notes"],
            tags=[t.name for t in data["tags"]],
            actor=request.user,
        )

    def delete_model(self, request: HttpRequest, obj: Trace) -> None:
        services.trace_delete(trace=obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Trace]) -> None:
        services.traces_delete(traces=queryset)

    def _bulk(self, request: HttpRequest, queryset: QuerySet[Trace], done: str, **change: Any) -> None:
        result = bulk.traces_bulk_update(traces=queryset, actor=request.user, **change)
        self.message_user(request, f"{done} {result.changed} of {result.matched} trace(s).", messages.SUCCESS)

    @admin.action(description="Approve selected traces")
    def approve(self, request: HttpRequest, queryset: QuerySet[Trace]) -> None:
        self._bulk(request, queryset, "Approved", status=TraceStatus.APPROVED)

    @admin.action(description="Reject selected traces")
    def reject(self, request: HttpRequest, queryset: QuerySet[Trace]) -> None:
        self._bulk(request, queryset, "Rejected", status=TraceStatus.REJECTED)

    def _intermediate(
        self, request: HttpRequest, queryset: QuerySet[Trace], *, action: str, title: str, form: forms.Form
    ) -> HttpResponse:
        """The action's form; it posts back the page's ids and ``select_across``, the URL keeps the filters."""
        context = {
            **self.admin_site.each_context(request),
            "title": title,
            "form": form,
            "count": queryset.count(),
            "selected_ids": request.POST.getlist(helpers.ACTION_CHECKBOX_NAME),
            "select_across": request.POST.get("select_across") == "1",
            "action": action,
            "opts": self.model._meta,
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        }
        return render(request, "admin/traces/trace/action_form.html", context)

    @admin.action(description="Add a tag to selected traces")
    def add_tag(self, request: HttpRequest, queryset: QuerySet[Trace]) -> HttpResponse | None:
        form = TagForm(request.POST if "apply" in request.POST else None)
        if form.is_bound and form.is_valid():
            tag = form.cleaned_data["tag"]
            self._bulk(request, queryset, f"Tagged with {tag!r}:", add_tags=[tag])
            return None
        return self._intermediate(request, queryset, action="add_tag", title="Add a tag", form=form)

    @admin.action(description="Remove a tag from selected traces")
    def remove_tag(self, request: HttpRequest, queryset: QuerySet[Trace]) -> HttpResponse | None:
        form = TagForm(request.POST if "apply" in request.POST else None)
        if form.is_bound and form.is_valid():
            tag = form.cleaned_data["tag"]
            self._bulk(request, queryset, f"Removed {tag!r} from", remove_tags=[tag])
            return None
        return self._intermediate(request, queryset, action="remove_tag", title="Remove a tag", form=form)

    @admin.action(description="Score selected traces with baseline")
    def score_baseline(self, request: HttpRequest, queryset: QuerySet[Trace]) -> None:
        result = bulk.traces_bulk_update(traces=queryset, score="baseline", actor=request.user)
        self.message_user(request, f"Scored {result.scored} trace(s) with baseline.", messages.SUCCESS)

    @admin.action(description="Verify selected traces (answer, format, Tunix reward)")
    def verify(self, request: HttpRequest, queryset: QuerySet[Trace]) -> None:
        for criteria in VERIFIERS:
            result = bulk.traces_bulk_update(traces=queryset, score=criteria, actor=request.user)
            text = f"{criteria}: scored {result.scored} trace(s)"
            if result.skipped:
                text += f", skipped {result.skipped} that cannot be verified"
            self.message_user(request, text + ".", messages.SUCCESS)

    @admin.action(description="Keep the oldest of each duplicate group, reject the rest")
    def keep_oldest_duplicate(self, request: HttpRequest, queryset: QuerySet[Trace]) -> None:
        result = bulk.traces_reject_duplicates(traces=queryset, actor=request.user)
        self.message_user(request, f"Rejected {result.changed} duplicate trace(s).", messages.SUCCESS)

    @admin.action(description="Compare two selected traces")
    def compare_two(self, request: HttpRequest, queryset: QuerySet[Trace]) -> HttpResponse | None:
        ids = list(queryset.values_list("id", flat=True)[:3])
        if len(ids) != 2:
            self.message_user(request, "Select exactly two traces to compare.", messages.WARNING)
            return None
        url = reverse("admin:traces_trace_compare")
        return HttpResponseRedirect(f"{url}?{urlencode({'base': str(ids[0]), 'other': str(ids[1])})}")

    @admin.action(description="Build dataset from selection")
    def build_dataset(self, request: HttpRequest, queryset: QuerySet[Trace]) -> HttpResponse | None:
        form = BuildDatasetForm(request.POST if "apply" in request.POST else None)
        if form.is_bound and form.is_valid():
            ids = list(queryset.order_by("-created_at", "-id").values_list("id", flat=True)[: LIMIT_MAX + 1])
            if len(ids) > LIMIT_MAX:
                self.message_user(
                    request, f"Select at most {LIMIT_MAX} traces for one dataset; narrow the filters.", messages.ERROR
                )
                return None
            try:
                dataset = dataset_build(
                    name=form.cleaned_data["name"], version=form.cleaned_data["version"], limit=len(ids), trace_ids=ids
                )
            except DomainError as exc:
                self.message_user(request, exc.message, messages.ERROR)
                return None
            url = reverse("admin:datasets_dataset_change", args=[dataset.pk])
            message = format_html('Built dataset <a href="{}">{}</a> with {} trace(s).', url, dataset.key, len(ids))
            self.message_user(request, message, messages.SUCCESS)
            return None
        title = "Build a dataset from the selected traces"
        return self._intermediate(request, queryset, action="build_dataset", title=title, form=form)

    def get_urls(self) -> list[Any]:
        extra = [
            path("compare/", self.admin_site.admin_view(self.compare_view), name="traces_trace_compare"),
            path("review/", self.admin_site.admin_view(self.review_view), name="traces_trace_review"),
        ]
        return extra + super().get_urls()

    def compare_view(self, request: HttpRequest) -> HttpResponse:
        return admin_views.compare(self, request)

    def review_view(self, request: HttpRequest) -> HttpResponse:
        return admin_views.review(self, request)


@admin.register(Tag)
class TagAdmin(admin.ModelAdmin):
    list_display = ["name"]
    search_fields = ["name"]


@admin.register(Score)
class ScoreAdmin(admin.ModelAdmin):
    list_display = ["trace_id", "criteria", "score", "created_at"]
    list_filter = ["criteria"]
    readonly_fields = ["trace", "criteria", "score", "details", "created_at"]
    list_select_related = False

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
