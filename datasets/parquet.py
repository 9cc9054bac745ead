"""Export records as an Apache Parquet table: one column per top-level field, nested values as Arrow types.

Types are inferred from the records. Where values of one field do not share a type (``meta``
is free JSON), an object field becomes a struct of its keys, each inferred the same way, and
anything else that cannot be typed becomes a column of JSON text. The same records always give
the same table, hence the same bytes from the same pyarrow version.
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


def _json_text(values: Sequence[Any]) -> pa.Array:
    return pa.array(
        [None if v is None else json.dumps(v, ensure_ascii=False, sort_keys=True) for v in values], type=pa.string()
    )


def column(values: Sequence[Any]) -> pa.Array:
    """One Arrow array for ``values`` (``None`` is null): inferred, else a struct of objects, else JSON text."""
    try:
        array = pa.array(list(values))
    except _UNTYPEABLE:
        array = None
    if array is not None and _writable(array.type):
        return array
    objects = [v for v in values if v is not None]
    if objects and all(isinstance(v, dict) for v in objects):
        names = list(dict.fromkeys(key for v in objects for key in v))
        if names and all(isinstance(name, str) for name in names):
            children = [column([None if v is None else v.get(name) for v in values]) for name in names]
            mask = pa.array([v is None for v in values], type=pa.bool_())
            return pa.StructArray.from_arrays(children, names=names, mask=mask)
    return _json_text(values)


def records_table(records: Sequence[dict[str, Any]]) -> pa.Table:
    """A table with one column per top-level key, in first-seen order; a missing key is null."""
    names = list(dict.fromkeys(key for record in records for key in record))
    return pa.Table.from_arrays([column([r.get(name) for r in records]) for name in names], names=names)


def table_bytes(table: pa.Table) -> bytes:
    """The Parquet file of ``table`` (default compression and row groups) as bytes."""
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink)
    return bytes(sink.getvalue().to_pybytes())
