"""SQLite backend that uses the real variable limit of the linked SQLite library.

Django assumes SQLite's historic limit of 999 bound variables, which splits a
1,000-trace ``bulk_create`` into many INSERTs. SQLite 3.32+ allows 32,766, so a
batch import stays one statement, as it is on PostgreSQL.
"""

from __future__ import annotations

import sqlite3
from functools import cached_property

from django.db.backends.sqlite3 import base, features


class DatabaseFeatures(features.DatabaseFeatures):
    @cached_property
    def max_query_params(self) -> int:  # type: ignore[override]
        self.connection.ensure_connection()
        raw = self.connection.connection
        return int(raw.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER))


class DatabaseWrapper(base.DatabaseWrapper):
    features_class = DatabaseFeatures
