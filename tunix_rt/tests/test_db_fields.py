from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

from tunix_rt.db.fields import ExactNumberEncoder, FastJSONField, exact_json_bytes, floats_beyond_int64
from tunix_rt.validation import INT64_MAX, INT64_MIN


def encode(value: object) -> str:
    return json.dumps(value, cls=ExactNumberEncoder)


def test_large_floats_are_written_in_full_with_a_decimal_point() -> None:
    assert encode({"a": 1e20, "b": [1e16, -2.5e17], "c": None, "d": "e+1", "e": 9.5e15, "f": 0.1}) == (
        '{"a":100000000000000000000.0,"b":[10000000000000000.0,-250000000000000000.0],"c":null,"d":"e+1",'
        '"e":9500000000000000.0,"f":0.1}'
    )
    assert encode({"plain": [1, 2.5, True, "é"]}) == '{"plain":[1,2.5,true,"é"]}'
    assert encode(float("nan")) == "NaN" and encode([2**70]) == "[1180591620717411303424]"


def test_integers_beyond_64_bits_read_back_as_floats() -> None:
    value = {"a": [100000000000000000000, INT64_MAX, INT64_MIN, -(2**63) - 1, True], "b": {"c": 2**64}}
    assert floats_beyond_int64(value) == {"a": [1e20, INT64_MAX, INT64_MIN, -(2.0**63), True], "b": {"c": 2.0**64}}
    assert type(floats_beyond_int64(INT64_MAX)) is int and type(floats_beyond_int64(2**63)) is float


def test_bulk_writes_use_orjson_unless_a_large_float_is_there() -> None:
    assert exact_json_bytes({"a": [1, 2.5, None, "é"]}) == '{"a":[1,2.5,null,"é"]}'.encode()
    assert exact_json_bytes({"a": 1e20, "b": "x"}) == b'{"a":100000000000000000000.0,"b":"x"}'
    assert exact_json_bytes([2**70]) == b"[1180591620717411303424]"


def test_the_field_has_no_encoder_in_its_migration_state() -> None:
    assert FastJSONField().encoder is None and "encoder" not in FastJSONField(null=True).deconstruct()[3]


@given(st.floats(allow_nan=False, allow_infinity=False) | st.integers(INT64_MIN, INT64_MAX))
def test_every_number_reads_back_as_itself_and_of_its_type(number: float) -> None:
    back = json.loads(encode({"n": [number]}))["n"][0]
    assert type(back) is type(number) and back == number
