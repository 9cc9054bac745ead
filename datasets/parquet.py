"""Export records as an Apache Parquet table: one column per top-level field, nested values as Arrow types.

Every export format gives each field one JSON type in every record (``metadata.meta``, the free
JSON, travels as text), so the column types are inferred from the values; a column with no value
but null is a string column, so files of the same format share one schema. A field whose values
still cannot be typed becomes a column of JSON text. The same records always give the same table,
hence the same bytes from the same pyarrow version.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

_UNTYPEABLE = (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError, OverflowError, TypeError)


def _writable(arrow_type: pa.DataType) -> bool:
    """Parquet cannot hold a struct without fields, at any depth."""
    if pa.types.is_struct(arrow_type):
        fields = [arrow_type.field(n) for n in range(arrow_type.num_fields)]
        return bool(fields) and all(_writable(f.type) for f in fields)
    if pa.types.is_list(arrow_type) or pa.types.is_large_list(arrow_type):
        return _writable(arrow_type.value_type)
    return True


def _without_null_types(arrow_type: pa.DataType) -> pa.DataType:
    """``arrow_type`` with string wherever only nulls were seen (at any depth)."""
    if pa.types.is_null(arrow_type):
        return pa.string()
    if pa.types.is_struct(arrow_type):
        return pa.struct(
            [
                arrow_type.field(n).with_type(_without_null_types(arrow_type.field(n).type))
                for n in range(arrow_type.num_fields)
            ]
        )
    if pa.types.is_list(arrow_type):
        return pa.list_(arrow_type.value_field.with_type(_without_null_types(arrow_type.value_type)))
    return arrow_type


def _json_text(values: Sequence[Any]) -> pa.Array:
    return pa.array(
        [None if v is None else json.dumps(v, ensure_ascii=False, sort_keys=True) for v in values], type=pa.string()
    )


def column(values: Sequence[Any]) -> pa.Array:
    """One Arrow array for ``values`` (``None`` is null): inferred, with string for all-null parts, else JSON text."""
    try:
        array = pa.array(list(values))
    except _UNTYPEABLE:
        return _json_text(values)
    if not _writable(array.type):
        return _json_text(values)
    target = _without_null_types(array.type)
    return array if target == array.type else array.cast(target)


def records_table(records: Sequence[dict[str, Any]]) -> pa.Table:
    """A table with one column per top-level key, in first-seen order; a missing key is null."""
    names = list(dict.fromkeys(key for record in records for key in record))
    return pa.Table.from_arrays([column([r.get(name) for r in records]) for name in names], names=names)


def table_bytes(table: pa.Table) -> bytes:
    """The Parquet file of ``table`` (default compression and row groups) as bytes."""
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink)
    return bytes(sink.getvalue().to_pybytes())
