"""The database itself refuses a dataset item of no dataset; deleting a dataset deletes its items."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, connection, transaction

from datasets.models import Dataset, DatasetItem
from datasets.services import dataset_build
from traces.tests.factories import TraceFactory

pytestmark = pytest.mark.django_db(transaction=True)


def test_an_item_of_no_dataset_is_refused_at_commit() -> None:
    TraceFactory.create_batch(2)
    dataset = dataset_build(name="fk", version="1", limit=2)
    with pytest.raises(IntegrityError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE datasets_datasetitem SET dataset_id = %s WHERE dataset_id = %s", [987_654, dataset.pk])
    assert DatasetItem.objects.filter(dataset=dataset).count() == 2


def test_deleting_a_dataset_deletes_its_items() -> None:
    TraceFactory.create_batch(3)
    dataset = dataset_build(name="fk", version="2", limit=3)
    kept = dataset_build(name="fk", version="3", limit=3)
    dataset.delete()
    assert list(Dataset.objects.values_list("key", flat=True)) == ["fk-3"]
    assert DatasetItem.objects.count() == 3 and set(DatasetItem.objects.values_list("dataset", flat=True)) == {kept.pk}
