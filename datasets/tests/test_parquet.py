from __future__ import annotations

import io

import pyarrow as pa
import pyarrow.parquet as pq

from datasets.parquet import column, records_table, table_bytes


def test_uniform_records_keep_their_types() -> None:
    table = records_table(
        [
            {"id": "a", "trace_steps": ["x", "y"], "metadata": {"n": 1, "ok": True, "tags": ["t"]}},
            {"id": "b", "trace_steps": ["z"], "metadata": {"n": 2, "ok": False, "tags": []}},
        ]
    )
    assert str(table.schema.field("trace_steps").type) == "list<item: string>"
    assert str(table.schema.field("metadata").type) == "struct<n: int64, ok: bool, tags: list<item: string>>"


def test_keys_missing_from_some_records_are_null() -> None:
    table = records_table([{"m": {"a": 1}}, {"m": {"b": "x"}}, {"m": None}])
    assert table.column("m").to_pylist() == [{"a": 1, "b": None}, {"a": None, "b": "x"}, None]


def test_values_without_one_type_become_json_text() -> None:
    assert column([{"n": 1}, {"n": "one"}]).to_pylist() == ['{"n": 1}', '{"n": "one"}']
    assert column([[1, "a"], None]).to_pylist() == ['[1, "a"]', None]
    assert column([2**70]).to_pylist() == [str(2**70)]
    assert column([{}]).to_pylist() == ["{}"]


def test_parts_with_only_nulls_are_strings() -> None:
    assert column([None, None]).type == pa.string()
    array = column([{"meta": None, "steps": [{"i": 0, "type": None}]}, None])
    assert array.type == pa.struct(
        [("meta", pa.string()), ("steps", pa.list_(pa.struct([("i", pa.int64()), ("type", pa.string())])))]
    )
    assert array.to_pylist() == [{"meta": None, "steps": [{"i": 0, "type": None}]}, None]


def test_bytes_are_a_readable_and_repeatable_parquet_file() -> None:
    records = [{"id": "a", "metadata": {"k": {"deep": [1, 2]}}}]
    data = table_bytes(records_table(records))
    assert data == table_bytes(records_table(records))
    assert pq.read_table(io.BytesIO(data)).to_pylist() == records
