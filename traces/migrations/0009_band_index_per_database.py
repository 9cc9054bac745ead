"""The band keys' index, chosen per database; the signature's foreign-key check goes.

PostgreSQL: the 16 B-trees (one per band column) become ONE GIN index over the array of the
16 keys, which ``trace_similar`` queries with ``&&`` (overlap). GIN's pending list absorbs a
batch's 16,000 keys cheaply; 16 B-trees took 60–90 ms per 1,000 traces on the bench.
SQLite has no GIN: it keeps one B-tree per band. The indexes are made here in SQL, outside the
model state, because the two databases need different ones.
"""

import django.db.models.deletion
from django.db import migrations, models

BANDS = 16
TABLE = "traces_tracesignature"
GIN_NAME = "trace_signature_bands_gin"


def _bands_sql(connection):
    qn = connection.ops.quote_name
    return ", ".join(qn(f"band_{n}") for n in range(BANDS))


def create_band_index(apps, schema_editor):
    connection = schema_editor.connection
    qn = connection.ops.quote_name
    if connection.vendor == "postgresql":
        schema_editor.execute(f"CREATE INDEX {qn(GIN_NAME)} ON {qn(TABLE)} USING gin ((ARRAY[{_bands_sql(connection)}]))")
        return
    for n in range(BANDS):
        schema_editor.execute(f"CREATE INDEX {qn(f'trace_signature_band_{n}')} ON {qn(TABLE)} ({qn(f'band_{n}')})")


def drop_band_index(apps, schema_editor):
    connection = schema_editor.connection
    qn = connection.ops.quote_name
    names = [GIN_NAME] if connection.vendor == "postgresql" else [f"trace_signature_band_{n}" for n in range(BANDS)]
    for name in names:
        schema_editor.execute(f"DROP INDEX IF EXISTS {qn(name)}")


class Migration(migrations.Migration):
    dependencies = [
        ("traces", "0008_band_keys_mixed_in_numpy"),
    ]

    operations = [
        *(
            migrations.AlterField(
                model_name="tracesignature", name=f"band_{n}", field=models.BigIntegerField(null=True)
            )
            for n in range(BANDS)
        ),
        migrations.AlterField(
            model_name="tracesignature",
            name="trace",
            field=models.OneToOneField(
                db_constraint=False,
                on_delete=django.db.models.deletion.CASCADE,
                primary_key=True,
                related_name="signature",
                serialize=False,
                to="traces.trace",
            ),
        ),
        migrations.RunPython(create_band_index, drop_band_index),
    ]
