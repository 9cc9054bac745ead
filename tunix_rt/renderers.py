"""The API's JSON renderer: orjson where it can, DRF's encoder where it cannot.

orjson writes the same compact UTF-8 JSON DRF's ``JSONRenderer`` writes (no spaces,
non-ASCII as is) several times faster. Anything orjson refuses (an integer beyond 64
bits, a non-string key, a type it does not know) and any request for indented output
goes through DRF's renderer unchanged. UUIDs and datetimes come out as DRF's fields and
encoder write them (canonical text; ISO 8601 with ``Z`` for UTC), so a view may hand
database values over as they are.

JSONL exports stream bytes fixed by the export formats (``datasets.formats``); their
renderers below only let a client ask for them by media type and render an error body.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import orjson
from rest_framework.compat import INDENT_SEPARATORS, LONG_SEPARATORS, SHORT_SEPARATORS
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.utils.encoders import JSONEncoder

from tunix_rt.jsontext import dumps

_fallback = JSONEncoder()


class FastJSONRenderer(JSONRenderer):
    def render(
        self, data: Any, accepted_media_type: str | None = None, renderer_context: Mapping[str, Any] | None = None
    ) -> bytes:
        if data is None:
            return b""
        if self.get_indent(accepted_media_type or "", renderer_context or {}) is None:
            try:
                return orjson.dumps(data, default=_fallback.default, option=orjson.OPT_UTC_Z)
            except (orjson.JSONEncodeError, TypeError):
                pass
        try:
            return super().render(data, accepted_media_type, renderer_context)
        except RecursionError:
            return self._render_any_depth(data, accepted_media_type, renderer_context)

    def _render_any_depth(
        self, data: Any, accepted_media_type: str | None, renderer_context: Mapping[str, Any] | None
    ) -> bytes:
        """DRF's bytes for a value nested deeper than its recursive encoder reaches (a stored value)."""
        indent = self.get_indent(accepted_media_type or "", renderer_context or {})
        if indent is None:
            separators = SHORT_SEPARATORS if self.compact else LONG_SEPARATORS
        else:
            separators = INDENT_SEPARATORS
        text = dumps(
            data, default=_fallback.default, indent=indent, ensure_ascii=self.ensure_ascii, separators=separators
        )
        return text.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029").encode()


NDJSON = "application/x-ndjson"
OCTET_STREAM = "application/octet-stream"


class NDJSONRenderer(BaseRenderer):
    """Lets clients ask for ``application/x-ndjson``; an error body then comes as one JSON line."""

    media_type = NDJSON
    format = "ndjson"
    charset: str | None = "utf-8"

    def render(self, data: Any, accepted_media_type: str | None = None, renderer_context: Any = None) -> bytes:
        return json.dumps(data, ensure_ascii=False, cls=JSONEncoder).encode("utf-8") + b"\n"


class OctetStreamRenderer(NDJSONRenderer):
    """Lets clients that read a download as plain bytes ask for ``application/octet-stream``: the same JSONL."""

    media_type = OCTET_STREAM
    format = "bin"
    charset = None


EXPORT_RENDERERS: list[type[BaseRenderer]] = [JSONRenderer, NDJSONRenderer, OctetStreamRenderer]


def export_media_type(request: Request) -> str:
    """The media type a JSONL export streams as: ``application/octet-stream`` when the client asked for
    it (and nothing it prefers), NDJSON otherwise, as always."""
    return OCTET_STREAM if isinstance(getattr(request, "accepted_renderer", None), OctetStreamRenderer) else NDJSON
