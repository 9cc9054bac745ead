"""Curation UI: every change goes through ``traces.services``."""

from __future__ import annotations

import json
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.http import urlencode

from datasets.services import dataset_build
from datasets.services.build import LIMIT_MAX, NAME_PATTERN
from traces import selectors, services
from traces.admin_deletes import HeldTraceDeleteMixin
from traces.models import Score, Tag, Trace, TraceStatus
from traces.serializers import TAG_PATTERN
from tunix_rt.errors import DomainError


class TagForm(forms.Form):
    tag = forms.RegexField(regex=TAG_PATTERN, max_length=64, help_text="Letters, digits, '_', '.', ':' and '-'.")


class BuildDatasetForm(forms.Form):
    name = forms.RegexField(regex=NAME_PATTERN, max_length=128, help_text="Letters, digits, '.', '_' and '-'.")
    version = forms.RegexField(regex=NAME_PATTERN, max_length=64, help_text="The dataset key is name-version.")


class TraceAdminForm(forms.ModelForm):
    class Meta:
        model = Trace
        fields = ["status", "tags", "notes"]


class SourceListFilter(admin.AllValuesFieldListFilter):
    """The distinct sources, with "(none)" for traces whose meta names no source."""

    def choices(self, changelist: Any) -> Any:
        for choice in super().choices(changelist):
            display = str(choice["display"])
            if display == "" or display.startswith(" ("):  # the empty source, with or without its facet count
                choice["display"] = "(none)" + display
            yield choice


