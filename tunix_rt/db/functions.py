"""SQL functions that Django does not have, written once for both databases."""

from __future__ import annotations

from typing import Any

from django.db import models


def uuid_text_sql(column: str, vendor: str) -> str:
    """SQL rendering the UUID in ``column`` (a SQL expression) as its canonical text, 8-4-4-4-12."""
    if vendor == "postgresql":
        return f"CAST({column} AS TEXT)"
    # SQLite holds Django's UUIDs as 32 hex digits: the dashes are put back.
    parts = [(1, 8), (9, 4), (13, 4), (17, 4), (21, 12)]
    return " || '-' || ".join(f"substr({column}, {start}, {length})" for start, length in parts)


class UUIDText(models.Func):
    """A UUID column read as its canonical text: no ``uuid.UUID`` made per row, nor ``str()`` of it
    (10,000 ids: ~20 ms read as UUIDs then ``str()``, ~11 ms read as text)."""

    arity = 1
    output_field = models.TextField()

    def as_sql(self, compiler: Any, connection: Any, **extra: Any) -> Any:  # type: ignore[override]
        inner, params = compiler.compile(self.source_expressions[0])
        return uuid_text_sql(inner, connection.vendor), params
