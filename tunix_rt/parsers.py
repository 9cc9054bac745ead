"""JSON parser that bounds the bytes it reads and refuses values nothing downstream can hold."""

from __future__ import annotations

import codecs
from collections.abc import Mapping
from typing import Any

from django.conf import settings
from rest_framework import serializers
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser

from tunix_rt.errors import PayloadTooLarge
from tunix_rt.validation import JSONTooDeep, load_json


def body_limit(parser_context: Mapping[str, Any] | None) -> int:
    """The view's ``max_body_bytes`` (an int or a settings name), else TRACE_MAX_BYTES."""
    view = (parser_context or {}).get("view")
    limit = getattr(view, "max_body_bytes", "TRACE_MAX_BYTES")
    if isinstance(limit, str):
        return int(getattr(settings, limit))
    return int(limit)


def too_large(limit: int) -> PayloadTooLarge:
    return PayloadTooLarge(f"Request body exceeds the limit of {limit} bytes.")


class BoundedJSONParser(JSONParser):
    """Reads at most ``limit + 1`` bytes so an oversized body is refused with 413, however it arrives.

    Bytes are counted as they are read, so a missing or understated Content-Length (a
    chunked body) cannot get past the limit. After parsing, NaN, infinities, integers
    beyond 64 bits, NUL characters, lone surrogates and values nested deeper than
    ``JSON_MAX_DEPTH`` are 400 field errors (``tunix_rt.validation``), found without recursion.
    """

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Mapping[str, Any] | None = None) -> Any:
        limit = body_limit(parser_context)
        request = (parser_context or {}).get("request")
        declared = request.META.get("CONTENT_LENGTH") if request is not None else None
        if declared and str(declared).isdigit() and int(declared) > limit:
            raise too_large(limit)
        raw = stream.read(limit + 1) if stream is not None else b""
        if len(raw) > limit:
            raise too_large(limit)
        encoding = (parser_context or {}).get("encoding") or settings.DEFAULT_CHARSET
        try:
            document, problems = load_json(raw if codecs.lookup(encoding).name == "utf-8" else raw.decode(encoding))
        except UnicodeDecodeError as exc:
            raise ParseError(f"JSON parse error - the body is not valid UTF-8 ({exc.reason}).") from None
        except JSONTooDeep as exc:
            raise serializers.ValidationError({"non_field_errors": [str(exc)]}) from None
        except ValueError as exc:
            raise ParseError(f"JSON parse error - {exc}") from None
        if problems:
            raise serializers.ValidationError(problems)
        return document
