"""What the training admins share: read-only model pages, the permission checks of custom pages, percentages."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from tunix_rt.admin import admin_require


def require_permission(request: HttpRequest, permission: str) -> None:
    """Custom admin pages that start or stop jobs need the permission the user's role group gives (else 403)."""
    admin_require(request, request.user.has_perm(permission), permission)


def pct(value: float | None) -> str:
    return "–" if value is None else f"{value:.1%}"


class ReadOnlyAdmin(admin.ModelAdmin):
    """Runs and their results are written by jobs and services only."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


def created_by_name(obj: Any) -> str:
    return obj.created_by.get_username() if obj.created_by_id else "–"
