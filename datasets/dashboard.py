"""The admin home's datasets panel: the newest datasets."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.urls import reverse

from datasets import selectors
from tunix_rt.dashboard import Panel, panel_register

RECENT = 5


def recent_datasets(request: HttpRequest) -> dict[str, Any]:
    """The ``RECENT`` newest datasets with their admin pages; one query."""
    datasets = list(selectors.dataset_list()[:RECENT])
    return {
        "changelist": reverse("admin:datasets_dataset_changelist"),
        "datasets": [{"dataset": d, "url": reverse("admin:datasets_dataset_change", args=[d.pk])} for d in datasets],
    }


panel_register(
    Panel(
        key="datasets",
        title="Datasets",
        template="admin/dashboard/datasets.html",
        permission="datasets.view_dataset",
        build=recent_datasets,
        order=20,
    )
)
