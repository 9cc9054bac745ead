from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from rest_framework import serializers

from tunix_rt.fields import check_json_text
from tunix_rt.validation import (
    aware_utc,
    json_problems,
    json_value_is_clean,
    json_value_problems,
    load_json,
    query_json_scalar,
    text_problem,
)


def test_text_problem_names_nul_and_lone_surrogates_only() -> None:
    assert text_problem("plain text, émoji 🙂") is None
    assert "NUL" in (text_problem("a\x00b") or "")
    assert "U+D800" in (text_problem("a\ud800") or "")
    assert "U+DFFF" in (text_problem("\udfff") or "")


def test_json_problems_keys_errors_by_top_level_field_with_the_full_path() -> None:
    document = {
        "prompt": "fine",
        "meta": {"score": float("nan"), "nested": [1, {"deep": "x\x00"}], "big": 2**63},
        "steps": [{"content": "\ud83d"}],
        "\udc00": 1,
    }
    errors = json_problems(document)
    assert set(errors) == {"meta", "steps", "non_field_errors"}
    assert sorted(errors["meta"]) == [
        "meta.big is an integer outside the signed 64-bit range (-9223372036854775808..9223372036854775807).",
        "meta.nested[1].deep contains a NUL character (U+0000), which cannot be stored.",
        "meta.score is not a finite number (NaN, Infinity and overflowing literals such as 1e999 are refused).",
    ]
    assert errors["steps"] == [
        "steps[0].content contains a lone UTF-16 surrogate (U+D83D), which is not valid Unicode text."
    ]
    assert errors["non_field_errors"] == [
        "A key contains a lone UTF-16 surrogate (U+DC00), which is not valid Unicode text."
    ]


def test_json_problems_in_a_batch_are_keyed_by_item_index_and_bounds_are_inclusive() -> None:
    batch = [{"meta": {"ok": -(2**63), "top": 2**63 - 1}}, {"meta": {"k\x00": True, "inf": float("-inf")}}]
    errors = json_problems(batch)
    assert list(errors) == ["1"]
    assert sorted(errors["1"]) == [
        "[1].meta has a key that contains a NUL character (U+0000), which cannot be stored.",
        "[1].meta.inf is not a finite number (NaN, Infinity and overflowing literals such as 1e999 are refused).",
    ]
    assert json_problems(float("inf")) == {
        "non_field_errors": [
            "The value is not a finite number (NaN, Infinity and overflowing literals such as 1e999 are refused)."
        ]
    }
    assert json_problems({"a": [True, None, 1.5, "x"]}) == {}


def test_aware_utc_converts_and_refuses_impossible_offsets_and_overflow() -> None:
    local = datetime(2026, 1, 1, 12, 0, tzinfo=timezone(timedelta(hours=15, minutes=59)))
    assert aware_utc(local) == datetime(2025, 12, 31, 20, 1, tzinfo=UTC)
    assert aware_utc(datetime(2026, 1, 1, 12, 0)) == datetime(2026, 1, 1, 12, 0, tzinfo=UTC)  # noqa: DTZ001
    with pytest.raises(ValueError, match="UTC offset"):
        aware_utc(datetime(2026, 1, 1, tzinfo=timezone(timedelta(hours=16))))
    with pytest.raises(ValueError, match="UTC offset"):
        aware_utc(datetime(2026, 1, 1, tzinfo=timezone(-timedelta(hours=23, minutes=59))))
    with pytest.raises(ValueError, match="out of range"):
        aware_utc(datetime(1, 1, 1, 0, 0, tzinfo=timezone(timedelta(hours=1))))
    with pytest.raises(ValueError, match="out of range"):
        aware_utc(datetime(9999, 12, 31, 23, 0, tzinfo=timezone(-timedelta(hours=2))))


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("3", 3), ("-1.5", -1.5), ("true", True), ("false", False), ("9223372036854775807", 2**63 - 1)],
)
def test_query_json_scalar_reads_finite_numbers_and_booleans(raw: str, expected: object) -> None:
    value = query_json_scalar(raw)
    assert value == expected and type(value) is type(expected)


@pytest.mark.parametrize(
    "raw", ["NaN", "Infinity", "-Infinity", "1e999", "9223372036854775808", "abc", '"quoted"', "null", "[1]", ""]
)
def test_query_json_scalar_is_none_for_anything_unstorable_or_not_a_scalar(raw: str) -> None:
    assert query_json_scalar(raw) is None


def test_load_json_reports_problems_only_for_unstorable_values() -> None:
    assert load_json('{"a": "caf\\u00e9", "n": [1, 2.5, -3e10], "ok": true}') == (
        {"a": "café", "n": [1, 2.5, -3e10], "ok": True},
        {},
    )
    document, problems = load_json('{"a": "\\u0000", "n": [Infinity]}')
    assert document["a"] == "\x00"
    assert set(problems) == {"a", "n"}
    with pytest.raises(ValueError):
        load_json("{")


@pytest.mark.parametrize(
    ("value", "clean"),
    [
        ({"a": [1, 2.5, "x", True], "b": {"c": "é 漢"}}, True),
        ({"a": None}, False),  # null may be a NaN orjson wrote: walked
        ({"a": float("nan")}, False),
        ({"a": float("inf")}, False),
        ({"a": "nul\x00"}, False),
        ({"a": "\ud800"}, False),
        ({"a": 2**63}, False),
        ({"a": 2**70}, False),
        ({"a": 10**18 - 1}, True),  # 18 digits; a 19-digit run is walked, even when in range
        ({"a": 2**62}, False),
    ],
)
def test_json_value_is_clean_says_clean_only_when_the_walk_finds_nothing(value: Any, clean: bool) -> None:
    assert json_value_is_clean(value) is clean
    if clean:
        assert list(json_value_problems(value, "meta")) == []


def test_check_json_text_refuses_non_finite_numbers_from_files() -> None:
    with pytest.raises(serializers.ValidationError, match="meta.a is not a finite number"):
        check_json_text({"a": float("nan")}, "meta")
