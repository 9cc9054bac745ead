"""Idempotency-Key on POST /api/traces and /api/traces/batch: one write per key, the first response replayed."""

from __future__ import annotations

import json
import threading
from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.db import connection, connections
from django.utils import timezone
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from traces.models import Trace
from traces.tests.factories import make_payload
from tunix_rt.idempotency import (
    ABANDONED_AFTER,
    TTL,
    idempotency_claim,
    idempotency_purge_expired,
    request_fingerprint,
)
from tunix_rt.models import IdempotencyRecord
from tunix_rt.roles import TRAINER, role_apply

pytestmark = pytest.mark.django_db


def post(client: APIClient, url: str, body: Any, key: str | None) -> Any:
    extra: dict[str, Any] = {} if key is None else {"HTTP_IDEMPOTENCY_KEY": key}
    return client.post(url, json.dumps(body), content_type="application/json", **extra)


def client_for(username: str) -> APIClient:
    user = get_user_model().objects.create_user(username=username, password="pw-for-tests-123")
    role_apply(user, TRAINER)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    return client


def test_same_key_and_body_replays_the_first_response_and_stores_nothing_more(api_client: APIClient) -> None:
    batch = [make_payload(n) for n in range(3)]
    first = post(api_client, "/api/traces/batch", batch, "batch-1")
    assert first.status_code == 201 and "Idempotent-Replayed" not in first
    again = post(api_client, "/api/traces/batch", batch, "batch-1")
    assert again.status_code == 201
    assert again["Idempotent-Replayed"] == "true"
    assert again.content == first.content
    assert Trace.objects.count() == 3


def test_key_order_and_spacing_of_the_body_do_not_make_it_another_request(api_client: APIClient) -> None:
    payload = make_payload(1)
    first = post(api_client, "/api/traces", payload, "k")
    spaced = json.dumps(dict(reversed(list(payload.items()))), indent=4)
    again = api_client.post("/api/traces", spaced, content_type="application/json", HTTP_IDEMPOTENCY_KEY="k")
    assert again.status_code == 201 and again["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    assert Trace.objects.count() == 1


def test_same_key_with_another_body_or_endpoint_is_422(api_client: APIClient) -> None:
    assert post(api_client, "/api/traces", make_payload(1), "k").status_code == 201
    other = post(api_client, "/api/traces", make_payload(2), "k")
    assert other.status_code == 422
    assert other.json()["code"] == "idempotency_key_reused"
    assert post(api_client, "/api/traces/batch", [make_payload(1)], "k").status_code == 422
    assert Trace.objects.count() == 1


def test_without_a_key_every_request_writes(api_client: APIClient) -> None:
    post(api_client, "/api/traces", make_payload(1), None)
    post(api_client, "/api/traces", make_payload(1), None)
    assert Trace.objects.count() == 2
    assert IdempotencyRecord.objects.count() == 0


def test_keys_are_per_user(api_client: APIClient) -> None:
    other = client_for("other-user")
    assert post(api_client, "/api/traces", make_payload(1), "shared").status_code == 201
    response = post(other, "/api/traces", make_payload(2), "shared")
    assert response.status_code == 201 and "Idempotent-Replayed" not in response
    assert Trace.objects.count() == 2


def test_a_request_still_in_flight_is_409(api_client: APIClient, user: Any) -> None:
    body = make_payload(1)
    fingerprint = request_fingerprint(method="POST", path="/api/traces", data=body)
    idempotency_claim(user=user, key="busy", fingerprint=fingerprint)
    response = post(api_client, "/api/traces", body, "busy")
    assert response.status_code == 409
    assert response.json()["code"] == "idempotency_key_in_flight"
    assert Trace.objects.count() == 0


def test_abandoned_claims_and_expired_records_free_their_key(api_client: APIClient, user: Any) -> None:
    body = make_payload(1)
    fingerprint = request_fingerprint(method="POST", path="/api/traces", data=body)
    claim = idempotency_claim(user=user, key="stale", fingerprint=fingerprint)
    IdempotencyRecord.objects.filter(pk=claim.pk).update(created_at=timezone.now() - ABANDONED_AFTER * 2)
    assert post(api_client, "/api/traces", body, "stale").status_code == 201
    IdempotencyRecord.objects.filter(key="stale").update(created_at=timezone.now() - TTL - timedelta(seconds=1))
    response = post(api_client, "/api/traces", body, "stale")
    assert response.status_code == 201 and "Idempotent-Replayed" not in response
    assert Trace.objects.count() == 2


def test_validation_errors_are_stored_and_replayed_too(api_client: APIClient) -> None:
    bad = make_payload(1, steps=[])
    first = post(api_client, "/api/traces", bad, "bad")
    assert first.status_code == 400
    again = post(api_client, "/api/traces", bad, "bad")
    assert again.status_code == 400 and again["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()


def test_a_body_that_does_not_parse_claims_no_key(api_client: APIClient) -> None:
    response = api_client.post("/api/traces", "{", content_type="application/json", HTTP_IDEMPOTENCY_KEY="k")
    assert response.status_code == 400
    assert IdempotencyRecord.objects.count() == 0


@pytest.mark.parametrize("key", ["", "x" * 256])
def test_key_must_be_1_to_255_characters(api_client: APIClient, key: str) -> None:
    response = post(api_client, "/api/traces", make_payload(1), key)
    assert response.status_code == 400
    assert "Idempotency-Key" in response.json()
    assert post(api_client, "/api/traces", make_payload(1), "x" * 255).status_code == 201


def test_purge_deletes_only_records_past_their_24_hours(api_client: APIClient) -> None:
    post(api_client, "/api/traces", make_payload(1), "old")
    post(api_client, "/api/traces", make_payload(2), "new")
    IdempotencyRecord.objects.filter(key="old").update(created_at=timezone.now() - TTL)
    assert idempotency_purge_expired() == 1
    assert list(IdempotencyRecord.objects.values_list("key", flat=True)) == ["new"]


@pytest.mark.django_db(transaction=True)
def test_concurrent_retries_store_one_batch(user: Any) -> None:
    """Eight clients send the same keyed batch at once: one stores it, the rest get 409 or the replay."""
    if connection.vendor != "postgresql":
        pytest.skip("needs concurrent writers: SQLite's in-memory test database serialises them in one process")
    token = Token.objects.create(user=user).key
    batch = [make_payload(n) for n in range(50)]
    start = threading.Barrier(8)
    responses: list[Any] = []

    def send() -> None:
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
        start.wait()
        try:
            responses.append(post(client, "/api/traces/batch", batch, "concurrent"))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=send) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    statuses = sorted(r.status_code for r in responses)
    assert len(statuses) == 8 and set(statuses) <= {201, 409}
    originals = [r for r in responses if r.status_code == 201 and "Idempotent-Replayed" not in r]
    assert len(originals) == 1
    assert all(r.content == originals[0].content for r in responses if r.status_code == 201)
    assert Trace.objects.count() == 50
    final = post(APIClient(HTTP_AUTHORIZATION=f"Token {token}"), "/api/traces/batch", batch, "concurrent")
    assert final.status_code == 201 and final["Idempotent-Replayed"] == "true"
    assert Trace.objects.count() == 50
