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


class ExactNumberEncoder(json.JSONEncoder):
    """Writes JSON that both databases read back as the same numbers: a float stays a float.

    orjson writes most values; text holding ``e+`` (a large float, or only a string that holds it)
    or ``null`` (where orjson would write a NaN too) is written by ``_exact_text``, and anything orjson
    refuses by the standard encoder, which the database then judges as it would Django's default.
    """

    def encode(self, o: Any) -> str:
        try:
            data = orjson.dumps(o)
        except (orjson.JSONEncodeError, TypeError):
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
    beyond 64 bits is a float (``floats_beyond_int64``). Values are written by ``ExactNumberEncoder``
    unless another encoder is given.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("encoder", ExactNumberEncoder)
        super().__init__(*args, **kwargs)

    def deconstruct(self) -> Any:
        """The default encoder is not part of the field's migration state (a change of it needs no migration)."""
        name, path, args, kwargs = super().deconstruct()
        if kwargs.get("encoder") is ExactNumberEncoder:
            del kwargs["encoder"]
        return name, path, args, kwargs

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
