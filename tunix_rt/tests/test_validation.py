from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from rest_framework import serializers

from tunix_rt.fields import BoundedJSONField, JSONObjectField, check_json_text
from tunix_rt.validation import (
    FILTER_MAX_SEGMENTS,
    JSON_MAX_DEPTH,
    JSONTooDeep,
    depth_problems,
    filter_path_problem,
    json_depth,
    json_problems,
    json_value_is_clean,
    json_value_problems,
    load_json,
    nests_deeper,
    text_problem,
    too_deep_path,
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


def nested(levels: int, leaf: Any = 1) -> Any:
    """``{"a": {"a": ... leaf}}`` with ``levels`` objects, built without recursion."""
    value = leaf
    for _ in range(levels):
        value = {"a": value}
    return value


def test_the_limits_are_64_levels_and_8_segments() -> None:
    assert (JSON_MAX_DEPTH, FILTER_MAX_SEGMENTS) == (64, 8)


@pytest.mark.parametrize(
    ("value", "depth"),
    [(1, 0), ("x", 0), (None, 0), ({}, 1), ([], 1), ({"a": [1]}, 2), ([1, [2, {"b": {}}], 3], 4), (nested(5), 5)],
)
def test_json_depth_counts_levels_of_objects_and_arrays(value: Any, depth: int) -> None:
    assert json_depth(value) == depth
    assert nests_deeper(value, depth) is False
    if depth:
        assert nests_deeper(value, depth - 1) is True


def test_depth_is_measured_without_recursion_at_any_depth() -> None:
    value = nested(100_000)
    assert json_depth(value) == 100_000
    assert json_depth(value, stop=65) == 65
    assert too_deep_path(value, "meta") == "meta" + ".a" * 64
    with pytest.raises(serializers.ValidationError, match="nests deeper than 64 levels"):
        check_json_text(value, "meta")


def test_too_deep_path_names_the_first_container_past_the_limit_through_arrays() -> None:
    value: dict[str, Any] = {"ok": [1, 2], "deep": [{"x": nested(62)}]}  # list, object, 62 objects = 64 levels
    assert too_deep_path(value["deep"], "deep") is None
    value["deep"][0]["x"] = nested(63)
    assert too_deep_path(value["deep"], "deep") == "deep[0].x" + ".a" * 62
    assert too_deep_path(value, "", limit=3) == "deep[0].x"


def test_depth_problems_key_body_fields_and_batch_items() -> None:
    assert depth_problems({"meta": nested(64), "steps": [1]}) == {}
    assert depth_problems({"meta": nested(65)}) == {
        "meta": ["meta" + ".a" * 64 + " nests deeper than 64 levels of objects and arrays."]
    }
    assert depth_problems([{"meta": nested(64)}, {"meta": nested(64)}]) == {}
    assert list(depth_problems([{"meta": nested(64)}, {"meta": nested(65)}])) == ["1"]
    assert depth_problems([[nested(63)], nested(65)]) == {}  # an object item's fields are the values
    assert list(depth_problems([[nested(64)], nested(66)])) == ["0", "1"]


def test_long_paths_are_shortened_in_messages() -> None:
    value = {"k" * 300: nested(65)}
    [message] = depth_problems({"meta": value})["meta"]
    assert message.startswith("meta." + "k" * 115 + "…")
    assert message.endswith(".a.a nests deeper than 64 levels of objects and arrays.")
    assert len(message) < 260


def test_load_json_refuses_what_the_parsers_cannot_read_as_too_deep() -> None:
    for text in ("[" * 10_000 + "]" * 10_000, '{"a": "\\u00e9", "b": ' + "[" * 5_000 + "]" * 5_000 + "}", "[" * 2_000):
        with pytest.raises(JSONTooDeep, match="nests deeper than 64 levels"):
            load_json(text)
    document, problems = load_json('{"a": ' + "[" * 1_000 + "]" * 1_000 + "}")
    assert json_depth(document) == 1_001
    assert list(problems) == ["a"]


def test_load_json_reports_depth_and_unstorable_values_together() -> None:
    text = '{"meta": ' + "[" * 65 + "]" * 65 + ', "x": "\\u0000"}'
    _, problems = load_json(text)
    assert set(problems) == {"meta", "x"}


@pytest.mark.parametrize(("segments", "refused"), [(1, False), (8, False), (9, True), (155, True)])
def test_filter_paths_hold_at_most_8_segments(segments: int, refused: bool) -> None:
    problem = filter_path_problem("__".join(["a"] * segments))
    assert (problem is not None) is refused
    if refused:
        assert problem == f"A meta key path has at most 8 segments ('__'-separated keys); this one has {segments}."


def test_json_serializer_fields_refuse_depth_before_encoding() -> None:
    field = JSONObjectField()
    field.bind("config", serializers.Serializer())
    with pytest.raises(serializers.ValidationError, match=r"config\.a\.a.* nests deeper than 64 levels"):
        field.run_validation(nested(5_000))
    assert field.run_validation(nested(64)) == nested(64)
    loose = BoundedJSONField()
    loose.bind("splits", serializers.Serializer())
    with pytest.raises(serializers.ValidationError):
        loose.run_validation([nested(64)])


def shaped(depth: int, keys: list[str], data: Any) -> Any:
    """A value exactly ``depth`` levels deep whose levels alternate between objects and arrays at random."""
    value: Any = data
    for level in range(depth):
        if keys[level % len(keys)] == "[":
            value = [value]
        else:
            value = {keys[level % len(keys)]: value, "n": level}
    return value


@given(
    depth=st.integers(min_value=1, max_value=3 * JSON_MAX_DEPTH),
    keys=st.lists(st.sampled_from(["[", "a", "b-c", "é"]), min_size=1, max_size=5),
    leaf=st.one_of(st.integers(-(2**63), 2**63 - 1), st.text(max_size=5), st.booleans(), st.none()),
)
def test_property_a_field_within_the_limit_round_trips_and_one_past_it_is_named(
    depth: int, keys: list[str], leaf: Any
) -> None:
    import json

    text = json.dumps({"meta": shaped(depth, keys, leaf)}, ensure_ascii=False)
    document, problems = load_json(text)
    assert json_depth(document["meta"]) == depth
    if depth <= JSON_MAX_DEPTH:
        assert problems == {}
        assert document == json.loads(text)
    else:
        assert list(problems) == ["meta"]
        assert problems["meta"][0].endswith(" nests deeper than 64 levels of objects and arrays.")
