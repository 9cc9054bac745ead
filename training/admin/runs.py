"""Training runs in the admin: start, watch, cancel, evaluate and compare; every action calls a service."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.loader import render_to_string
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.views.decorators.http import require_safe

from training import selectors, services
from training import services as evaluation_services
from training.admin.base import ReadOnlyAdmin, created_by_name, pct, require_permission
from training.charts import accuracy_bars_svg, loss_curve_svg
from training.forms import CompareEvaluationsForm, StartEvaluationForm, StartFineTuneForm, StartTrainingForm
from training.manifest import run_manifest
from training.models import CheckpointChoice, TrainingRun
from tunix_rt import jsontext
from tunix_rt.errors import DomainError

EVALUATIONS_SHOWN = 50


@admin.register(TrainingRun)
class TrainingRunAdmin(ReadOnlyAdmin):
    list_display = [
        "run_id", "status", "kind", "dataset_key", "recipe", "steps", "last_loss", "final_reward", "started_at",
        "duration", "creator",
    ]  # fmt: skip
    list_filter = ["status", "kind", "recipe", "dry_run", ("created_by", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["dataset_key", "run_id"]
    actions = ["cancel_runs"]
    change_form_template = "admin/training/trainingrun/change_form.html"
    change_list_template = "admin/training/trainingrun/change_list.html"
    readonly_fields = [
        "run_id", "status", "dataset_key", "dataset_build_id", "recipe", "seed", "git_sha", "dry_run",
        "created_at", "started_at", "finished_at", "duration", "steps", "last_loss", "record_count", "error",
        "creator", "loss_curve", "evaluations", "metrics_table", "manifest", "artifacts", "kind", "parent_link",
        "final_reward", "preferences", "metric_curves",
    ]  # fmt: skip
    fieldsets = [
        ("Run", {"fields": ["run_id", "status", "kind", "parent_link", "dataset_key", "dataset_build_id",
                            "preferences", "recipe", "seed", "git_sha", "dry_run", "creator", "error"]}),
        ("Progress", {"fields": ["created_at", "started_at", "finished_at", "duration", "steps", "last_loss",
                                 "final_reward", "record_count", "loss_curve", "metric_curves"]}),
        ("Evaluations", {"fields": ["evaluations"]}),
        ("Files", {"fields": ["artifacts", "manifest", "metrics_table"]}),
    ]  # fmt: skip

    def get_queryset(self, request: HttpRequest) -> QuerySet[TrainingRun]:
        return selectors.training_run_list()

    @admin.display(description="created by", ordering="created_by__username")
    def creator(self, obj: TrainingRun) -> str:
        return created_by_name(obj)

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

    @admin.display(description="started from")
    def parent_link(self, obj: TrainingRun) -> str:
        if obj.parent_id is None:
            return "–"
        url = reverse("admin:training_trainingrun_change", args=[obj.parent_id])
        return format_html('<a href="{}">{}</a>', url, obj.parent_id)

    @admin.display(description="per-step metrics")
    def metric_curves(self, obj: TrainingRun) -> str:
        """One curve per metric a GRPO or DPO run logged (rewards, KL, length, margin, accuracy)."""
        series: dict[str, list[tuple[int, float]]] = {}
        for metric in selectors.training_run_metrics(run=obj):
            for name, value in (metric.values or {}).items():
                if name not in ("loss", "learning_rate") and isinstance(value, (int, float)):
                    series.setdefault(name, []).append((metric.step, float(value)))
        if not series:
            return "–"
        return format_html_join(
            "", "<div>{}</div>", ((loss_curve_svg(points, name),) for name, points in series.items())
        )

    @admin.display(description="evaluations")
    def evaluations(self, obj: TrainingRun) -> str:
        """The run's newest evaluations as a table and, oldest first, their accuracy as bars: initial weights
        (before) and final weights (after)."""
        evaluations = list(selectors.evaluation_list(training_run=obj)[:EVALUATIONS_SHOWN])
        rows = [
            {
                "url": reverse("admin:training_evaluationrun_change", args=[e.pk]),
                "evaluation": e,
                "accuracy": pct(e.accuracy),
                "format_rate": pct(e.format_rate),
            }
            for e in evaluations
        ]
        bars = [
            (f"{e.eval_set.name} · {e.checkpoint}", e.accuracy,
             "before" if e.checkpoint == CheckpointChoice.INITIAL else "after")
            for e in reversed(evaluations)
            if e.accuracy is not None
        ]  # fmt: skip
        chart = accuracy_bars_svg(bars, "Accuracy of each evaluation, initial (before) and final (after) weights")
        context = {"rows": rows, "chart": chart if bars else ""}
        return render_to_string("admin/training/parts/run_evaluations.html", context)

    @admin.display(description="metrics")
    def metrics_table(self, obj: TrainingRun) -> str:
        metrics = selectors.training_run_metrics(run=obj)
        return render_to_string("admin/training/parts/run_metrics.html", {"metrics": metrics})

    @admin.display(description="run manifest")
    def manifest(self, obj: TrainingRun) -> str:
        text = jsontext.dumps(run_manifest(obj), indent=2, sort_keys=True)
        return render_to_string("admin/training/parts/pre.html", {"text": text})

    @admin.display(description="artifacts")
    def artifacts(self, obj: TrainingRun) -> str:
        root = Path(obj.artifacts_path)
        entries = (
            sorted(p.relative_to(root).as_posix() + ("/" if p.is_dir() else "") for p in root.iterdir())
            if root.is_dir()
            else None
        )
        return render_to_string("admin/training/parts/run_artifacts.html", {"root": root, "entries": entries})

    def has_cancel_permission(self, request: HttpRequest) -> bool:
        return bool(request.user.has_perm("training.change_trainingrun"))

    @admin.action(description="Cancel selected runs", permissions=["cancel"])
    def cancel_runs(self, request: HttpRequest, queryset: QuerySet[TrainingRun]) -> None:
        for run in queryset:
            try:
                services.training_run_cancel(run=run, actor=request.user)
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
            path("<uuid:run_id>/compare/", view(require_safe(self.compare_view)), name="training_trainingrun_compare"),
            path("<uuid:run_id>/fine-tune/", view(self.fine_tune_view), name="training_trainingrun_fine_tune"),
        ] + super().get_urls()

    def changelist_view(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> HttpResponse:
        can_start = request.user.has_perm("training.add_trainingrun")
        return super().changelist_view(request, {"can_start": can_start, **(extra_context or {})})

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        """The run page offers only the buttons whose pages the user's permissions open."""
        user = request.user
        can = {
            "can_evaluate": user.has_perm("training.add_evaluationrun"),
            "can_fine_tune": user.has_perm("training.add_trainingrun"),
            "can_cancel": user.has_perm("training.change_trainingrun"),
        }
        return super().change_view(request, object_id, form_url, {**can, **(extra_context or {})})

    def _form_page(self, request: HttpRequest, title: str, form: Any, *, needs_stack: bool = False) -> HttpResponse:
        """A job's form page; one that queues a job the stack must run says at once when the stack is missing."""
        context = {**self.admin_site.each_context(request), "title": title, "form": form, "opts": self.model._meta}
        if needs_stack:
            try:
                services.training_stack_ready()
            except DomainError as exc:
                context["stack_missing"] = exc.message
        if isinstance(form, StartTrainingForm | StartFineTuneForm):
            context["dataset_splits"] = dict(form.datasets)
        return TemplateResponse(request, "admin/training/form_page.html", context)

    def start_view(self, request: HttpRequest) -> HttpResponse:
        require_permission(request, "training.add_trainingrun")
        form = StartTrainingForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                run = services.training_run_enqueue(**form.cleaned_data, actor=request.user)
            except DomainError as exc:
                form.add_error(None, exc.message)
            else:
                self.message_user(request, f"Queued run {run.run_id}; the worker (db_worker) will train it.")
                return HttpResponseRedirect(reverse("admin:training_trainingrun_change", args=[run.run_id]))
        return self._form_page(request, "Start a training run", form, needs_stack=True)

    def fine_tune_view(self, request: HttpRequest, run_id: Any) -> HttpResponse:
        require_permission(request, "training.add_trainingrun")
        parent = selectors.training_run_get(run_id=run_id)
        form = StartFineTuneForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            data = {key: value or None for key, value in form.cleaned_data.items() if key != "kind"}
            try:
                run = services.rl_run_enqueue(
                    kind=form.cleaned_data["kind"], **data, from_run=parent.run_id, actor=request.user
                )
            except DomainError as exc:
                form.add_error(None, exc.message)
            else:
                self.message_user(request, f"Queued {run.kind} run {run.run_id}; the worker (db_worker) will train it.")
                return HttpResponseRedirect(reverse("admin:training_trainingrun_change", args=[run.run_id]))
        return self._form_page(request, f"GRPO or DPO from run {parent.run_id}", form, needs_stack=True)

    def evaluate_view(self, request: HttpRequest, run_id: Any) -> HttpResponse:
        require_permission(request, "training.add_evaluationrun")
        run = selectors.training_run_get(run_id=run_id)
        form = StartEvaluationForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                evaluation = evaluation_services.evaluation_enqueue(
                    training_run=run,
                    eval_set=selectors.eval_set_get(name=form.cleaned_data["eval_set"]),
                    checkpoint=form.cleaned_data["checkpoint"],
                    actor=request.user,
                )
            except DomainError as exc:
                form.add_error(None, exc.message)
            else:
                self.message_user(request, f"Queued evaluation {evaluation.id}.")
                return HttpResponseRedirect(reverse("admin:training_evaluationrun_change", args=[evaluation.id]))
        return self._form_page(request, f"Evaluate run {run.run_id}", form, needs_stack=True)

    def cancel_view(self, request: HttpRequest, run_id: Any) -> HttpResponse:
        require_permission(request, "training.change_trainingrun")
        run = selectors.training_run_get(run_id=run_id)
        if request.method == "POST":
            try:
                services.training_run_cancel(run=run, actor=request.user)
                self.message_user(request, "Run cancelled.")
            except DomainError as exc:
                self.message_user(request, exc.message, messages.WARNING)
        return HttpResponseRedirect(reverse("admin:training_trainingrun_change", args=[run.run_id]))

    def compare_view(self, request: HttpRequest, run_id: Any) -> HttpResponse:
        require_permission(request, "training.view_evaluationrun")
        run = selectors.training_run_get(run_id=run_id)
        evaluations = selectors.evaluation_list(training_run=run)
        form = CompareEvaluationsForm(request.GET or None, evaluations=evaluations)
        if form.is_bound and form.is_valid():
            return HttpResponseRedirect(
                reverse("admin:training_evaluationrun_report")
                + f"?before={form.cleaned_data['before'].pk}&after={form.cleaned_data['after'].pk}"
            )
        return self._form_page(request, f"Compare two evaluations of run {run.run_id}", form)
