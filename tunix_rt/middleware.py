"""Request plumbing below the API: chunked bodies and an unreachable database."""

from __future__ import annotations

import io
import os
from collections.abc import Callable
from typing import Any, BinaryIO, cast

from django.conf import settings
from django.core.handlers.asgi import ASGIRequest
from django.core.handlers.wsgi import LimitedStream
from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse
from whitenoise.middleware import WhiteNoiseMiddleware

DATABASE_UNAVAILABLE = {"detail": "The database is unavailable; try again later.", "code": "database_unavailable"}


def database_unavailable_response() -> JsonResponse:
    return JsonResponse(DATABASE_UNAVAILABLE, status=503, headers={"Retry-After": "5"})


class StaticFilesMiddleware(WhiteNoiseMiddleware):
    """WhiteNoise, serving the apps' static files through the finders (``WHITENOISE_USE_FINDERS``).

    STATIC_ROOT is read only once ``collectstatic`` has made it; until then it is
    skipped instead of warned about, since the finders already serve every file.
    """

    def add_files(self, root: Any, prefix: str | None = None) -> None:
        if os.path.isdir(root):
            super().add_files(root, prefix)


class ChunkedBodyMiddleware:
    """Gives Django a chunked request body, counted as it is read.

    Django and DRF read a body only up to its Content-Length, so a chunked body would
    arrive empty. When the server has decoded the chunks (``wsgi.input_terminated``, as
    gunicorn does; any ASGI server), at most ``DATA_UPLOAD_MAX_MEMORY_SIZE + 1`` bytes are read: more is
    413, less becomes the body with its length, and each view's own limit then applies.
    A server that cannot decode chunks (``runserver``) gets 411 Length Required.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if "chunked" in request.META.get("HTTP_TRANSFER_ENCODING", "").lower() and not request.META.get(
            "CONTENT_LENGTH"
        ):
            refused = self._read_chunked(request)
            if refused is not None:
                return refused
        return self.get_response(request)

    def _read_chunked(self, request: HttpRequest) -> HttpResponse | None:
        source = _decoded_body(request)
        if source is None:
            return JsonResponse(
                {"detail": "This server cannot read chunked request bodies; send a Content-Length.",
                 "code": "length_required"},
                status=411,
            )  # fmt: skip
        limit = int(settings.DATA_UPLOAD_MAX_MEMORY_SIZE)
        body = bytearray()
        while len(body) <= limit:
            chunk = source.read(min(64 * 1024, limit + 1 - len(body)))
            if not chunk:
                break
            body += chunk
        if len(body) > limit:
            return JsonResponse(
                {"detail": f"Request body exceeds the limit of {limit} bytes.", "code": "payload_too_large"}, status=413
            )
        request.META["CONTENT_LENGTH"] = str(len(body))
        request._stream = cast(BinaryIO, LimitedStream(io.BytesIO(bytes(body)), len(body)))
        return None


def _decoded_body(request: HttpRequest) -> Any:
    """The stream of the de-chunked body, or None when the server passed the chunks on undecoded."""
    if isinstance(request, ASGIRequest):
        return request._stream  # an ASGI server hands over the whole body
    if request.META.get("wsgi.input_terminated"):
        return request.META.get("wsgi.input")
    return None


class DatabaseUnavailableMiddleware:
    """Outside the API (which maps it in its exception handler), a lost database is a JSON 503 too."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if isinstance(exception, OperationalError | InterfaceError):
            return database_unavailable_response()
        return None
