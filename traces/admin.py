"""Curation UI: every change goes through ``traces.services``.

Actions work on "Select all N" over any number of traces: their intermediate forms post
back the changelist's filters (the URL) and ``select_across``, never the matched ids.
"""

from __future__ import annotations

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

from traces import (
    admin_filters,
    admin_preferences,  # noqa: F401 - registers the Preference admin
    admin_tags_scores,  # noqa: F401 - registers the Tag and Score admins
    admin_views,
    bulk,
    selectors,
    services,
)
from traces.admin_columns import TraceColumns
from traces.admin_deletes import HeldTraceDeleteMixin
from traces.admin_extensions import trace_actions_for
from traces.admin_forms import TagForm, TraceAdminForm
from traces.models import Trace, TraceStatus
from tunix_rt import jsontext

VERIFIERS = ("answer_match", "format_match", "tunix_reward", "step_match")


@admin.register(Trace)
class TraceAdmin(HeldTraceDeleteMixin, TraceColumns, admin.ModelAdmin):
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
        "creator",
        "created",
    ]
    list_filter = [
        "status",
        ("source", admin_filters.SourceListFilter),
        ("tags", admin_filters.TagListFilter),
        admin_filters.AnswerVerdictFilter,
        admin_filters.FormatVerdictFilter,
        admin_filters.HasDuplicatesFilter,
        ("created_by", admin.RelatedOnlyFieldListFilter),
    ]
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
    ]
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

    def has_tag_permission(self, request: HttpRequest) -> bool:
        """Tagging may create the tag, so the tag actions need ``add_tag`` as well as ``change``."""
        return bool(request.user.has_perm("traces.add_tag"))

    def has_score_permission(self, request: HttpRequest) -> bool:
        """Scoring and verifying write ``Score`` rows and leave the trace as it is."""
        return bool(request.user.has_perm("traces.add_score"))

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
        return format_html("<pre>{}</pre>", jsontext.dumps(obj.meta, indent=2, ensure_ascii=False, sort_keys=True))

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
            trace=selectors.trace_get(trace_id=form.instance.pk),  # as stored, before the form's changes
            status=data["status"],
            notes=data["notes"],
            tags=[t.name for t in data["tags"]],
            actor=request.user,
        )

    def _bulk(self, request: HttpRequest, queryset: QuerySet[Trace], done: str, **change: Any) -> None:
        result = bulk.traces_bulk_update(traces=queryset, actor=request.user, **change)
        self.message_user(request, f"{done} {result.changed} of {result.matched} trace(s).", messages.SUCCESS)

    @admin.action(description="Approve selected traces", permissions=["change"])
    def approve(self, request: HttpRequest, queryset: QuerySet[Trace]) -> None:
        self._bulk(request, queryset, "Approved", status=TraceStatus.APPROVED)

    @admin.action(description="Reject selected traces", permissions=["change"])
    def reject(self, request: HttpRequest, queryset: QuerySet[Trace]) -> None:
        self._bulk(request, queryset, "Rejected", status=TraceStatus.REJECTED)

    def intermediate_page(
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

    @admin.action(description="Add a tag to selected traces", permissions=["change", "tag"])
    def add_tag(self, request: HttpRequest, queryset: QuerySet[Trace]) -> HttpResponse | None:
        form = TagForm(request.POST if "apply" in request.POST else None)
        if form.is_bound and form.is_valid():
            tag = form.cleaned_data["tag"]
            self._bulk(request, queryset, f"Tagged with {tag!r}:", add_tags=[tag])
            return None
        return self.intermediate_page(request, queryset, action="add_tag", title="Add a tag", form=form)

    @admin.action(description="Remove a tag from selected traces", permissions=["change", "tag"])
    def remove_tag(self, request: HttpRequest, queryset: QuerySet[Trace]) -> HttpResponse | None:
        form = TagForm(request.POST if "apply" in request.POST else None)
        if form.is_bound and form.is_valid():
            tag = form.cleaned_data["tag"]
            self._bulk(request, queryset, f"Removed {tag!r} from", remove_tags=[tag])
            return None
        return self.intermediate_page(request, queryset, action="remove_tag", title="Remove a tag", form=form)

    @admin.action(description="Score selected traces with baseline", permissions=["score"])
    def score_baseline(self, request: HttpRequest, queryset: QuerySet[Trace]) -> None:
        result = bulk.traces_bulk_update(traces=queryset, score="baseline", actor=request.user)
        self.message_user(request, f"Scored {result.scored} trace(s) with baseline.", messages.SUCCESS)

    @admin.action(description="Verify selected traces (answer, format, Tunix reward, steps)", permissions=["score"])
    def verify(self, request: HttpRequest, queryset: QuerySet[Trace]) -> None:
        for criteria in VERIFIERS:
            result = bulk.traces_bulk_update(traces=queryset, score=criteria, actor=request.user)
            text = f"{criteria}: scored {result.scored} trace(s)"
            if result.skipped:
                text += f", skipped {result.skipped} that cannot be verified"
            self.message_user(request, text + ".", messages.SUCCESS)

    @admin.action(description="Keep the oldest of each duplicate group, reject the rest", permissions=["change"])
    def keep_oldest_duplicate(self, request: HttpRequest, queryset: QuerySet[Trace]) -> None:
        result = bulk.traces_reject_duplicates(traces=queryset, actor=request.user)
        self.message_user(request, f"Rejected {result.changed} duplicate trace(s).", messages.SUCCESS)

    @admin.action(description="Compare two selected traces", permissions=["view"])
    def compare_two(self, request: HttpRequest, queryset: QuerySet[Trace]) -> HttpResponse | None:
        ids = list(queryset.values_list("id", flat=True)[:3])
        if len(ids) != 2:
            self.message_user(request, "Select exactly two traces to compare.", messages.WARNING)
            return None
        url = reverse("admin:traces_trace_compare")
        return HttpResponseRedirect(f"{url}?{urlencode({'base': str(ids[0]), 'other': str(ids[1])})}")

    def get_actions(self, request: HttpRequest) -> dict[str, Any]:
        """The trace actions plus those other apps registered (``traces.admin_extensions``), each offered
        only to users holding its permissions; Django runs no action it did not offer."""
        actions = super().get_actions(request)
        for extra in trace_actions_for(request):
            actions[extra.name] = (extra.function, extra.name, extra.description)
        return actions

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
