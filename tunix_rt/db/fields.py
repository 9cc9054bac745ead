"""Model fields that read faster than Django's own and hold the same values."""

from __future__ import annotations

from typing import Any

import orjson
from django.db import models
from django.db.models.fields.json import KeyTransform

from tunix_rt.validation import has_long_digit_run


class FastJSONField(models.JSONField):
    """A ``JSONField`` whose stored text is parsed by orjson, several times faster than ``json.loads``.

    The two give equal values for what validation lets in (finite numbers, integers within 64
    bits); text with a 19-digit run, which orjson would read as a float beyond 64 bits, a custom
    decoder, or anything orjson refuses goes through Django's own parsing.
    """

    def from_db_value(self, value: Any, expression: Any, connection: Any) -> Any:
        if (
            self.decoder is None
            and isinstance(value, str | bytes)
            and not isinstance(expression, KeyTransform)
            and not has_long_digit_run(value.encode() if isinstance(value, str) else value)
        ):
            try:
                return orjson.loads(value)
            except orjson.JSONDecodeError:
                pass
        return super().from_db_value(value, expression, connection)
