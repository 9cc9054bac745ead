"""Account services shared by commands and the admin: API tokens, roles and the first admin login."""

from __future__ import annotations

import secrets
from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction
from rest_framework.authtoken.models import Token

from tunix_rt.audit import audit_record
from tunix_rt.errors import InvalidInput, NotFound
from tunix_rt.models import AuditAction, AuditObjectType
from tunix_rt.roles import DEFAULT_ROLE, NO_ROLE, ROLES, role_apply, user_role


def user_or_none(actor: Any) -> Any:
    """The user to record as ``created_by``: an authenticated user, else None."""
    return actor if actor is not None and getattr(actor, "is_authenticated", False) else None


def user_role_changed(*, user: Any, before: str, actor: Any = None) -> None:
    """Records a role change of ``user`` (``before`` is the role it had) when there was one."""
    after = user_role(user)
    if after != before:
        audit_record(
            actor=actor,
            action=AuditAction.UPDATE,
            object_type=AuditObjectType.USER,
            object_id=user.get_username(),
            changes={"role": [before or None, after or None]},
        )


@transaction.atomic
def user_issue_token(*, username: str, role: str | None = None, actor: Any = None) -> str:
    """Returns the user's token, creating the user (unusable password) and token if needed.

    A new user gets ``role``, or ``trainer`` when none is given, so scripts written
    before roles existed keep working; an existing user's role changes only when given.
    """
    username = username.strip()
    if not username or len(username) > 150:
        raise InvalidInput("USERNAME must be 1..150 characters.", field="username")
    if role is not None and role not in ROLES:
        raise InvalidInput(f"Unknown role {role!r}; choose one of {', '.join(ROLES)}.", field="role")
    user_model = get_user_model()
    user, created = user_model.objects.get_or_create(username=username)
    if created:
        user.set_unusable_password()
        user.save(update_fields=["password"])
    before = NO_ROLE if created else user_role(user)
    if created or role is not None:
        role_apply(user, role or DEFAULT_ROLE)
        user_role_changed(user=user, before=before, actor=actor)
    token, _ = Token.objects.get_or_create(user=user)
    return str(token.key)


def user_by_username(username: str) -> Any:
    """The user named ``username``; ``NotFound`` names it otherwise."""
    user = get_user_model().objects.filter(username=username).first()
    if user is None:
        raise NotFound(f"No user named {username!r}; create one with `manage.py issue_token {username}`.")
    return user


@transaction.atomic
def admin_ensure() -> str | None:
    """Creates superuser ``admin`` with a random password when no user exists; returns it."""
    user_model = get_user_model()
    if user_model.objects.exists():
        return None
    password = secrets.token_urlsafe(12)
    user_model.objects.create_superuser(username="admin", email="", password=password)
    return password
