from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from tunix_rt.query import aware_utc, query_json_scalar


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


def test_query_json_scalar_reads_no_container_however_deep() -> None:
    assert query_json_scalar("[" * 100_000) is None
    assert query_json_scalar('{"a": 1}') is None
    assert query_json_scalar("7") == 7
