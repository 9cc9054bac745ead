"""Band keys move from one row per key (TraceBand) to one indexed column per band on the signature.

Existing signatures get their keys recomputed from the stored MinHash with the key function as
it stands today (frozen here, as a migration must be), then the old table goes.
"""

import hashlib

from django.db import migrations, models

BANDS, ROWS = 16, 4


def _band_keys(signature: bytes) -> list[int]:
    keys = []
    for band in range(BANDS):
        chunk = signature[band * ROWS * 4 : (band + 1) * ROWS * 4]
        digest = hashlib.blake2b(bytes([band]) + chunk, digest_size=8).digest()
        keys.append(int.from_bytes(digest, "little", signed=True))
    return keys


def fill_band_columns(apps, schema_editor):
    signature_model = apps.get_model("traces", "TraceSignature")
    connection = schema_editor.connection
    qn = connection.ops.quote_name
    names = [f"band_{n}" for n in range(BANDS)]
    sets = ", ".join(f"{qn(name)} = %s" for name in names)
    sql = f"UPDATE {qn(signature_model._meta.db_table)} SET {sets} WHERE {qn('trace_id')} = %s"
    stored = signature_model.objects.order_by("pk").values_list("trace_id", "minhash")
    batch = []
    with connection.cursor() as cursor:
        for trace_id, minhash in stored.iterator(chunk_size=5_000):
            batch.append((*_band_keys(bytes(minhash)), signature_model._meta.pk.get_db_prep_value(trace_id, connection)))
            if len(batch) == 5_000:
                cursor.executemany(sql, batch)
                batch = []
        if batch:
            cursor.executemany(sql, batch)


class Migration(migrations.Migration):
    dependencies = [
        ("traces", "0005_band_keys_without_constraint"),
    ]

    operations = [
        *(
            migrations.AddField(
                model_name="tracesignature",
                name=f"band_{n}",
                field=models.BigIntegerField(db_index=True, null=True),
            )
            for n in range(BANDS)
        ),
        migrations.RunPython(fill_band_columns, migrations.RunPython.noop),
        migrations.DeleteModel(name="TraceBand"),
    ]
