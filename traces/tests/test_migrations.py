"""Data migrations of the traces app, run forward over rows written before them."""

from __future__ import annotations

import uuid

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from traces.models import Trace

BEFORE_CONTENT_CHARS = [("traces", "0011_unchecked_user_references")]


@pytest.mark.django_db(transaction=True)
def test_content_chars_are_computed_for_traces_stored_before() -> None:
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE_CONTENT_CHARS)
    old_trace = executor.loader.project_state(BEFORE_CONTENT_CHARS).apps.get_model("traces", "Trace")
    steps = [{"i": 0, "type": "t", "content": "abc"}, {"i": 1, "type": "t", "content": "défg ✓"}]
    pk = uuid.uuid4()
    old_trace.objects.create(
        id=pk, trace_version="1.0", prompt="héllo?", final_answer="42", steps=steps, step_count=2, content_hash="0" * 64
    )
    executor = MigrationExecutor(connection)  # the graph again, now that the database is behind
    executor.migrate(executor.loader.graph.leaf_nodes())
    assert Trace.objects.get(id=pk).content_chars == len("héllo?") + len("42") + len("abc") + len("défg ✓")
