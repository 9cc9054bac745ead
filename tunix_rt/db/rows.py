"""Insert many plain rows in one statement: COPY on PostgreSQL, a multi-row INSERT elsewhere.

Model instances and ``bulk_create`` cost more than the database does for wide batches
(a batch import writes 1,000 traces, 1,000 signatures, 16,000 band keys and 1,000 audit
entries). ``insert_rows`` takes tuples in the order of ``columns`` (model field names),
prepares each value with its field as the ORM would, and sends them in one statement per
table: ``COPY … FROM STDIN`` on PostgreSQL, ``INSERT … VALUES (…), (…)`` in chunks of the
database's parameter limit elsewhere. Fields without a value in ``columns`` get no
default: pass every column the table needs. Statements are logged like any query, so
``django_assert_num_queries`` counts them.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from typing import Any

from django.db import connection, models

PARAMS_MAX = 65_535  # PostgreSQL's limit of bound parameters per statement
COPY_MIN_ROWS = 20  # below this a plain INSERT is as quick


def _log(sql: str, started: float, rows: int) -> None:
    if connection.queries_logged:
        connection.queries_log.append({"sql": f"{sql} -- {rows} rows", "time": f"{time.monotonic() - started:.3f}"})


def _copy_adapter(field: models.Field[Any, Any]) -> Callable[[Any], Any] | None:
    """How COPY's text format wants a value of ``field``: JSON as its text, a UUID as its canonical
    text; ``None`` when psycopg adapts the value as it is."""
    if isinstance(field, models.JSONField):
        encoder = field.encoder

        def to_json(value: Any) -> Any:
            return None if value is None else json.dumps(value, cls=encoder)

        return to_json
    if isinstance(field, models.ForeignKey):
        return _copy_adapter(field.target_field)
    if isinstance(field, models.UUIDField):
        # COPY reads text: the canonical form, written by str() in C, costs a fraction of psycopg's UUID dumper.
        return lambda value: None if value is None else str(value)
    return None


def insert_rows(model: type[models.Model], columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    if not rows:
        return
    fields = [model._meta.get_field(name) for name in columns]
    table = connection.ops.quote_name(model._meta.db_table)
    names = ", ".join(connection.ops.quote_name(str(f.column)) for f in fields)  # type: ignore[union-attr]
    started = time.monotonic()
    if connection.vendor == "postgresql" and len(rows) >= COPY_MIN_ROWS:
        sql = f"COPY {table} ({names}) FROM STDIN"
        adapters = [(n, adapt) for n, f in enumerate(fields) if (adapt := _copy_adapter(f)) is not None]  # type: ignore[arg-type]
        with connection.cursor() as cursor, cursor.cursor.copy(sql) as copy:
            for row in rows:
                if len(row) != len(fields):
                    raise ValueError(f"A row of {len(row)} values for {len(fields)} columns.")
                values = list(row)
                for n, adapt in adapters:
                    values[n] = adapt(values[n])
                copy.write_row(values)
        _log(sql, started, len(rows))
        return
    per_statement = max(1, min(connection.features.max_query_params or PARAMS_MAX, PARAMS_MAX) // len(fields))
    marks = "(" + ", ".join(["%s"] * len(fields)) + ")"
    with connection.cursor() as cursor:
        for start in range(0, len(rows), per_statement):
            chunk = rows[start : start + per_statement]
            params = [
                field.get_db_prep_save(value, connection)  # type: ignore[union-attr]
                for row in chunk
                for field, value in zip(fields, row, strict=True)
            ]
            cursor.execute(f"INSERT INTO {table} ({names}) VALUES {', '.join([marks] * len(chunk))}", params)  # noqa: S608