@admin.register(Trace)
class TraceAdmin(HeldTraceDeleteMixin, admin.ModelAdmin):
    form = TraceAdminForm
    list_display = [
        "excerpt",
        "source",
        "status",
        "step_count",
        "baseline_score",
        "tag_list",
        "creator",
        "created_at",
    ]
    list_filter = [
        "status",
        ("source", SourceListFilter),
        "tags",
        "created_at",
        ("created_by", admin.RelatedOnlyFieldListFilter),
    ]
    search_fields = ["prompt", "final_answer"]
    date_hierarchy = "created_at"
    list_per_page = 50
    show_full_result_count = False
    filter_horizontal = ["tags"]
    actions = ["approve", "reject", "add_tag", "score_baseline", "compare_two", "build_dataset"]
    readonly_fields = [
        "id",
        "created_at",
        "updated_at",
        "trace_version",
        "source",
        "content_hash",
        "created_by",
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
            {
                "fields": [
                    "meta_json",
                    "source",
                    "trace_version",
                    "content_hash",
                    "id",
                    "created_by",
                    "created_at",
                    "updated_at",
                ]
            },
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

    @admin.display(description="created by", ordering="created_by__username")
    def creator(self, obj: Trace) -> str:
        return getattr(obj, "created_by_name", None) or "–"

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
            trace=selectors.trace_get(
                trace_id=form.instance.pk
            ),  # as stored: the form has already changed the instance
            status=data["status"],
            notes=data["notes"],
            tags=[t.name for t in data["tags"]],
            actor=request.user,
        )

    @admin.action(description="Approve selected traces", permissions=["change"])
    def approve(self, request: HttpRequest, queryset: QuerySet[Trace]) -> None:
        count = services.traces_set_status(traces=queryset, status=TraceStatus.APPROVED, actor=request.user)
        self.message_user(request, f"Approved {count} trace(s).", messages.SUCCESS)

    @admin.action(description="Reject selected traces", permissions=["change"])
    def reject(self, request: HttpRequest, queryset: QuerySet[Trace]) -> None:
        count = services.traces_set_status(traces=queryset, status=TraceStatus.REJECTED, actor=request.user)
        self.message_user(request, f"Rejected {count} trace(s).", messages.SUCCESS)

    @admin.action(description="Add a tag to selected traces", permissions=["change"])
    def add_tag(self, request: HttpRequest, queryset: QuerySet[Trace]) -> HttpResponse | None:
        form = TagForm(request.POST if "apply" in request.POST else None)
        if form.is_bound and form.is_valid():
            count = services.traces_add_tag(traces=queryset, tag=form.cleaned_data["tag"], actor=request.user)
            self.message_user(request, f"Tagged {count} trace(s) with {form.cleaned_data['tag']!r}.", messages.SUCCESS)
            return None
        context = {
            **self.admin_site.each_context(request),
            "title": "Add a tag",
            "form": form,
            "queryset": queryset,
            "action": "add_tag",
            "opts": self.model._meta,
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        }
        return render(request, "admin/traces/trace/action_form.html", context)

    @admin.action(description="Score selected traces with baseline", permissions=["change"])
    def score_baseline(self, request: HttpRequest, queryset: QuerySet[Trace]) -> None:
        count = services.traces_score(traces=queryset, criteria="baseline", actor=request.user)
        self.message_user(request, f"Scored {count} trace(s) with baseline.", messages.SUCCESS)

    @admin.action(description="Compare two selected traces")
    def compare_two(self, request: HttpRequest, queryset: QuerySet[Trace]) -> HttpResponse | None:
        ids = list(queryset.values_list("id", flat=True)[:3])
        if len(ids) != 2:
            self.message_user(request, "Select exactly two traces to compare.", messages.WARNING)
            return None
        url = reverse("admin:traces_trace_compare")
        return HttpResponseRedirect(f"{url}?{urlencode({'base': str(ids[0]), 'other': str(ids[1])})}")

    @admin.action(description="Build dataset from selection", permissions=["build_dataset"])
    def build_dataset(self, request: HttpRequest, queryset: QuerySet[Trace]) -> HttpResponse | None:
        form = BuildDatasetForm(request.POST if "apply" in request.POST else None)
        if form.is_bound and form.is_valid():
            ids = list(queryset.values_list("id", flat=True)[: LIMIT_MAX + 1])
            if len(ids) > LIMIT_MAX:
                self.message_user(request, f"Select at most {LIMIT_MAX} traces for one dataset.", messages.ERROR)
                return None
            try:
                dataset = dataset_build(
                    name=form.cleaned_data["name"],
                    version=form.cleaned_data["version"],
                    limit=len(ids),
                    trace_ids=ids,
                    actor=request.user,
                )
            except DomainError as exc:
                self.message_user(request, exc.message, messages.ERROR)
                return None
            url = reverse("admin:datasets_dataset_change", args=[dataset.pk])
            message = format_html('Built dataset <a href="{}">{}</a> with {} trace(s).', url, dataset.key, len(ids))
            self.message_user(request, message, messages.SUCCESS)
            return None
        context = {
            **self.admin_site.each_context(request),
            "title": "Build a dataset from the selected traces",
            "form": form,
            "queryset": queryset,
            "action": "build_dataset",
            "opts": self.model._meta,
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        }
        return render(request, "admin/traces/trace/action_form.html", context)

    def has_build_dataset_permission(self, request: HttpRequest) -> bool:
        return bool(request.user.has_perm("datasets.add_dataset"))

    def get_urls(self) -> list[Any]:
        extra = [path("compare/", self.admin_site.admin_view(self.compare_view), name="traces_trace_compare")]
        return extra + super().get_urls()

    def compare_view(self, request: HttpRequest) -> HttpResponse:
        context: dict[str, Any] = {
            **self.admin_site.each_context(request),
            "title": "Compare traces",
            "opts": self.model._meta,
        }
        try:
            context["sides"] = selectors.trace_compare(
                base_id=selectors.parse_trace_id(request.GET.get("base", "")),
                other_id=selectors.parse_trace_id(request.GET.get("other", "")),
            )
        except DomainError as exc:
            self.message_user(request, exc.message, messages.ERROR)
            return HttpResponseRedirect(reverse("admin:traces_trace_changelist"))
        return TemplateResponse(request, "admin/traces/trace/compare.html", context)


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
