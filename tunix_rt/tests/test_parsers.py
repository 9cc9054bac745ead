from __future__ import annotations

import io
from types import SimpleNamespace
from typing import Any

import pytest
from rest_framework.exceptions import ParseError, ValidationError

from tunix_rt.errors import PayloadTooLarge
from tunix_rt.parsers import BoundedJSONParser


def context(limit: int, content_length: str = "") -> dict[str, object]:
    request = SimpleNamespace(META={"CONTENT_LENGTH": content_length})
    return {"view": SimpleNamespace(max_body_bytes=limit), "request": request, "encoding": "utf-8"}


def test_bytes_read_are_counted_even_when_the_header_is_missing() -> None:
    body = b'{"prompt": "' + b"x" * 200 + b'"}'
    with pytest.raises(PayloadTooLarge):
        BoundedJSONParser().parse(io.BytesIO(body), "application/json", context(100))


def test_bytes_read_are_counted_even_when_the_header_understates() -> None:
    body = b'{"prompt": "' + b"x" * 200 + b'"}'
    with pytest.raises(PayloadTooLarge):
        BoundedJSONParser().parse(io.BytesIO(body), "application/json", context(100, content_length="20"))


def test_declared_length_over_limit_is_refused_before_reading() -> None:
    stream = io.BytesIO(b"{}")
    with pytest.raises(PayloadTooLarge, match="100 bytes"):
        BoundedJSONParser().parse(stream, "application/json", context(100, content_length="5000"))
    assert stream.tell() == 0


def test_body_within_limit_parses_and_limit_may_name_a_setting() -> None:
    assert BoundedJSONParser().parse(io.BytesIO(b'{"a": 1}'), "application/json", context(100)) == {"a": 1}
    named = {"view": SimpleNamespace(max_body_bytes="TRACE_MAX_BYTES"), "request": None}
    assert BoundedJSONParser().parse(io.BytesIO(b"[]"), "application/json", named) == []


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        (b'{"meta": {"x": NaN}}', "meta", "meta.x is not a finite number"),
        (b'{"meta": {"x": -Infinity}}', "meta", "meta.x is not a finite number"),
        (b'{"meta": {"x": 1e999}}', "meta", "meta.x is not a finite number"),
        (b'{"seed": 9223372036854775808}', "seed", "seed is an integer outside the signed 64-bit range"),
        (b'{"meta": {"k": "a\\u0000b"}}', "meta", "meta.k contains a NUL character"),
        (b'{"meta": {"\\ud800": 1}}', "meta", "meta has a key that contains a lone UTF-16 surrogate (U+D800)"),
        (b'[{"filters": {"v": "\\udfff"}}]', "0", "[0].filters.v contains a lone UTF-16 surrogate (U+DFFF)"),
    ],
)
def test_unstorable_values_are_field_errors_naming_their_path(body: bytes, field: str, message: str) -> None:
    with pytest.raises(ValidationError) as raised:
        BoundedJSONParser().parse(io.BytesIO(body), "application/json", context(1000))
    detail: Any = raised.value.detail
    assert isinstance(detail, dict)
    assert str(detail[field][0]).startswith(message)


def test_body_that_is_not_utf8_is_a_parse_error_and_one_too_deep_to_parse_a_field_error() -> None:
    with pytest.raises(ParseError, match="not valid UTF-8"):
        BoundedJSONParser().parse(io.BytesIO(b'{"a": "\xff"}'), "application/json", context(1000))
    with pytest.raises(ValidationError) as raised:
        BoundedJSONParser().parse(io.BytesIO(b"[" * 100_000), "application/json", context(200_000))
    assert raised.value.detail == {
        "non_field_errors": ["The document nests deeper than 64 levels of objects and arrays."]
    }
    with pytest.raises(ParseError, match="JSON parse error"):
        BoundedJSONParser().parse(io.BytesIO(b"{"), "application/json", context(1000))


def nested(levels: int, leaf: Any = 1) -> Any:
    """``{"a": {"a": ... leaf}}`` with ``levels`` objects, built without recursion."""
    value = leaf
    for _ in range(levels):
        value = {"a": value}
    return value


def nested_text(levels: int) -> str:
    return '{"a": ' * levels + "1" + "}" * levels


@pytest.mark.parametrize("levels", [65, 489, 931, 1_023, 1_024, 10_000])
def test_a_field_nested_past_the_limit_is_a_field_error_at_any_depth(levels: int) -> None:
    body = ('{"prompt": "p", "meta": ' + nested_text(levels) + "}").encode()
    with pytest.raises(ValidationError) as raised:
        BoundedJSONParser().parse(io.BytesIO(body), "application/json", context(len(body)))
    detail: Any = raised.value.detail
    if levels < 1_024:  # the parsers read up to about 1,000 levels; past that, the document as a whole
        assert list(detail) == ["meta"]
        assert str(detail["meta"][0]).endswith(".a.a nests deeper than 64 levels of objects and arrays.")
        assert str(detail["meta"][0]).startswith("meta.a.a.a")
    else:
        assert detail == {"non_field_errors": ["The document nests deeper than 64 levels of objects and arrays."]}


def test_a_field_nested_exactly_to_the_limit_parses_in_a_body_and_in_a_batch() -> None:
    body = ('{"meta": ' + nested_text(64) + "}").encode()
    assert BoundedJSONParser().parse(io.BytesIO(body), "application/json", context(len(body))) == {"meta": nested(64)}
    batch = ('[{"meta": ' + nested_text(64) + "}]").encode()
    assert BoundedJSONParser().parse(io.BytesIO(batch), "application/json", context(len(batch))) == [
        {"meta": nested(64)}
    ]


def test_a_batch_item_nested_past_the_limit_is_keyed_by_its_index_even_with_escapes() -> None:
    deep = '{"meta": ' + nested_text(65) + "}"
    body = ("[" + '{"meta": {"x": "\\u00e9"}}, ' + deep + "]").encode()
    with pytest.raises(ValidationError) as raised:
        BoundedJSONParser().parse(io.BytesIO(body), "application/json", context(len(body)))
    detail: Any = raised.value.detail
    assert list(detail) == ["1"]
    assert str(detail["1"][0]).startswith("[1].meta.a.a")
