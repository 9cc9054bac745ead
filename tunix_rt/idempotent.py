"""The ``Idempotency-Key`` header on a DRF action: claim, run, store, replay."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, cast

from django.contrib.auth.models import User
from django.db import transaction
from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse
from rest_framework import serializers
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response

from tunix_rt.idempotency import (
    KEY_MAX_LENGTH,
    idempotency_claim,
    idempotency_complete,
    idempotency_release,
    request_fingerprint,
)
from tunix_rt.validation import text_problem

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"

SCHEMA_PARAMETERS = [
    OpenApiParameter(
        HEADER,
        type={"type": "string", "minLength": 1, "maxLength": KEY_MAX_LENGTH},
        location=OpenApiParameter.HEADER,
        required=False,
        description=(
            "Makes a retry safe: within 24 hours the same key (per user) with the same body returns the first "
            "response again, with `Idempotent-Replayed: true`, and stores nothing more."
        ),
    ),
    OpenApiParameter(
        REPLAYED_HEADER,
        type=OpenApiTypes.STR,
        enum=["true"],
        location=OpenApiParameter.HEADER,
        response=True,
        description="Present on a response replayed for a repeated Idempotency-Key.",
    ),
]
SCHEMA_RESPONSES = {
    409: OpenApiResponse(description="A request with this Idempotency-Key is still in progress."),
    422: OpenApiResponse(description="This Idempotency-Key was used with a different request body."),
}

View = Callable[..., HttpResponse]


def _key(request: Request) -> str | None:
    key = request.headers.get(HEADER)
    if key is None:
        return None
    problem = text_problem(key)
    if not 1 <= len(key) <= KEY_MAX_LENGTH or problem:
        raise serializers.ValidationError({HEADER: [f"Must be 1..{KEY_MAX_LENGTH} characters of text."]})
    return key


def _replay(status_code: int, body: str) -> HttpResponse:
    return HttpResponse(
        body.encode("utf-8"), status=status_code, content_type="application/json", headers={REPLAYED_HEADER: "true"}
    )


def idempotent(action: View) -> View:
    """Runs ``action`` at most once per (user, key, body); non-5xx responses are stored with its writes.

    A body that does not parse or is too large is refused before the key is claimed:
    those answers depend on the bytes alone, so a retry gets the same one anyway.
    """

    @functools.wraps(action)
    def wrapper(view: Any, request: Request, *args: Any, **kwargs: Any) -> HttpResponse:
        key = _key(request)
        if key is None:
            return action(view, request, *args, **kwargs)
        fingerprint = request_fingerprint(method=request.method or "", path=request.path, data=request.data)
        record = idempotency_claim(user=cast(User, request.user), key=key, fingerprint=fingerprint)
        if record.status_code is not None:
            return _replay(record.status_code, record.response_body)
        stored = False
        try:
            with transaction.atomic():
                try:
                    response = action(view, request, *args, **kwargs)
                except Exception as exc:
                    response = view.handle_exception(exc)
                if response.status_code < 500 and isinstance(response, Response):
                    body = JSONRenderer().render(response.data).decode("utf-8")
                    idempotency_complete(record=record, status_code=response.status_code, body=body)
                    stored = True
        finally:
            if not stored:
                idempotency_release(record=record)
        return response

    return wrapper
