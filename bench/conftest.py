"""Benchmarks run by `make bench` in pytest-django's throwaway database, on PostgreSQL only."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.db import connection


@pytest.fixture
def raw_pg(transactional_db: Any) -> Iterator[Any]:
    """The psycopg connection of the test database, for the raw-PostgreSQL side of each figure."""
    if connection.vendor != "postgresql":
        pytest.fail("make bench compares with raw PostgreSQL: set DATABASE_URL=postgres://…", pytrace=False)
    connection.ensure_connection()
    yield connection.connection
