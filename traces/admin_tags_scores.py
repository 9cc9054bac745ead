"""Tags and scores in the admin; imported by ``traces.admin`` so that they are registered."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from traces.models import Score, Tag


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
