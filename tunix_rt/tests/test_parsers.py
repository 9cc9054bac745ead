from __future__ import annotations

import io
from types import SimpleNamespace

import pytest

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
