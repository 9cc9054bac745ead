"""The API's JSON renderer: orjson where it can, DRF's encoder where it cannot.

orjson writes the same compact UTF-8 JSON DRF's ``JSONRenderer`` writes (no spaces,
non-ASCII as is) several times faster. Anything orjson refuses (an integer beyond 64
bits, a non-string key, a type it does not know) and any request for indented output
goes through DRF's renderer unchanged. UUIDs and datetimes come out as DRF's fields and
encoder write them (canonical text; ISO 8601 with ``Z`` for UTC), so a view may hand
database values over as they are. Dataset exports do not come through here: their
bytes are fixed by the export formats (``datasets.formats``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson
from rest_framework.renderers import JSONRenderer
from rest_framework.utils.encoders import JSONEncoder

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
        return super().render(data, accepted_media_type, renderer_context)
