"""The trace changelist's "Build dataset from selection" action, registered on it by the datasets app.

It carries the changelist's selection (a page of ids or "select all" over the filters) and
builds one dataset of at most ``LIMIT_MAX`` traces, newest first, through ``dataset_build``.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils.html import format_html

from datasets.services import dataset_build
from datasets.services.build import LIMIT_MAX, NAME_PATTERN
from traces.admin_extensions import TraceAction
from traces.models import Trace
from tunix_rt.errors import DomainError


class BuildDatasetForm(forms.Form):
    name = forms.RegexField(regex=NAME_PATTERN, max_length=128, help_text="Letters, digits, '.', '_' and '-'.")
    version = forms.RegexField(regex=NAME_PATTERN, max_length=64, help_text="The dataset key is name-version.")


def build_dataset_from_traces(modeladmin: Any, request: HttpRequest, queryset: QuerySet[Trace]) -> HttpResponse | None:
    form = BuildDatasetForm(request.POST if "apply" in request.POST else None)
    if form.is_bound and form.is_valid():
        ids = list(queryset.order_by("-created_at", "-id").values_list("id", flat=True)[: LIMIT_MAX + 1])
        if len(ids) > LIMIT_MAX:
            modeladmin.message_user(
                request, f"Select at most {LIMIT_MAX} traces for one dataset; narrow the filters.", messages.ERROR
            )
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
            modeladmin.message_user(request, exc.message, messages.ERROR)
            return None
        url = reverse("admin:datasets_dataset_change", args=[dataset.pk])
        message = format_html('Built dataset <a href="{}">{}</a> with {} trace(s).', url, dataset.key, len(ids))
        modeladmin.message_user(request, message, messages.SUCCESS)
        return None
    title = "Build a dataset from the selected traces"
    page: HttpResponse = modeladmin.intermediate_page(request, queryset, action="build_dataset", title=title, form=form)
    return page


BUILD_DATASET_ACTION = TraceAction(
    name="build_dataset",
    description="Build dataset from selection",
    function=build_dataset_from_traces,
    permissions=("datasets.add_dataset",),
)
