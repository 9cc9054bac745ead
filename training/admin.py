"""Training and evaluation in the admin: start, watch, cancel, evaluate and compare.

Every action calls a service; long work is queued for `python manage.py db_worker`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join

from training import evaluation as evaluation_services
from training import selectors, services
from training.charts import loss_curve_svg
from training.forms import CompareEvaluationsForm, StartEvaluationForm, StartTrainingForm
from training.models import EvalItem, EvalSet, EvaluationResult, EvaluationRun, TrainingRun
from tunix_rt.errors import DomainError


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(TrainingRun)
class TrainingRunAdmin(ReadOnlyAdmin):
    list_display = ["run_id", "status", "dataset_key", "recipe", "steps", "last_loss", "started_at", "duration"]
    list_filter = ["status", "recipe", "dry_run"]
    search_fields = ["dataset_key", "run_id"]
    actions = ["cancel_runs"]
    change_form_template = "admin/training/trainingrun/change_form.html"
    change_list_template = "admin/training/trainingrun/change_list.html"
    readonly_fields = [
        "run_id", "status", "dataset_key", "dataset_build_id", "recipe", "seed", "git_sha", "dry_run",
        "created_at", "started_at", "finished_at", "duration", "steps", "last_loss", "record_count", "error",
        "loss_curve", "evaluations", "metrics_table", "manifest", "artifacts",
    ]  # fmt: skip
    fieldsets = [
        ("Run", {"fields": ["run_id", "status", "dataset_key", "dataset_build_id", "recipe", "seed", "git_sha",
                            "dry_run", "error"]}),
        ("Progress", {"fields": ["created_at", "started_at", "finished_at", "duration", "steps", "last_loss",
                                 "record_count", "loss_curve"]}),
        ("Evaluations", {"fields": ["evaluations"]}),
        ("Files", {"fields": ["artifacts", "manifest", "metrics_table"]}),
    ]  # fmt: skip

    def get_queryset(self, request: HttpRequest) -> QuerySet[TrainingRun]:
        return selectors.training_run_list()

    @admin.display(description="last loss", ordering="final_loss")
    def last_loss(self, obj: TrainingRun) -> str:
        return "–" if obj.final_loss is None else f"{obj.final_loss:.4g}"

    @admin.display(description="duration")
    def duration(self, obj: TrainingRun) -> str:
        seconds = obj.duration_seconds
        return "–" if seconds is None else f"{seconds:.0f} s"

    @admin.display(description="loss curve")
    def loss_curve(self, obj: TrainingRun) -> str:
        points = [(m.step, m.loss) for m in selectors.training_run_metrics(run=obj) if m.loss is not None]
        return loss_curve_svg(points)

    @admin.display(description="evaluations")
    def evaluations(self, obj: TrainingRun) -> str:
        rows = format_html_join(
            "", '<tr><td><a href="{}">{}</a></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>',
            ((reverse("admin:training_evaluationrun_change", args=[e.pk]), e.eval_set.name, e.checkpoint,
              e.status, _pct(e.accuracy), _pct(e.format_rate)) for e in selectors.evaluation_list(training_run=obj)),
        )  # fmt: skip
        if not rows:
            return "No evaluation yet."
        header = "<tr><th>eval set</th><th>weights</th><th>status</th><th>accuracy</th><th>format</th></tr>"
        return format_html("<table>{}{}</table>", format_html(header), rows)

    @admin.display(description="metrics")
    def metrics_table(self, obj: TrainingRun) -> str:
        rows = format_html_join(
            "", "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
            ((m.step, m.loss, "–" if m.eval_loss is None else m.eval_loss)
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
        items = format_html_join("", "<li>{}</li>", ((e,) for e in entries))
        return format_html("<code>{}</code><ul>{}</ul>", root, items)

    @admin.action(description="Cancel selected runs")
    def cancel_runs(self, request: HttpRequest, queryset: QuerySet[TrainingRun]) -> None:
        for run in queryset:
            try:
                services.training_run_cancel(run=run)
            except DomainError as exc:
                self.message_user(request, exc.message, messages.WARNING)
            else:
                self.message_user(request, f"Cancelled run {run.run_id}.", messages.SUCCESS)

    def get_urls(self) -> list[Any]:
        view = self.admin_site.admin_view
        return [
            path("start/", view(self.start_view), name="training_trainingrun_start"),
            path("<uuid:run_id>/evaluate/", view(self.evaluate_view), name="training_trainingrun_evaluate"),
            path("<uuid:run_id>/cancel/", view(self.cancel_view), name="training_trainingrun_cancel"),
            path("<uuid:run_id>/compare/", view(self.compare_view), name="training_trainingrun_compare"),
        ] + super().get_urls()

    def _form_page(self, request: HttpRequest, title: str, form: Any) -> HttpResponse:
        context = {**self.admin_site.each_context(request), "title": title, "form": form, "opts": self.model._meta}
        return TemplateResponse(request, "admin/training/form_page.html", context)

    def start_view(self, request: HttpRequest) -> HttpResponse:
        form = StartTrainingForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                run = services.training_run_enqueue(**form.cleaned_data)
            except DomainError as exc:
                form.add_error(None, exc.message)
            else:
                self.message_user(request, f"Queued run {run.run_id}; the worker (db_worker) will train it.")
                return HttpResponseRedirect(reverse("admin:training_trainingrun_change", args=[run.run_id]))
        return self._form_page(request, "Start a training run", form)

    def evaluate_view(self, request: HttpRequest, run_id: Any) -> HttpResponse:
        run = selectors.training_run_get(run_id=run_id)
        form = StartEvaluationForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                evaluation = evaluation_services.evaluation_enqueue(
                    training_run=run,
                    eval_set=selectors.eval_set_get(name=form.cleaned_data["eval_set"]),
                    checkpoint=form.cleaned_data["checkpoint"],
                )
            except DomainError as exc:
                form.add_error(None, exc.message)
            else:
                self.message_user(request, f"Queued evaluation {evaluation.id}.")
                return HttpResponseRedirect(reverse("admin:training_evaluationrun_change", args=[evaluation.id]))
        return self._form_page(request, f"Evaluate run {run.run_id}", form)

    def cancel_view(self, request: HttpRequest, run_id: Any) -> HttpResponse:
        run = selectors.training_run_get(run_id=run_id)
        if request.method == "POST":
            try:
                services.training_run_cancel(run=run)
                self.message_user(request, "Run cancelled.")
            except DomainError as exc:
                self.message_user(request, exc.message, messages.WARNING)
        return HttpResponseRedirect(reverse("admin:training_trainingrun_change", args=[run.run_id]))

    def compare_view(self, request: HttpRequest, run_id: Any) -> HttpResponse:
        run = selectors.training_run_get(run_id=run_id)
        evaluations = selectors.evaluation_list(training_run=run)
        form = CompareEvaluationsForm(request.GET or None, evaluations=evaluations)
        if form.is_bound and form.is_valid():
            return HttpResponseRedirect(
                reverse("admin:training_evaluationrun_report")
                + f"?before={form.cleaned_data['before'].pk}&after={form.cleaned_data['after'].pk}"
            )
        return self._form_page(request, f"Compare two evaluations of run {run.run_id}", form)


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{value:.1%}"


class OutcomeFilter(admin.SimpleListFilter):
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
        "created_at",
    ]
    list_filter = ["status", "checkpoint", "eval_set"]
    list_select_related = ["eval_set", "training_run"]
    readonly_fields = [
        "id", "status", "training_run", "eval_set", "checkpoint", "created_at", "started_at", "finished_at",
        "example_count", "accuracy_pct", "format_pct", "categories", "error", "results_link",
    ]  # fmt: skip
    inlines = [EvaluationResultInline]

    def get_queryset(self, request: HttpRequest) -> QuerySet[EvaluationRun]:
        return selectors.evaluation_list()

    @admin.display(description="accuracy", ordering="accuracy")
    def accuracy_pct(self, obj: EvaluationRun) -> str:
        return _pct(obj.accuracy)

    @admin.display(description="format rate", ordering="format_rate")
    def format_pct(self, obj: EvaluationRun) -> str:
        return _pct(obj.format_rate)

    @admin.display(description="per category")
    def categories(self, obj: EvaluationRun) -> str:
        rows = format_html_join(
            "", "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            ((name, row["count"], _pct(row["accuracy"]), _pct(row["format_rate"]))
             for name, row in obj.per_category.items()),
        )  # fmt: skip
        return format_html(
            "<table><tr><th>category</th><th>n</th><th>accuracy</th><th>format</th></tr>{}</table>", rows
        )

    @admin.display(description="examples")
    def results_link(self, obj: EvaluationRun) -> str:
        url = reverse("admin:training_evaluationresult_changelist") + f"?evaluation__id__exact={obj.pk}"
        return format_html('<a href="{}">{} per-example results</a>', url, obj.example_count)

    def get_urls(self) -> list[Any]:
        report = path("report/", self.admin_site.admin_view(self.report_view), name="training_evaluationrun_report")
        return [report] + super().get_urls()

    def report_view(self, request: HttpRequest) -> HttpResponse:
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


class EvalItemInline(admin.TabularInline):
    model = EvalItem
    extra = 0
    can_delete = False
    fields = ("example_id", "prompt", "expected_answer", "category", "difficulty")
    readonly_fields = ("example_id", "prompt", "expected_answer", "category", "difficulty")

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(EvalSet)
class EvalSetAdmin(ReadOnlyAdmin):
    list_display = ["name", "item_count", "created_at"]
    search_fields = ["name"]
    readonly_fields = ["name", "description", "item_count", "created_at"]
    inlines = [EvalItemInline]
