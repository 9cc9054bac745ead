"""Input that no database or renderer can hold, refused in one place as 400 field errors.

Every JSON body passes through ``json_problems`` (via the API's parser), and query strings
are read through ``tunix_rt.query``, so a value that would overflow a column or an encoder
never reaches the ORM: no request can turn it into a 500.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterator
from typing import Any

import orjson

INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
# Levels of objects and arrays in any JSON value a field accepts, the field's own object or array
# counting as level 1 (``{}`` is 1 level, ``{"a": [1]}`` is 2): far below every recursive reader and
# encoder (Python's json near 1,000 levels, orjson's encoder at 255), so nothing stored can break one.
JSON_MAX_DEPTH = 64
# Segments in a ``meta__a__b`` key path of a filter.
FILTER_MAX_SEGMENTS = 8
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


def _shown(path: str) -> str:
    """A path short enough for an error message: its head and tail around an ellipsis when long."""
    return path if len(path) <= 200 else f"{path[:120]}…{path[-60:]}"


def json_depth(value: Any, stop: int | None = None) -> int:
    """Levels of objects and arrays in ``value`` (a scalar is 0, ``{}`` 1, ``{"a": [1]}`` 2), counted a
    level at a time without recursion, so any depth is safe to ask about; counting ends at ``stop``."""
    frontier = [value] if type(value) is dict or type(value) is list else []
    depth = 0
    while frontier and (stop is None or depth < stop):
        depth += 1
        following: list[Any] = []
        for item in frontier:
            following.extend(
                [c for c in (item.values() if type(item) is dict else item) if type(c) is dict or type(c) is list]
            )
        frontier = following
    return depth


def nests_deeper(value: Any, limit: int) -> bool:
    """Whether ``value`` holds an object or array at level ``limit + 1`` (``value`` itself is level 1
    when it is one)."""
    return json_depth(value, stop=limit + 1) > limit


def too_deep_path(value: Any, path: str, limit: int = JSON_MAX_DEPTH) -> str | None:
    """The path of the first object or array at level ``limit + 1`` of ``value``, or None when it
    nests ``limit`` levels at most."""
    if not nests_deeper(value, limit):
        return None
    stack: list[tuple[Any, str, int]] = [(value, path, 1)]
    while stack:
        item, where, level = stack.pop()
        if level > limit:
            return where
        if isinstance(item, dict):
            stack.extend(
                (child, f"{where}.{key}" if where else str(key), level + 1)
                for key, child in item.items()
                if isinstance(child, dict | list)
            )
        elif isinstance(item, list):
            stack.extend(
                (child, f"{where}[{index}]", level + 1)
                for index, child in enumerate(item)
                if isinstance(child, dict | list)
            )
    return None


def filter_path_problem(path: str) -> str | None:
    """Why a ``a__b__c`` meta key path is refused (more than ``FILTER_MAX_SEGMENTS`` segments), or None."""
    segments = path.count("__") + 1
    if segments <= FILTER_MAX_SEGMENTS:
        return None
    return f"A meta key path has at most {FILTER_MAX_SEGMENTS} segments ('__'-separated keys); this one has {segments}."


def depth_message(path: str, limit: int = JSON_MAX_DEPTH) -> str:
    return f"{_shown(path)} nests deeper than {limit} levels of objects and arrays."


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


def depth_problems(document: Any, limit: int = JSON_MAX_DEPTH) -> dict[str, list[str]]:
    """Field errors for every field of a request body whose value nests deeper than ``limit`` levels.

    The fields of an object body are its keys; an array body holds records, so the fields of an
    object item are its keys (``"3"`` keys the errors of item 3) and any other item is a value of
    its own. E.g. ``{"meta": ["meta.a.a… nests deeper than 64 levels of objects and arrays."]}``.
    """
    errors: dict[str, list[str]] = {}
    if not nests_deeper(document, limit + 1):
        return errors
    if isinstance(document, dict):
        for key, child in document.items():
            found = too_deep_path(child, str(key), limit)
            if found is not None:
                errors.setdefault(str(key), []).append(depth_message(found, limit))
    elif isinstance(document, list):
        for index, item in enumerate(document):
            fields = item.items() if isinstance(item, dict) else [("", item)]
            for key, child in fields:
                found = too_deep_path(child, f"[{index}].{key}" if key else f"[{index}]", limit)
                if found is not None:
                    errors.setdefault(str(index), []).append(depth_message(found, limit))
    else:
        found = too_deep_path(document, "", limit)
        if found is not None:
            errors["non_field_errors"] = [depth_message(found or "The value", limit)]
    return errors


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


class JSONTooDeep(ValueError):
    """A document nested beyond what the parsers read; far beyond ``JSON_MAX_DEPTH`` in any case."""

    def __init__(self) -> None:
        super().__init__(f"The document nests deeper than {JSON_MAX_DEPTH} levels of objects and arrays.")


def _may_be_too_deep(raw: bytes) -> bool:
    """False when ``raw`` has too few brackets to nest beyond ``JSON_MAX_DEPTH`` below its top level."""
    return raw.count(b"[") + raw.count(b"{") > JSON_MAX_DEPTH + 1


def load_json(text: str | bytes) -> tuple[Any, dict[str, list[str]]]:
    """Parses ``text`` (or its UTF-8 bytes) and returns it with its ``json_problems`` and
    ``depth_problems``; ``JSONTooDeep`` when it nests beyond what a parser reads (about 1,000 levels),
    else ``ValueError`` if it is not JSON (``UnicodeDecodeError`` if the bytes are not UTF-8).

    The value walk runs only when parsing saw a number that cannot be stored or the text has a
    ``\\u`` escape: a NUL or a lone surrogate can reach a JSON string in no other way; the depth
    walk only when the text has more brackets than the limit.
    """
    raw = text.encode("utf-8", "surrogatepass") if isinstance(text, str) else text
    deep = _may_be_too_deep(raw)
    suspicious = b"\\u" in raw
    if not suspicious and not has_long_digit_run(raw):
        try:
            document = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            if str(exc).startswith("depth limit exceeded"):
                raise JSONTooDeep from None
        else:
            return document, (depth_problems(document) if deep else {})
    if isinstance(text, bytes):
        text = text.decode("utf-8")

    def number(literal: str, convert: Any) -> Any:
        nonlocal suspicious
        value = convert(literal)
        if number_problem(value):
            suspicious = True
        return value

    try:
        document = json.loads(
            text,
            parse_float=lambda literal: number(literal, float),
            parse_int=lambda literal: number(literal, int),
            parse_constant=lambda literal: number(literal, float),
        )
    except RecursionError:
        raise JSONTooDeep from None
    problems = depth_problems(document) if deep else {}
    if suspicious:
        for field, messages in json_problems(document).items():
            problems.setdefault(field, []).extend(messages)
    return document, problems
