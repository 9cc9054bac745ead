"""Trace deletes in the admin: a readable summary, and a warning when datasets (or others) hold the traces."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.text import capfirst

from traces import services
from traces.holders import holdings_warning, trace_holdings
from traces.models import Trace


class HeldTraceDeleteMixin(admin.ModelAdmin):
    """Deletes go through the services; holders are named before (confirmation page) and after."""

    def get_deleted_objects(self, objs: Any, request: HttpRequest) -> tuple[Any, Any, Any, Any]:
        """Django's summary without the tag links ("Trace_tags object (3)"); warns about holders.

        The warning is shown on the confirmation pages (single and bulk); the confirmed POST
        (``post=yes``) warns after the delete instead. The scores and preference pairs that go with a
        trace need no permission of their own: ``delete_trace`` is the one a delete takes, as in the API.
        """
        deleted, model_count, _, protected = super().get_deleted_objects(objs, request)
        through = Trace.tags.through._meta
        model_count.pop(str(through.verbose_name_plural), None)
        deleted = _without_prefix(deleted, f"{capfirst(through.verbose_name)}: ")
        if request.POST.get("post") != "yes":
            ids = list(objs.values_list("pk", flat=True)) if isinstance(objs, QuerySet) else [obj.pk for obj in objs]
            self._warn_holders(request, ids)
        return deleted, model_count, set(), protected

    def _warn_holders(self, request: HttpRequest, trace_ids: list[Any]) -> None:
        warning = holdings_warning(trace_holdings(trace_ids=trace_ids), many=len(trace_ids) > 1)
        if warning:
            self.message_user(request, warning, messages.WARNING)

    def delete_model(self, request: HttpRequest, obj: Trace) -> None:
        holdings = services.trace_delete(trace=obj, actor=request.user)
        if holdings:
            self.message_user(request, holdings_warning(holdings, deleted=True), messages.WARNING)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Trace]) -> None:
        ids = list(queryset.values_list("id", flat=True))
        holdings = trace_holdings(trace_ids=ids)
        services.traces_delete(traces=queryset, actor=request.user)
        if holdings:
            warning = holdings_warning(holdings, many=len(ids) > 1, deleted=True)
            self.message_user(request, warning, messages.WARNING)


def _without_prefix(items: list[Any], prefix: str) -> list[Any]:
    """A nested admin summary list without the entries that start with ``prefix`` (and emptied sub-lists)."""
    kept: list[Any] = []
    for item in items:
        if isinstance(item, list):
            sub = _without_prefix(item, prefix)
            if sub:
                kept.append(sub)
        elif not str(item).startswith(prefix):
            kept.append(item)
    return kept
