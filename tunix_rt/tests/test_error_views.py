from __future__ import annotations

import json

import pytest
from django.core.exceptions import PermissionDenied, SuspiciousOperation
from django.http import Http404
from django.test import RequestFactory

from tunix_rt import error_views


@pytest.mark.parametrize(
    ("path", "json_body"),
    [("/api/traces", True), ("/api", True), ("/admin/x", False), ("/elsewhere", False)],
)
def test_error_pages_are_json_under_api_only(path: str, json_body: bool) -> None:
    request = RequestFactory().get(path)
    responses = {
        400: error_views.bad_request(request, SuspiciousOperation("bad")),
        403: error_views.permission_denied(request, PermissionDenied("no")),
        404: error_views.page_not_found(request, Http404("missing")),
        500: error_views.server_error(request),
    }
    for status, response in responses.items():
        assert response.status_code == status
        assert response["Content-Type"].startswith("application/json") is json_body
        if json_body:
            assert set(json.loads(response.content)) == {"detail", "code"}


@pytest.mark.django_db
def test_a_disallowed_host_is_a_json_400_under_api(client: object) -> None:
    response = client.get("/api/health", HTTP_HOST="evil.example")  # type: ignore[attr-defined]
    assert response.status_code == 400
    assert response.json()["code"] == "bad_request"
