"""Data migrations of the traces app, run forward over rows written before them."""

from __future__ import annotations

import uuid

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from datasets.models import DatasetItem
from traces.models import Trace, TraceSignature
from tunix_rt.models import AuditEntry

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


BEFORE_ENFORCED_KEYS = [
    ("traces", "0012_trace_content_chars"),
    ("datasets", "0005_split_index_partial"),
    ("tunix_rt", "0008_drop_auth_change_notify"),
]


@pytest.mark.django_db(transaction=True)
def test_rows_pointing_at_nothing_are_repaired_before_the_keys_are_enforced() -> None:
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE_ENFORCED_KEYS)
    old = executor.loader.project_state(BEFORE_ENFORCED_KEYS).apps
    trace_id, orphan_id = uuid.uuid4(), uuid.uuid4()
    old.get_model("traces", "Trace").objects.create(
        id=trace_id, trace_version="1.0", prompt="p", final_answer="a", steps=[], content_hash="0" * 64,
        created_by_id=987_654,
    )  # fmt: skip
    signatures = old.get_model("traces", "TraceSignature").objects
    signatures.create(trace_id=trace_id, minhash=b"kept")
    signatures.create(trace_id=orphan_id, minhash=b"orphan")
    old.get_model("tunix_rt", "AuditEntry").objects.create(
        actor_id=987_654, actor_name="gone", action="create", object_type="trace", object_id=str(trace_id)
    )
    dataset = old.get_model("datasets", "Dataset").objects.create(key="d-1", name="d", version="1", limit=1)
    items = old.get_model("datasets", "DatasetItem").objects
    items.create(dataset_id=dataset.pk, trace_id=trace_id, position=0)
    items.create(dataset_id=987_654, trace_id=trace_id, position=0)
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())
    assert Trace.objects.get(id=trace_id).created_by_id is None
    assert list(TraceSignature.objects.values_list("trace_id", flat=True)) == [trace_id]
    assert list(AuditEntry.objects.values_list("actor_id", "actor_name")) == [(None, "gone")]
    assert list(DatasetItem.objects.values_list("dataset_id", flat=True)) == [dataset.pk]


@pytest.mark.skipif(connection.vendor != "postgresql", reason="autovacuum and GIN are PostgreSQL's")
@pytest.mark.django_db
def test_autovacuum_keeps_the_trace_tables_and_the_band_index_up() -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT relname, reloptions FROM pg_class WHERE relname IN (%s, %s, %s) ORDER BY relname",
            ["traces_trace", "traces_tracesignature", "trace_signature_bands_gin"],
        )
        options = {name: sorted(opts) for name, opts in cursor.fetchall()}
    vacuum = ["autovacuum_vacuum_insert_scale_factor=0", "autovacuum_vacuum_insert_threshold=1000"]
    assert options == {
        "trace_signature_bands_gin": ["fastupdate=on", "gin_pending_list_limit=16384"],
        "traces_trace": vacuum,
        "traces_tracesignature": vacuum,
    }
