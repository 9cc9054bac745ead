"""Admin for the audit trail (read-only, staff only) and role changes made on the user page."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django import forms
from django.contrib import admin
from django.contrib.admin.utils import display_for_field
from django.contrib.admin.views.main import ChangeList
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.html import format_html

from tunix_rt.accounts import user_role_changed
from tunix_rt.audit import VARIES, audit_groups, group_changes, group_size
from tunix_rt.models import AuditEntry
from tunix_rt.query import StrictListFilter
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


class AuditShowFilter(StrictListFilter):
    """The audit list shows one row per operation unless ``entries=each`` asks for every entry."""

    title = "show"
    parameter_name = "entries"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("each", "Every entry")]

    def choices(self, changelist: Any) -> Iterator[Any]:
        for index, choice in enumerate(super().choices(changelist)):
            yield {**choice, "display": "One row per operation"} if index == 0 else choice

    def queryset(self, request: HttpRequest, queryset: QuerySet[AuditEntry]) -> QuerySet[AuditEntry]:
        return queryset  # grouping comes last, in AuditChangeList, after every filter and the search


class AuditChangeList(ChangeList):
    """Groups the filtered entries by operation (``audit_groups``) unless every entry is asked for;
    each group's row links to its entries with the same filters."""

    def get_queryset(self, request: HttpRequest, exclude_parameters: Any = None) -> QuerySet[AuditEntry]:
        entries = super().get_queryset(request, exclude_parameters)
        if exclude_parameters is None and AuditShowFilter.parameter_name not in request.GET:
            return audit_groups(entries=entries)
        return entries

    def get_results(self, request: HttpRequest) -> None:
        super().get_results(request)
        self.result_list = list(self.result_list)
        for entry in self.result_list:
            if group_size(entry) > 1:
                group = {
                    "created_at__exact": entry.created_at.isoformat(),
                    "actor_name__exact": entry.actor_name,
                    "action__exact": entry.action,
                    "object_type__exact": entry.object_type,
                }
                entry.group_url = self.get_query_string({AuditShowFilter.parameter_name: "each", **group})


@admin.register(AuditEntry)
class AuditEntryAdmin(admin.ModelAdmin):
    list_display = ["created_at", "actor_name", "action", "object_type", "objects", "shown_changes"]
    list_filter = [AuditShowFilter, "action", "object_type", "created_at", "actor_name"]
    search_fields = ["object_id", "actor_name"]
    date_hierarchy = "created_at"
    list_per_page = 100
    show_full_result_count = False

    def get_changelist(self, request: HttpRequest, **kwargs: Any) -> type[ChangeList]:
        return AuditChangeList

    @admin.display(description="object id", ordering="object_id")
    def objects(self, entry: AuditEntry) -> str:
        """The object of an entry, or for a group the count of its objects, linked to the group's entries."""
        size = group_size(entry)
        if size == 1:
            return entry.object_id
        return format_html('<a href="{}" class="audit-group">{} entries</a>', entry.group_url, size)  # type: ignore[attr-defined]

    @admin.display(description="changes")
    def shown_changes(self, entry: AuditEntry) -> str:
        changes = group_changes(entry)
        if changes is VARIES:
            return "(differ per entry)"
        return str(display_for_field(changes, AuditEntry._meta.get_field("changes"), self.get_empty_value_display()))

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
