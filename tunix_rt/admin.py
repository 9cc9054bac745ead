"""Admin for the audit trail (read-only, staff only) and role changes made on the user page."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest

from tunix_rt.accounts import user_role_changed
from tunix_rt.models import AuditEntry
from tunix_rt.roles import ADMIN, role_permission_codes, user_role


def permission_role(permission: str) -> str:
    """The lowest role whose group holds the model permission ``app.codename``; ``admin`` when no group does."""
    return next((role for role, codes in role_permission_codes().items() if permission in codes), ADMIN)


def admin_require(request: HttpRequest, allowed: bool, permission: str) -> None:
    """The one refusal of the admin's own pages: 403 naming the permission and the role that grants it,
    raised before anything is written."""
    if not allowed:
        having = user_role(request.user) or "no role"
        raise PermissionDenied(
            f"This needs the {permission} permission (the {permission_role(permission)} role); your role is {having}."
        )


@admin.register(AuditEntry)
class AuditEntryAdmin(admin.ModelAdmin):
    list_display = ["created_at", "actor_name", "action", "object_type", "object_id", "changes"]
    list_filter = ["action", "object_type", "created_at", "actor_name"]
    search_fields = ["object_id", "actor_name"]
    date_hierarchy = "created_at"
    list_per_page = 100
    show_full_result_count = False

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return bool(request.user.is_active and user_role(request.user) == ADMIN)

    def has_module_permission(self, request: HttpRequest) -> bool:
        return self.has_view_permission(request)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


User = get_user_model()
admin.site.unregister(User)


@admin.register(User)
class RoleAuditedUserAdmin(UserAdmin):
    """The stock user admin; a change of role (groups, staff, superuser) is written to the audit trail."""

    def save_model(self, request: HttpRequest, obj: Any, form: forms.ModelForm, change: bool) -> None:
        if change:
            obj._role_before = user_role(User.objects.get(pk=obj.pk))
        super().save_model(request, obj, form, change)

    def save_related(self, request: HttpRequest, form: forms.ModelForm, formsets: Any, change: bool) -> None:
        super().save_related(request, form, formsets, change)
        user = User.objects.get(pk=form.instance.pk)
        user_role_changed(user=user, before=getattr(form.instance, "_role_before", ""), actor=request.user)
