"""Model fields that read faster than Django's own and hold the same values."""

from __future__ import annotations

import json
import math
from typing import Any

import orjson
from django.db import models
from django.db.models.fields.json import KeyTransform

from tunix_rt.validation import INT64_MAX, INT64_MIN, has_long_digit_run

# A float at or beyond this magnitude is integral and written with an exponent (``1e+20``), which
# PostgreSQL's jsonb stores as the exact numeric ``100000000000000000000`` and returns as an integer.
_EXPONENT_FLOAT = 1e16


def _exact_text(value: Any) -> str:
    """JSON text of ``value`` in which every float of ``_EXPONENT_FLOAT`` or more is written in full with
    ``.0`` (``100000000000000000000.0``), so that jsonb keeps it a decimal and returns a float."""
    if isinstance(value, float) and math.isfinite(value) and abs(value) >= _EXPONENT_FLOAT:
        return f"{int(value)}.0"
    if isinstance(value, dict):
        if not all(isinstance(key, str) for key in value):
            return json.dumps(value, ensure_ascii=False)
        return "{" + ",".join(f"{json.dumps(k, ensure_ascii=False)}:{_exact_text(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list | tuple):
        return "[" + ",".join(_exact_text(item) for item in value) + "]"
    return json.dumps(value, ensure_ascii=False)


def exact_json_bytes(value: Any) -> bytes:
    """JSON of ``value`` that both databases read back as the same numbers: orjson's, unless it holds
    ``e+`` (a float of ``_EXPONENT_FLOAT`` or more, or only a string holding those characters), then
    ``_exact_text``'s; the standard encoder's for what orjson refuses. Callers pass validated values
    (orjson writes a NaN as null)."""
    try:
        data = orjson.dumps(value)
    except orjson.JSONEncodeError:
        return json.dumps(value).encode()
    return data if b"e+" not in data else _exact_text(value).encode()


class ExactNumberEncoder(json.JSONEncoder):
    """``exact_json_bytes`` for Django's own writes, where a NaN stays ``NaN`` (orjson would write null)
    and the database refuses it as it does with Django's default encoder."""

    def encode(self, o: Any) -> str:
        try:
            data = orjson.dumps(o)
        except orjson.JSONEncodeError:
            return super().encode(o)
        if b"e+" in data or b"null" in data:
            return _exact_text(o)
        return data.decode()


def floats_beyond_int64(value: Any) -> Any:
    """``value`` with every integer outside signed 64 bits made a float.

    Validation refuses such integers at every door, so one read back from a JSON column was a
    float (PostgreSQL's jsonb returns ``1e20`` as ``100000000000000000000``, from rows written before
    ``ExactNumberEncoder``); a float of that magnitude is exactly that integer.
    """
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return value if INT64_MIN <= value <= INT64_MAX else float(value)
    if isinstance(value, dict):
        return {key: floats_beyond_int64(item) for key, item in value.items()}
    if isinstance(value, list):
        return [floats_beyond_int64(item) for item in value]
    return value


class FastJSONField(models.JSONField):
    """A ``JSONField`` whose stored text is parsed by orjson, several times faster than ``json.loads``,
    and whose numbers come back as they went in on SQLite and PostgreSQL alike.

    The two parsers give equal values for what validation lets in (finite numbers, integers within 64
    bits); text with a 19-digit run, which orjson would read as a float beyond 64 bits, a custom
    decoder, or anything orjson refuses goes through Django's own parsing, after which an integer
    beyond 64 bits is a float (``floats_beyond_int64``). Values are written so that a float stays a
    float (``exact_json_bytes``, ``ExactNumberEncoder``).
    """

    def get_db_prep_value(self, value: Any, connection: Any, prepared: bool = False) -> Any:
        """Written by ``ExactNumberEncoder`` unless the field has an encoder of its own
        (``tunix_rt.db.rows`` writes it with ``exact_json_bytes``)."""
        if self.encoder is not None:
            return super().get_db_prep_value(value, connection, prepared)
        if not prepared:
            value = self.get_prep_value(value)
        return connection.ops.adapt_json_value(value, ExactNumberEncoder)

    def from_db_value(self, value: Any, expression: Any, connection: Any) -> Any:
        read: Any = super().from_db_value
        if isinstance(value, str | bytes) and self.decoder is None:
            raw = value.encode() if isinstance(value, str) else value
            if not has_long_digit_run(raw):
                if not isinstance(expression, KeyTransform):
                    try:
                        return orjson.loads(value)
                    except orjson.JSONDecodeError:
                        pass
            else:
                return floats_beyond_int64(read(value, expression, connection))
        return read(value, expression, connection)
