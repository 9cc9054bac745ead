"""The admin site: a home page of the work (``tunix_rt.dashboard`` panels) and navigation grouped by task.

``TunixAdminConfig`` replaces ``django.contrib.admin`` in ``INSTALLED_APPS`` so ``admin.site`` is a
``TunixAdminSite``; every app still registers with ``@admin.register``.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.admin.apps import AdminConfig
from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.urls import NoReverseMatch, reverse
from django.utils.module_loading import autodiscover_modules

from tunix_rt.dashboard import dashboard_panels

# (group, its models by label) in the order of the work; a model no group names is a framework internal.
GROUPS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("Curate", ("traces.trace", "traces.tag", "traces.score", "traces.preference")),
    ("Datasets", ("datasets.dataset", "datasets.datasetexport")),
    (
        "Train and evaluate",
        ("training.trainingrun", "training.evalset", "training.evaluationrun", "training.evaluationresult"),
    ),
    ("Team", ("auth.user", "auth.group", "authtoken.tokenproxy", "tunix_rt.auditentry")),
)
INTERNALS = "Framework internals"
# A link that is no model's changelist, shown after the models it belongs with to those who may view ``permission``.
LINKS: dict[str, tuple[tuple[str, str, str], ...]] = {
    "Curate": (("Review queue", "admin:traces_trace_review", "traces.view_trace"),),
}


def _slug(name: str) -> str:
    return name.lower().replace(" ", "-")


class TunixAdminSite(admin.AdminSite):
    index_template = "admin/index.html"

    def get_app_list(self, request: HttpRequest, app_label: str | None = None) -> list[dict[str, Any]]:
        """Grouped by task (Curate, Datasets, Train and evaluate, Team); the rest under "Framework internals",
        shown to superusers only. An app's own page (``app_label``) keeps Django's list of that app."""
        if app_label is not None:
            return super().get_app_list(request, app_label)
        models = {
            model["model"]._meta.label_lower: {**model, "app_url": app["app_url"]}
            for app in self._build_app_dict(request).values()
            for model in app["models"]
        }
        grouped = []
        for name, labels in GROUPS:
            entries = [models.pop(label) for label in labels if label in models]
            entries += [
                self._link(title, url) for title, url, needed in LINKS.get(name, ()) if request.user.has_perm(needed)
            ]
            if entries:
                grouped.append(self._group(name, entries))
        if models and request.user.is_superuser:
            grouped.append(self._group(INTERNALS, sorted(models.values(), key=lambda m: str(m["name"]))))
        return grouped

    @staticmethod
    def _group(name: str, entries: list[dict[str, Any]]) -> dict[str, Any]:
        first = next((entry["app_url"] for entry in entries if entry.get("app_url")), "")
        return {"name": name, "app_label": _slug(name), "app_url": first, "has_module_perms": True, "models": entries}

    @staticmethod
    def _link(name: str, url_name: str) -> dict[str, Any]:
        try:
            url = reverse(url_name)
        except NoReverseMatch:
            url = ""
        return {"name": name, "object_name": _slug(name), "admin_url": url, "add_url": None, "view_only": True}

    def index(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> TemplateResponse:
        """The home page: the panels this user may see above the grouped app list."""
        return super().index(request, {"panels": dashboard_panels(request=request), **(extra_context or {})})


class TunixAdminConfig(AdminConfig):
    default_site = "tunix_rt.admin_site.TunixAdminSite"

    def ready(self) -> None:
        super().ready()
        autodiscover_modules("dashboard")
