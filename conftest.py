from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from tunix_rt.roles import TRAINER, role_apply


def _token_client(user: Any) -> APIClient:
    client = APIClient()
    token, _ = Token.objects.get_or_create(user=user)
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return client


@pytest.fixture
def user(db: Any) -> Any:
    """A trainer, like every user `issue_token` creates without --role."""
    curator = get_user_model().objects.create_user(username="curator", password="pw-curator-123")
    role_apply(curator, TRAINER)
    return curator


@pytest.fixture
def staff_user(db: Any) -> Any:
    return get_user_model().objects.create_superuser(username="admin", password="pw-admin-123", email="")


@pytest.fixture
def anon_client() -> APIClient:
    return APIClient()


@pytest.fixture
def api_client(user: Any) -> APIClient:
    """An API client authenticated with a real token, as scripts call the API."""
    return _token_client(user)


@pytest.fixture
def role_client(db: Any) -> Callable[[str], APIClient]:
    """``role_client("viewer")``: a token client for a new user holding that role (``""``: no role)."""

    def make(role: str) -> APIClient:
        member = get_user_model().objects.create_user(username=f"user-{role or 'none'}")
        if role:
            role_apply(member, role)
        return _token_client(member)

    return make
