"""Content negotiation: DRF's, with its most common answer given at once."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.renderers import BaseRenderer
from rest_framework.request import Request


class ContentNegotiation(DefaultContentNegotiation):
    """DRF's ``DefaultContentNegotiation``, answering ``Accept: */*`` without parsing it.

    Scripts send ``*/*`` (``requests``, ``httpx``, ``curl``) or no Accept header, which DRF
    reads as ``*/*``. For it DRF answers the view's first renderer with that renderer's own
    media type, after parsing the header and every renderer's media type (~36 µs a request).
    That answer is given at once when no format is asked for (``?format=`` or a suffix); any
    other request goes through DRF unchanged.
    """

    def select_renderer(
        self, request: Request, renderers: Iterable[BaseRenderer], format_suffix: str | None = None
    ) -> tuple[BaseRenderer, str] | Any:
        renderers = list(renderers)
        override = self.settings.URL_FORMAT_OVERRIDE
        if (
            renderers
            and request.META.get("HTTP_ACCEPT", "*/*") == "*/*"
            and not format_suffix
            and not (override and override in request.query_params)
        ):
            return renderers[0], renderers[0].media_type
        return super().select_renderer(request, renderers, format_suffix)
