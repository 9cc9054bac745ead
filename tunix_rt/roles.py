"""Roles are cumulative Django groups: viewer < curator < trainer < admin (staff or superuser).

The API asks ``user_role`` once per request; the admin uses the model permissions that
``roles_sync_permissions`` gives each group after every ``migrate``.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import Group, Permission
from django.db.models import Q

VIEWER, CURATOR, TRAINER, ADMIN = "viewer", "curator", "trainer", "admin"
ROLES = (VIEWER, CURATOR, TRAINER, ADMIN)
GROUP_ROLES = (VIEWER, CURATOR, TRAINER)
DEFAULT_ROLE = TRAINER
NO_ROLE = ""

# Admin (model) permissions per group, cumulative like the roles: "app.codename".
_VIEW_MODELS = {
    "traces": ("trace", "score", "tag", "preference"),
    "datasets": ("dataset", "datasetitem", "datasetexport"),
    "training": ("trainingrun", "trainingmetric", "evalset", "evalitem", "evaluationrun", "evaluationresult"),
}
_CURATOR_PERMS = (
    "traces.change_trace",
    "traces.delete_trace",
    "traces.add_score",
    "traces.add_tag",
    "traces.add_preference",
    "datasets.add_dataset",
    "training.add_evalset",
)
_TRAINER_PERMS = (
    "training.add_trainingrun",
    "training.change_trainingrun",
    "training.add_evaluationrun",
    "training.change_evaluationrun",
)


def role_rank(role: str) -> int:
    """0 for no role, then 1..4 from viewer to admin."""
    return ROLES.index(role) + 1 if role in ROLES else 0


def user_role(user: Any) -> str:
    """The user's role, cached on the object: superuser is admin; else the highest role group;
    else a staff user is admin. A staff member of a role group gets that role in the API and the
    view-only admin pages its group's permissions allow."""
    if user is None or not getattr(user, "is_authenticated", False):
        return NO_ROLE
    if user.is_superuser:
        return ADMIN
    cached = getattr(user, "_tunix_role", None)
    if cached is None:
        names = set(user.groups.filter(name__in=GROUP_ROLES).values_list("name", flat=True))
        cached = max(names, key=role_rank, default=ADMIN if user.is_staff else NO_ROLE)
        user._tunix_role = cached
    return str(cached)


def role_groups() -> dict[str, Group]:
    """The three role groups, created when missing (a flushed test database has none)."""
    return {name: Group.objects.get_or_create(name=name)[0] for name in GROUP_ROLES}


def role_apply(user: Any, role: str) -> None:
    """Makes ``role`` the user's only role; ``admin`` means staff and superuser."""
    if role not in ROLES:
        raise ValueError(f"Unknown role {role!r}; choose one of {', '.join(ROLES)}.")
    groups = role_groups()
    user.groups.remove(*groups.values())
    is_admin = role == ADMIN
    if user.is_staff != is_admin or user.is_superuser != is_admin:
        user.is_staff = user.is_superuser = is_admin
        user.save(update_fields=["is_staff", "is_superuser"])
    if not is_admin:
        user.groups.add(groups[role])
    if hasattr(user, "_tunix_role"):
        del user._tunix_role


def _permissions(codes: list[str]) -> list[Permission]:
    condition = Q(pk__in=[])
    for code in codes:
        app_label, codename = code.split(".", 1)
        condition |= Q(content_type__app_label=app_label, codename=codename)
    return list(Permission.objects.filter(condition))


def role_permission_codes() -> dict[str, list[str]]:
    view = [f"{app}.view_{model}" for app, models in _VIEW_MODELS.items() for model in models]
    curator = view + list(_CURATOR_PERMS)
    return {VIEWER: view, CURATOR: curator, TRAINER: curator + list(_TRAINER_PERMS)}


def roles_sync_permissions() -> None:
    """Gives each role group exactly its admin permissions; safe to repeat."""
    groups = role_groups()
    for role, codes in role_permission_codes().items():
        groups[role].permissions.set(_permissions(codes))
