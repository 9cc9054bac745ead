from __future__ import annotations

import io
import json
from typing import Any

import pytest
from rest_framework.test import APIClient

from traces.models import Trace
from traces.tests.factories import make_payload

pytestmark = pytest.mark.django_db


def post_chunked(client: APIClient, body: bytes, *, decoded_by_server: bool = True) -> Any:
    """A request as a WSGI server hands over a chunked body: no Content-Length, the chunks already decoded."""
    environ: dict[str, Any] = {
        "HTTP_TRANSFER_ENCODING": "chunked",
        "CONTENT_LENGTH": "",
        "wsgi.input": io.BytesIO(body),
    }
    if decoded_by_server:
        environ["wsgi.input_terminated"] = True
    return client.generic("POST", "/api/traces", "", content_type="application/json", **environ)


def test_a_chunked_body_is_read_and_stored(api_client: APIClient) -> None:
    response = post_chunked(api_client, json.dumps(make_payload(1)).encode())
    assert response.status_code == 201
    assert Trace.objects.count() == 1


def test_a_chunked_body_over_the_views_limit_is_413(api_client: APIClient, settings: Any) -> None:
    settings.TRACE_MAX_BYTES = 1000
    response = post_chunked(api_client, json.dumps(make_payload(1, prompt="x" * 2000)).encode())
    assert response.status_code == 413
    assert response.json() == {"detail": "Request body exceeds the limit of 1000 bytes.", "code": "payload_too_large"}


def test_a_chunked_body_over_every_limit_is_413_before_it_is_read_whole(api_client: APIClient, settings: Any) -> None:
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 500
    response = post_chunked(api_client, b"[" + b" " * 10_000 + b"]")
    assert response.status_code == 413
    assert response.json() == {"detail": "Request body exceeds the limit of 500 bytes.", "code": "payload_too_large"}


def test_a_chunked_body_the_server_did_not_decode_is_411(api_client: APIClient) -> None:
    response = post_chunked(api_client, json.dumps(make_payload(1)).encode(), decoded_by_server=False)
    assert response.status_code == 411
    assert response.json()["code"] == "length_required"
    assert Trace.objects.count() == 0
