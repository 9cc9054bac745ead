"""Preference pairs in the admin: read-only; pairs are made on the compare page (``Prefer this one``),
through ``POST /api/preferences`` or by ``mine_preferences``, all through ``traces.preferences``."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html
from django.utils.http import urlencode

from traces.models import Preference


@admin.register(Preference)
class PreferenceAdmin(admin.ModelAdmin):
    list_display = ["created_at", "prompt_excerpt", "chosen_link", "rejected_link", "created_by", "reason"]
    list_filter = ["created_at"]
    search_fields = ["prompt", "reason"]
    readonly_fields = ["id", "created_at", "prompt", "chosen", "rejected", "reason", "created_by", "compare_link"]
    raw_id_fields = ["chosen", "rejected"]
    date_hierarchy = "created_at"

    def get_queryset(self, request: HttpRequest) -> QuerySet[Preference]:
        return super().get_queryset(request).select_related("created_by")

    @admin.display(description="prompt")
    def prompt_excerpt(self, obj: Preference) -> str:
        return obj.prompt[:60] + ("…" if len(obj.prompt) > 60 else "")

    def _trace_link(self, trace_id: Any) -> str:
        return format_html('<a href="{}">{}</a>', reverse("admin:traces_trace_change", args=[trace_id]), trace_id)

    @admin.display(description="chosen")
    def chosen_link(self, obj: Preference) -> str:
        return self._trace_link(obj.chosen_id)

    @admin.display(description="rejected")
    def rejected_link(self, obj: Preference) -> str:
        return self._trace_link(obj.rejected_id)

    @admin.display(description="compare")
    def compare_link(self, obj: Preference) -> str:
        query = urlencode({"base": str(obj.chosen_id), "other": str(obj.rejected_id)})
        return format_html('<a href="{}?{}">chosen against rejected</a>', reverse("admin:traces_trace_compare"), query)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
