"""Input that no database or renderer can hold, refused in one place as 400 field errors.

Every JSON body passes through ``json_problems`` (via the API's parser) and every
date-time and JSON scalar read from a query string through ``aware_utc`` and
``query_json_scalar``, so a value that would overflow a column, a time zone or an
encoder never reaches the ORM: no request can turn it into a 500.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
from django.utils import timezone

INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
# PostgreSQL stores a UTC offset of at most 15:59 (hours and minutes) in a timestamp literal.
MAX_UTC_OFFSET = timedelta(hours=15, minutes=59)
# A lone UTF-16 surrogate cannot be encoded as UTF-8; PostgreSQL text and jsonb refuse NUL.
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def text_problem(value: str) -> str | None:
    """Why ``value`` cannot be stored or rendered, or None when it can."""
    match = _UNSTORABLE.search(value)
    if match is None:
        return None
    if match.group() == "\x00":
        return "contains a NUL character (U+0000), which cannot be stored"
    return f"contains a lone UTF-16 surrogate (U+{ord(match.group()):04X}), which is not valid Unicode text"


def number_problem(value: Any) -> str | None:
    """Why a JSON number cannot be stored: not finite, or an integer outside signed 64 bits."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int) and not INT64_MIN <= value <= INT64_MAX:
        return f"is an integer outside the signed 64-bit range ({INT64_MIN}..{INT64_MAX})"
    if isinstance(value, float) and not math.isfinite(value):
        return "is not a finite number (NaN, Infinity and overflowing literals such as 1e999 are refused)"
    return None


def json_value_is_clean(value: Any) -> bool:
    """True when ``value`` surely holds nothing ``json_value_problems`` would report; False means "walk it".

    One orjson encoding answers for the whole value: it refuses lone surrogates and integers beyond
    64 bits, writes a NUL as ``\\u0000`` and a non-finite float as ``null``, and a 19-digit run may be
    an integer beyond the signed range. Output with none of these is clean.
    """
    try:
        encoded = orjson.dumps(value)
    except (orjson.JSONEncodeError, TypeError):
        return False
    return b"\\u0000" not in encoded and b"null" not in encoded and not has_long_digit_run(encoded)


def json_value_problems(value: Any, path: str) -> Iterator[tuple[str, str]]:
    """``(path, problem)`` for every unstorable key, string or number in a parsed JSON document."""
    stack: list[tuple[Any, str]] = [(value, path)]
    while stack:
        item, where = stack.pop()
        if isinstance(item, str):
            problem = text_problem(item)
            if problem:
                yield where, problem
        elif isinstance(item, dict):
            for key, child in item.items():
                problem = text_problem(key)
                if problem:
                    yield where, f"has a key that {problem}"
                    continue
                stack.append((child, f"{where}.{key}" if where else key))
        elif isinstance(item, list):
            stack.extend((child, f"{where}[{index}]") for index, child in enumerate(item))
        else:
            problem = number_problem(item)
            if problem:
                yield where, problem


def json_problems(document: Any) -> dict[str, list[str]]:
    """Field errors keyed by top-level key (or array index) for every unstorable value in ``document``.

    The message names the full path, e.g. ``{"meta": ["meta.score is not a finite number ..."]}``.
    """
    errors: dict[str, list[str]] = {}
    tops: list[tuple[str, Any]]
    if isinstance(document, dict):
        tops = []
        for key, child in document.items():
            problem = text_problem(key)
            if problem:
                errors.setdefault("non_field_errors", []).append(f"A key {problem}.")
            else:
                tops.append((key, child))
    elif isinstance(document, list):
        tops = [(str(index), child) for index, child in enumerate(document)]
    else:
        tops = [("non_field_errors", document)]
    for field, child in tops:
        start = "" if field == "non_field_errors" else (f"[{field}]" if isinstance(document, list) else field)
        for where, problem in json_value_problems(child, start):
            errors.setdefault(field, []).append(f"{where or 'The value'} {problem}.")
    return errors


# orjson parses what the standard parser does, several times faster, except for integers of 19+
# digits (beyond 64 bits it reads a float) and for escapes (\u0000, lone surrogates); text holding
# either takes the careful path. A number that overflows a double is an orjson error, and so takes it
# too. Both checks are byte searches: a digit run is found by mapping every digit to "9".
_DIGITS_TO_NINES = bytes.maketrans(b"0123456789", b"9999999999")
_LONG_DIGIT_RUN = b"9" * 19


def has_long_digit_run(data: bytes) -> bool:
    return _LONG_DIGIT_RUN in data.translate(_DIGITS_TO_NINES)


def load_json(text: str | bytes) -> tuple[Any, dict[str, list[str]]]:
    """Parses ``text`` (or its UTF-8 bytes) and returns it with its ``json_problems``; ``ValueError``
    if it is not JSON (``UnicodeDecodeError`` if the bytes are not UTF-8).

    The walk runs only when parsing saw a number that cannot be stored or the text has a
    ``\\u`` escape: a NUL or a lone surrogate can reach a JSON string in no other way.
    """
    raw = text.encode("utf-8", "surrogatepass") if isinstance(text, str) else text
    suspicious = b"\\u" in raw
    if not suspicious and not has_long_digit_run(raw):
        try:
            return orjson.loads(raw), {}
        except orjson.JSONDecodeError:
            pass  # the standard parser below words the error
    if isinstance(text, bytes):
        text = text.decode("utf-8")

    def number(literal: str, convert: Any) -> Any:
        nonlocal suspicious
        value = convert(literal)
        if number_problem(value):
            suspicious = True
        return value

    document = json.loads(
        text,
        parse_float=lambda literal: number(literal, float),
        parse_int=lambda literal: number(literal, int),
        parse_constant=lambda literal: number(literal, float),
    )
    return document, (json_problems(document) if suspicious else {})


def aware_utc(value: datetime) -> datetime:
    """``value`` as an aware UTC datetime; ``ValueError`` names why it cannot be one.

    A naive value is read in the current time zone. Offsets beyond ±15:59 and values
    that leave years 1..9999 when converted are refused.
    """
    if timezone.is_naive(value):
        value = timezone.make_aware(value)
    offset = value.utcoffset()
    if offset is not None and abs(offset) > MAX_UTC_OFFSET:
        raise ValueError("The UTC offset must be between -15:59 and +15:59.")
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise ValueError("The date-time is out of range once converted to UTC (years 1..9999).") from None


def query_json_scalar(raw: str) -> Any:
    """The JSON number or boolean that a query-string value spells, or None.

    ``NaN``, ``Infinity``, ``1e999`` and integers beyond 64 bits spell nothing storable,
    so they are matched as plain text only.
    """
    try:
        parsed = json.loads(raw, parse_constant=lambda _name: None)
    except (ValueError, RecursionError):
        return None
    if isinstance(parsed, bool | int | float) and number_problem(parsed) is None:
        return parsed
    return None
