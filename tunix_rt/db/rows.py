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

import functools
import json
import time
from collections.abc import Callable, Sequence
from typing import Any

import orjson
from django.db import connection, models, transaction

PARAMS_MAX = 65_535  # PostgreSQL's limit of bound parameters per statement
COPY_MIN_ROWS = 20  # below this a plain INSERT is as quick


def _log(sql: str, started: float, rows: int) -> None:
    if connection.queries_logged:
        connection.queries_log.append({"sql": f"{sql} -- {rows} rows", "time": f"{time.monotonic() - started:.3f}"})


def _json_text(value: Any) -> Any:
    """JSON text for a JSON column, by orjson (the database parses it, so only the value counts),
    or by the standard encoder for what orjson refuses (an integer beyond 64 bits).

    Callers pass validated values: orjson would write a NaN as null where the standard encoder
    writes ``NaN``, which the database refuses; validation refuses both first.
    """
    if value is None:
        return None
    try:
        return orjson.dumps(value).decode()
    except orjson.JSONEncodeError:
        return json.dumps(value)


def _copy_adapter(field: models.Field[Any, Any]) -> Callable[[Any], Any] | None:
    """How COPY's text format wants a value of ``field``: JSON as its text, a UUID as its canonical
    text; ``None`` when psycopg adapts the value as it is."""
    if isinstance(field, models.JSONField):
        encoder = field.encoder
        if encoder is not None:
            return lambda value: None if value is None else json.dumps(value, cls=encoder)
        return _json_text

    if isinstance(field, models.ForeignKey):
        return _copy_adapter(field.target_field)
    if isinstance(field, models.UUIDField):
        # COPY reads text: the canonical form, written by str() in C, costs a fraction of psycopg's UUID dumper.
        return lambda value: None if value is None else str(value)
    return None


@functools.cache
def _target_of(model: type[models.Model], columns: tuple[str, ...], vendor: str) -> tuple[list[Any], str, str]:
    qn = connection.ops.quote_name
    fields: list[Any] = [model._meta.get_field(name) for name in columns]
    return fields, qn(model._meta.db_table), ", ".join(qn(str(f.column)) for f in fields)


def _target(model: type[models.Model], columns: Sequence[str]) -> tuple[list[Any], str, str]:
    """The fields of ``columns``, the quoted table name and the quoted column list (worked out
    once per model, columns and database)."""
    return _target_of(model, tuple(columns), connection.vendor)


# Django's own fields whose ``get_db_prep_save`` takes a value of this exact type as it is
# (``str(value)``; ``int(value)``, or on PostgreSQL an integer wrapper, where a plain ``int``
# is cast to the column's type by the INSERT all the same):
# checking the type costs a fraction of the call. Subclasses may prepare differently: not listed.
_PLAIN_TYPES: dict[type, type] = {
    models.BigIntegerField: int, models.IntegerField: int, models.SmallIntegerField: int,
    models.PositiveBigIntegerField: int, models.PositiveIntegerField: int, models.PositiveSmallIntegerField: int,
    models.CharField: str, models.TextField: str,
}  # fmt: skip


def _plain_type(field: models.Field[Any, Any]) -> type | None:
    return _PLAIN_TYPES.get(type(field))


def _values(fields: Sequence[Any], rows: Sequence[Sequence[Any]]) -> tuple[str, list[Any]]:
    """``VALUES (…), (…)`` for ``rows`` and its parameters, each prepared by its field as the ORM would."""
    marks = "(" + ", ".join(["%s"] * len(fields)) + ")"
    plain = [_plain_type(field) for field in fields]
    params = [
        value if type(value) is kind else field.get_db_prep_save(value, connection)
        for row in rows
        for field, kind, value in zip(fields, plain, row, strict=True)
    ]
    return "VALUES " + ", ".join([marks] * len(rows)), params


Table = tuple[type[models.Model], Sequence[str], Sequence[Sequence[Any]]]


def insert_together(tables: Sequence[Table]) -> None:
    """Inserts a few rows into several tables (``(model, columns, rows)`` each) as one unit.

    On PostgreSQL it is ONE statement, the first inserts as data-modifying ``WITH`` clauses: a
    statement is atomic by itself, so outside a transaction it costs one round trip instead of a
    ``BEGIN``, one insert per table and a ``COMMIT``. Elsewhere, one ``insert_rows`` per table in
    a transaction. Meant for single creates; batches go through ``insert_rows`` table by table.
    """
    tables = [table for table in tables if table[2]]
    if connection.vendor != "postgresql":
        with transaction.atomic():
            for model, columns, rows in tables:
                insert_rows(model, columns, rows)
        return
    statements, params = [], []
    for model, columns, rows in tables:
        fields, table, names = _target(model, columns)
        values, values_params = _values(fields, rows)
        statements.append(f"INSERT INTO {table} ({names}) {values}")  # noqa: S608
        params += values_params
    *first, last = statements
    clauses = ", ".join(f"w{n} AS ({statement})" for n, statement in enumerate(first))
    with connection.cursor() as cursor:
        cursor.execute(f"WITH {clauses} {last}" if first else last, params)


def insert_rows(model: type[models.Model], columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    if not rows:
        return
    fields, table, names = _target(model, columns)
    started = time.monotonic()
    if connection.vendor == "postgresql" and len(rows) >= COPY_MIN_ROWS:
        sql = f"COPY {table} ({names}) FROM STDIN"
        adapters = [(n, adapt) for n, f in enumerate(fields) if (adapt := _copy_adapter(f)) is not None]
        with connection.cursor() as cursor, cursor.cursor.copy(sql) as copy:
            for row in rows:
                if len(row) != len(fields):
                    raise ValueError(f"A row of {len(row)} values for {len(fields)} columns.")
                prepared = list(row)
                for n, adapt in adapters:
                    prepared[n] = adapt(prepared[n])
                copy.write_row(prepared)
        _log(sql, started, len(rows))
        return
    per_statement = max(1, min(connection.features.max_query_params or PARAMS_MAX, PARAMS_MAX) // len(fields))
    with connection.cursor() as cursor:
        for start in range(0, len(rows), per_statement):
            values, params = _values(fields, rows[start : start + per_statement])
            cursor.execute(f"INSERT INTO {table} ({names}) {values}", params)  # noqa: S608
