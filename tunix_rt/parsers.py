"""JSON parser that bounds the bytes it reads, whatever Content-Length claims."""

from __future__ import annotations

import io
import json
from collections.abc import Mapping
from typing import Any

from django.conf import settings
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser

from tunix_rt.errors import PayloadTooLarge


def body_limit(parser_context: Mapping[str, Any] | None) -> int:
    """The view's ``max_body_bytes`` (an int or a settings name), else TRACE_MAX_BYTES."""
    view = (parser_context or {}).get("view")
    limit = getattr(view, "max_body_bytes", "TRACE_MAX_BYTES")
    if isinstance(limit, str):
        return int(getattr(settings, limit))
    return int(limit)


class BoundedJSONParser(JSONParser):
    """Reads at most ``limit + 1`` bytes so an oversized body is refused with 413."""

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Mapping[str, Any] | None = None) -> Any:
        limit = body_limit(parser_context)
        request = (parser_context or {}).get("request")
        declared = request.META.get("CONTENT_LENGTH") if request is not None else None
        if declared and str(declared).isdigit() and int(declared) > limit:
            raise PayloadTooLarge(f"Request body exceeds the limit of {limit} bytes.")
        raw = stream.read(limit + 1) if stream is not None else b""
        if len(raw) > limit:
            raise PayloadTooLarge(f"Request body exceeds the limit of {limit} bytes.")
        try:
            return super().parse(io.BytesIO(raw), media_type, parser_context)
        except RecursionError:
            raise ParseError("JSON parse error - nesting is too deep.") from None
        except json.JSONDecodeError as exc:  # pragma: no cover - JSONParser already maps ValueError
            raise ParseError(f"JSON parse error - {exc}") from None
