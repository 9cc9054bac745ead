"""Parsing ids from URLs and forms: a malformed UUID names nothing, so it is ``NotFound``."""

from __future__ import annotations

import uuid
from typing import Any

from tunix_rt.errors import NotFound


def parse_uuid(value: Any, *, what: str) -> uuid.UUID:
    if isinstance(value, uuid.UUID):
        return value
    try:
        return uuid.UUID(str(value))
    except ValueError:
        raise NotFound(f"{what} {value} not found.") from None
