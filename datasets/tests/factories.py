from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import factory
from factory.django import DjangoModelFactory

from datasets.models import Dataset, DatasetItem
from datasets.services import dataset_build
from traces.models import Trace
from traces.tests.factories import TraceFactory

GOLDEN_ID = uuid.UUID("11111111-2222-4333-8444-555555555555")
GOLDEN_CREATED = dt.datetime(2025, 1, 2, 3, 4, 5, 678901, tzinfo=dt.UTC)


def golden_trace(**overrides: Any) -> Trace:
    """The fixed trace of the golden export tests and of docs/formats.md."""
    fields: dict[str, Any] = {
        "id": GOLDEN_ID,
        "created_at": GOLDEN_CREATED,
        "trace_version": "1.0",
        "prompt": "What is 2 + 3 * 4?",
        "steps": [
            {"i": 0, "type": "parse", "content": "Multiply first: 3 * 4 = 12."},
            {"i": 1, "type": "compute", "content": "Then add: 2 + 12 = 14."},
        ],
        "final_answer": "14",
        "meta": {"source": "golden", "difficulty": 2},
    }
    fields.update(overrides)
    return TraceFactory.create(**fields)


def aged_traces(count: int, *, start: dt.datetime | None = None, **fields: Any) -> list[Trace]:
    """``count`` traces one minute apart, oldest first, so the newest-first order is known."""
    base = start or dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
    return [TraceFactory.create(created_at=base + dt.timedelta(minutes=n), **fields) for n in range(count)]


def build(name: str = "ds", version: str = "1.0", **kwargs: Any) -> Dataset:
    """``dataset_build`` with defaults, as every caller should create a dataset."""
    return dataset_build(name=name, version=version, **kwargs)


class DatasetFactory(DjangoModelFactory[Dataset]):
    """Rows without the build service, for pages that only display a dataset."""

    class Meta:
        model = Dataset

    name = factory.Sequence(lambda n: f"set{n}")
    version = "1.0"
    key = factory.LazyAttribute(lambda o: f"{o.name}-{o.version}")
    limit = 100
    stats = factory.LazyFunction(lambda: {"trace_count": 0})


class DatasetItemFactory(DjangoModelFactory[DatasetItem]):
    class Meta:
        model = DatasetItem

    dataset = factory.SubFactory(DatasetFactory)
    trace_id = factory.LazyFunction(uuid.uuid4)
    position = factory.Sequence(lambda n: n)
