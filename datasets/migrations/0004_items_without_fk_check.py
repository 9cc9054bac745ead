"""Dataset items lose their foreign-key check and the index the unique constraints already give.

The build writes a dataset's items in the transaction that creates it, with ``INSERT … SELECT``;
PostgreSQL then checked 10,000 deferred foreign keys at ``COMMIT`` (~46 ms) and kept a sixth
index, on ``dataset_id`` alone, that the two unique constraints starting with it make redundant.
"""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('datasets', '0003_dataset_splits'),
    ]

    operations = [
        migrations.AlterField(
            model_name='datasetitem',
            name='dataset',
            field=models.ForeignKey(db_constraint=False, db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='items', to='datasets.dataset'),
        ),
    ]
