from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth import get_user_model
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient


@pytest.fixture
def user(db: Any) -> Any:
    return get_user_model().objects.create_user(username="curator", password="pw-curator-123")


@pytest.fixture
def staff_user(db: Any) -> Any:
    return get_user_model().objects.create_superuser(username="admin", password="pw-admin-123", email="")


@pytest.fixture
def anon_client() -> APIClient:
    return APIClient()


@pytest.fixture
def api_client(user: Any) -> APIClient:
    """An API client authenticated with a real token, as scripts call the API."""
    client = APIClient()
    token, _ = Token.objects.get_or_create(user=user)
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return client
