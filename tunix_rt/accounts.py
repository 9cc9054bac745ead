"""Account services shared by commands: API tokens and the first admin login."""

from __future__ import annotations

import secrets

from django.contrib.auth import get_user_model
from django.db import transaction
from rest_framework.authtoken.models import Token


@transaction.atomic
def user_issue_token(*, username: str) -> str:
    """Returns the user's token, creating the user (unusable password) and token if needed."""
    username = username.strip()
    if not username or len(username) > 150:
        raise ValueError("USERNAME must be 1..150 characters.")
    user_model = get_user_model()
    user, created = user_model.objects.get_or_create(username=username)
    if created:
        user.set_unusable_password()
        user.save(update_fields=["password"])
    token, _ = Token.objects.get_or_create(user=user)
    return str(token.key)


@transaction.atomic
def admin_ensure() -> str | None:
    """Creates superuser ``admin`` with a random password when no user exists; returns it."""
    user_model = get_user_model()
    if user_model.objects.exists():
        return None
    password = secrets.token_urlsafe(12)
    user_model.objects.create_superuser(username="admin", email="", password=password)
    return password
