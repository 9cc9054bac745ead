from __future__ import annotations

import json
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from rest_framework.renderers import JSONRenderer

from tunix_rt.jsontext import dumps, dumps_iteratively
from tunix_rt.renderers import FastJSONRenderer

JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=4), children, max_size=4),
    max_leaves=25,
)
OPTIONS = st.fixed_dictionaries(
    {
        "indent": st.sampled_from([None, 0, 2, "\t"]),
        "sort_keys": st.booleans(),
        "ensure_ascii": st.booleans(),
        "separators": st.sampled_from([None, (",", ":"), (", ", ": ")]),
    }
)


@given(value=JSON_VALUES, options=OPTIONS)
def test_property_the_iterative_encoder_writes_what_json_dumps_writes(value: Any, options: dict[str, Any]) -> None:
    assert dumps_iteratively(value, **options) == json.dumps(value, **options)
    assert dumps(value, **options) == json.dumps(value, **options)


def nested(levels: int) -> Any:
    value: Any = [1, "é"]
    for n in range(levels):
        value = {"b": n, "a": value} if n % 2 else [value, None]
    return value


@contextmanager
def recursion_limit(limit: int) -> Iterator[None]:
    before = sys.getrecursionlimit()
    sys.setrecursionlimit(limit)
    try:
        yield
    finally:
        sys.setrecursionlimit(before)


@pytest.mark.parametrize("options", [{}, {"indent": 2, "sort_keys": True, "ensure_ascii": False}])
def test_a_value_too_deep_for_the_standard_encoder_is_written_as_it_would_write_it(options: dict[str, Any]) -> None:
    value = nested(3_000)
    with pytest.raises(RecursionError):
        json.dumps(value, **options)
    with recursion_limit(20_000):
        expected = json.dumps(value, **options)
    assert dumps(value, **options) == expected


def test_the_api_renderer_writes_a_value_of_any_depth_as_drf_would() -> None:
    data = {"id": uuid.UUID(int=7), "created_at": datetime(2026, 1, 2, tzinfo=UTC), "meta": nested(3_000)}
    with recursion_limit(20_000):
        expected = JSONRenderer().render(data)
    assert FastJSONRenderer().render(data) == expected
    assert expected.startswith(b'{"id":"00000000-0000-0000-0000-000000000007","created_at":"2026-01-02T00:00:00Z",')
