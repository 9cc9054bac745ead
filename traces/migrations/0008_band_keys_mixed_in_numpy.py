"""Band keys are now computed for a whole batch in NumPy (two MurmurHash3 finalisers per band)
instead of one BLAKE2b digest per band and trace: existing keys are recomputed from the stored
MinHash so that old and new traces keep meeting in the same bands.

Both key functions are frozen here, as a migration must be; going back restores the BLAKE2b keys.
"""

import hashlib

import numpy as np
from django.db import migrations

BANDS, ROWS, NUM_PERM, CHUNK = 16, 4, 128, 5_000


def _fmix64(x):
    x = x ^ (x >> np.uint64(33))
    x = x * np.uint64(0xFF51AFD7ED558CCD)
    x = x ^ (x >> np.uint64(33))
    x = x * np.uint64(0xC4CEB9FE1A85EC53)
    return x ^ (x >> np.uint64(33))


def _mixed_keys(signatures):
    matrix = np.frombuffer(b"".join(signatures), dtype="<u4").reshape(len(signatures), NUM_PERM)
    values = np.ascontiguousarray(matrix[:, : BANDS * ROWS]).view("<u8").astype(np.uint64)
    band = np.arange(1, BANDS + 1, dtype=np.uint64) * np.uint64(0x9E3779B97F4A7C15)
    with np.errstate(over="ignore"):
        keys = _fmix64(_fmix64(values[:, 0::2] ^ band) ^ values[:, 1::2])
    return keys.view(np.int64).tolist()


def _blake2b_keys(signatures):
    rows = []
    for signature in signatures:
        keys = []
        for band in range(BANDS):
            chunk = signature[band * ROWS * 4 : (band + 1) * ROWS * 4]
            digest = hashlib.blake2b(bytes([band]) + chunk, digest_size=8).digest()
            keys.append(int.from_bytes(digest, "little", signed=True))
        rows.append(keys)
    return rows


def _rewrite(apps, schema_editor, key_function):
    signature_model = apps.get_model("traces", "TraceSignature")
    connection = schema_editor.connection
    qn = connection.ops.quote_name
    sets = ", ".join(f"{qn(f'band_{n}')} = %s" for n in range(BANDS))
    sql = f"UPDATE {qn(signature_model._meta.db_table)} SET {sets} WHERE {qn('trace_id')} = %s"  # noqa: S608
    pk = signature_model._meta.pk
    stored = signature_model.objects.order_by("pk").values_list("trace_id", "minhash")
    chunk = []
    with connection.cursor() as cursor:
        for row in stored.iterator(chunk_size=CHUNK):
            chunk.append(row)
            if len(chunk) == CHUNK:
                _write(cursor, sql, chunk, key_function, pk, connection)
                chunk = []
        if chunk:
            _write(cursor, sql, chunk, key_function, pk, connection)


def _write(cursor, sql, chunk, key_function, pk, connection):
    keys = key_function([bytes(minhash) for _, minhash in chunk])
    cursor.executemany(
        sql, [(*row_keys, pk.get_db_prep_value(trace_id, connection)) for (trace_id, _), row_keys in zip(chunk, keys)]
    )


def to_mixed(apps, schema_editor):
    _rewrite(apps, schema_editor, _mixed_keys)


def to_blake2b(apps, schema_editor):
    _rewrite(apps, schema_editor, _blake2b_keys)


class Migration(migrations.Migration):
    dependencies = [
        ("traces", "0007_leaner_indexes"),
    ]

    operations = [migrations.RunPython(to_mixed, to_blake2b)]
