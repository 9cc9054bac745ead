"""PostgreSQL's autovacuum keeps the trace tables and the near-duplicate GIN index up to date.

An insert-only table is vacuumed once ``autovacuum_vacuum_insert_threshold`` rows plus a share of
the table have been inserted; with the share at 0 here, after every 1,000 new rows (one batch
import, or a thousand single creates). That vacuum marks the new rows all-visible, so index-only
scans of deep list pages skip the heap, and on ``traces_tracesignature`` it also merges the GIN
index's pending list. The pending list may hold several batches' keys meanwhile
(``gin_pending_list_limit``), so an insert rarely has to merge it itself. SQLite needs none of this.
"""

from typing import Any

from django.db import migrations

TABLES = ("traces_trace", "traces_tracesignature")
GIN_INDEX = "trace_signature_bands_gin"
INSERT_THRESHOLD = 1_000
PENDING_LIST_KB = 16_384


def apply(apps: Any, schema_editor: Any) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    qn = schema_editor.quote_name
    for table in TABLES:
        schema_editor.execute(
            f"ALTER TABLE {qn(table)} SET (autovacuum_vacuum_insert_threshold = {INSERT_THRESHOLD}, "
            "autovacuum_vacuum_insert_scale_factor = 0)"
        )
    schema_editor.execute(
        f"ALTER INDEX {qn(GIN_INDEX)} SET (fastupdate = on, gin_pending_list_limit = {PENDING_LIST_KB})"
    )


def revert(apps: Any, schema_editor: Any) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    qn = schema_editor.quote_name
    for table in TABLES:
        schema_editor.execute(
            f"ALTER TABLE {qn(table)} RESET (autovacuum_vacuum_insert_threshold, autovacuum_vacuum_insert_scale_factor)"
        )
    schema_editor.execute(f"ALTER INDEX {qn(GIN_INDEX)} RESET (fastupdate, gin_pending_list_limit)")


class Migration(migrations.Migration):
    dependencies = [
        ("traces", "0013_enforced_foreign_keys"),
    ]

    operations = [migrations.RunPython(apply, revert)]
