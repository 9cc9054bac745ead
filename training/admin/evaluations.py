"""Evaluations in the admin: per-example results, outcome filters and the before/after report."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.loader import render_to_string
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.views.decorators.http import require_safe

from traces.review import review_traces_from
from training import selectors
from training import services as evaluation_services
from training.admin.base import ReadOnlyAdmin, created_by_name, pct, require_permission
from training.charts import accuracy_bars_svg
from training.models import EvaluationResult, EvaluationRun, StoreTraces
from training.services.eval_traces import MODEL_SOURCE
from tunix_rt.errors import DomainError
from tunix_rt.query import StrictListFilter

WRONG_SHOWN = 50


class OutcomeFilter(StrictListFilter):
    title = "outcome"
    parameter_name = "outcome"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("correct", "correct"), ("wrong", "wrong"), ("bad_format", "bad format")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        value = self.value()
        if value == "correct":
            return queryset.filter(correct=True)
        if value == "wrong":
            return queryset.filter(correct=False)
        if value == "bad_format":
            return queryset.filter(format_ok=False)
        return queryset


class EvaluationResultInline(admin.TabularInline):
    model = EvaluationResult
    extra = 0
    can_delete = False
    fields = ("example_id", "category", "prompt", "expected_response", "generated_response", "correct", "format_ok")
    readonly_fields = fields
    ordering = ("position",)

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(EvaluationRun)
class EvaluationRunAdmin(ReadOnlyAdmin):
    list_display = [
        "id",
        "status",
        "eval_set",
        "training_run",
        "checkpoint",
        "accuracy_pct",
        "format_pct",
        "creator",
        "created_at",
    ]
    list_filter = ["status", "checkpoint", "eval_set", ("created_by", admin.RelatedOnlyFieldListFilter)]
    list_select_related = ["eval_set", "training_run"]
    readonly_fields = [
        "id", "status", "training_run", "eval_set", "checkpoint", "samples", "temperature", "seed",
        "trained_prompts", "created_at", "started_at", "finished_at",
        "example_count", "accuracy_pct", "format_pct", "accuracy_chart", "categories", "wrong_answers", "error",
        "results_link", "creator",
    ]  # fmt: skip
    fieldsets = [
        ("Results", {"fields": ["accuracy_pct", "format_pct", "example_count", "accuracy_chart", "categories",
                                "wrong_answers", "results_link"]}),
        ("Evaluation", {"fields": ["id", "status", "training_run", "eval_set", "checkpoint", "samples", "temperature",
                                   "seed", "trained_prompts", "store_traces", "stored_trace_count", "creator",
                                   "created_at", "started_at", "finished_at", "error"]}),
        ("Worker", {"fields": ["worker_pid", "worker_host", "heartbeat_at"], "classes": ["collapse"]}),
    ]  # fmt: skip
    inlines = [EvaluationResultInline]

    def get_queryset(self, request: HttpRequest) -> QuerySet[EvaluationRun]:
        return selectors.evaluation_list()

    @admin.display(description="created by", ordering="created_by__username")
    def creator(self, obj: EvaluationRun) -> str:
        return created_by_name(obj)

    @admin.display(description="accuracy", ordering="accuracy")
    def accuracy_pct(self, obj: EvaluationRun) -> str:
        return pct(obj.accuracy)

    @admin.display(description="format rate", ordering="format_rate")
    def format_pct(self, obj: EvaluationRun) -> str:
        return pct(obj.format_rate)

    @admin.display(description="per category")
    def categories(self, obj: EvaluationRun) -> str:
        rows = [
            {
                "name": name,
                "count": row["count"],
                "accuracy": pct(row["accuracy"]),
                "format_rate": pct(row["format_rate"]),
            }
            for name, row in obj.per_category.items()
        ]
        return render_to_string("admin/training/parts/evaluation_categories.html", {"rows": rows})

    @admin.display(description="accuracy chart")
    def accuracy_chart(self, obj: EvaluationRun) -> str:
        rows = [("overall", obj.accuracy, "overall")] + [
            (name or "(no category)", row.get("accuracy"), "") for name, row in sorted(obj.per_category.items())
        ]
        return accuracy_bars_svg(rows, "Accuracy overall and per category") if obj.accuracy is not None else "–"

    @admin.display(description="wrong answers")
    def wrong_answers(self, obj: EvaluationRun) -> str:
        """The first ``WRONG_SHOWN`` wrong answers, each linking to its stored trace's review, else to the result."""
        wrong = selectors.evaluation_results(evaluation=obj).filter(correct=False)
        shown = list(wrong[:WRONG_SHOWN])
        count = len(shown) if len(shown) < WRONG_SHOWN else wrong.count()
        traces = (
            review_traces_from(
                source=MODEL_SOURCE, evaluation_id=str(obj.pk), example_ids=[r.example_id for r in shown]
            )
            if shown and obj.store_traces != StoreTraces.NONE
            else {}
        )
        review = reverse("admin:traces_trace_review")
        rows = []
        for result in shown:
            trace_id = traces.get((result.example_id, int(result.metadata.get("sample", 0))))
            url = (
                f"{review}?trace={trace_id}"
                if trace_id
                else reverse("admin:training_evaluationresult_change", args=[result.pk])
            )
            rows.append({"result": result, "url": url, "reviewable": trace_id is not None})
        context = {"rows": rows, "count": count, "shown": len(shown)}
        return render_to_string("admin/training/parts/wrong_answers.html", context)

    @admin.display(description="examples")
    def results_link(self, obj: EvaluationRun) -> str:
        url = reverse("admin:training_evaluationresult_changelist") + f"?evaluation__id__exact={obj.pk}"
        return format_html('<a href="{}">{} per-example results</a>', url, obj.example_count)

    def get_urls(self) -> list[Any]:
        report_view = self.admin_site.admin_view(require_safe(self.report_view))
        report = path("report/", report_view, name="training_evaluationrun_report")
        return [report] + super().get_urls()

    def report_view(self, request: HttpRequest) -> HttpResponse:
        require_permission(request, "training.view_evaluationrun")
        try:
            report = evaluation_services.evaluation_report(
                before=selectors.evaluation_get(evaluation_id=request.GET.get("before", "")),
                after=selectors.evaluation_get(evaluation_id=request.GET.get("after", "")),
            )
        except DomainError as exc:
            self.message_user(request, exc.message, messages.ERROR)
            return HttpResponseRedirect(reverse("admin:training_evaluationrun_changelist"))
        context = {
            **self.admin_site.each_context(request),
            "title": f"Before/after report: {report['eval_set']}",
            "report": report,
            "markdown": evaluation_services.report_markdown(report),
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/training/evaluationrun/report.html", context)


@admin.register(EvaluationResult)
class EvaluationResultAdmin(ReadOnlyAdmin):
    list_display = ["example_id", "category", "prompt", "expected_response", "predicted_answer", "correct", "format_ok"]
    list_filter = [OutcomeFilter, "category", "evaluation__checkpoint"]
    search_fields = ["prompt", "example_id"]
    readonly_fields = [
        "evaluation", "example_id", "prompt", "expected_response", "predicted_answer", "generated_response",
        "correct", "format_ok", "score", "metadata",
    ]  # fmt: skip
