from __future__ import annotations

import pytest
from django.core.management import CommandError, call_command
from django.db import connection


def test_benchmark_refuses_anything_but_postgresql(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(connection, "vendor", "sqlite")
    with pytest.raises(CommandError, match="raw PostgreSQL"):
        call_command("benchmark")
