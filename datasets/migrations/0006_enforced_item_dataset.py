"""The database checks ``DatasetItem.dataset`` again; items whose dataset is gone are deleted first."""

from typing import Any

import django.db.models.deletion
from django.db import migrations, models


def delete_orphans(apps: Any, schema_editor: Any) -> None:
    dataset_model = apps.get_model("datasets", "Dataset")
    item_model = apps.get_model("datasets", "DatasetItem")
    item_model.objects.exclude(dataset_id__in=dataset_model.objects.values("pk")).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("datasets", "0005_split_index_partial"),
    ]

    operations = [
        migrations.RunPython(delete_orphans, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="datasetitem",
            name="dataset",
            field=models.ForeignKey(
                db_index=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="items",
                to="datasets.dataset",
            ),
        ),
    ]
