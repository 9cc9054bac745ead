"""Eval sets in the admin: read-only, with their items."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from training.admin.base import ReadOnlyAdmin, created_by_name
from training.models import EvalItem, EvalSet


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
    list_display = ["name", "item_count", "creator", "created_at"]
    list_filter = [("created_by", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["name"]
    readonly_fields = ["name", "description", "item_count", "creator", "created_at"]
    inlines = [EvalItemInline]

    @admin.display(description="created by", ordering="created_by__username")
    def creator(self, obj: EvalSet) -> str:
        return created_by_name(obj)
