"""Reads on datasets; other apps (training) read datasets only through here and ``datasets.services``."""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db.models import Exists, OuterRef, QuerySet

from datasets.formats.base import iso_utc
from datasets.models import Dataset, DatasetExport, DatasetItem
from traces import selectors as trace_selectors
from tunix_rt.db.functions import UUIDText
from tunix_rt.errors import InvalidInput, NotFound

SCHEMA_VERSION = "1.0"
DEFAULT_CHUNK_SIZE = 500


def dataset_list() -> QuerySet[Dataset]:
    """Newest first (``id`` breaks ties), with the parent's key in the same query."""
    return Dataset.objects.select_related("parent_dataset", "created_by").order_by("-created_at", "-id")


def dataset_get(*, key: str) -> Dataset:
    """The dataset called ``key``; a missing one is ``NotFound``."""
    dataset = Dataset.objects.select_related("parent_dataset", "created_by").filter(key=key).first()
    if dataset is None:
        raise NotFound(f"Dataset {key} not found.")
    return dataset


def dataset_check_split(*, dataset: Dataset, split: str | None) -> None:
    """``None`` means the whole dataset; any other name must be one of the dataset's splits."""
    if split is not None and split not in dataset.split_names:
        known = ", ".join(dataset.split_names) or "none; it was built without splits"
        raise InvalidInput(f"Dataset {dataset.key} has no split {split!r}; its splits: {known}.", field="split")


def dataset_trace_ids(*, dataset: Dataset, split: str | None = None) -> list[uuid.UUID]:
    """Member trace ids in manifest order (of one split, if named), deleted traces included, in one query."""
    dataset_check_split(dataset=dataset, split=split)
    items = DatasetItem.objects.filter(dataset=dataset).order_by("position")
    if split is not None:
        items = items.filter(split=split)
    return list(items.values_list("trace_id", flat=True))


def dataset_trace_id_texts(*, dataset: Dataset) -> list[str]:
    """``dataset_trace_ids`` as the ids' canonical text, written by the database (a manifest's ``trace_ids``)."""
    items = DatasetItem.objects.filter(dataset=dataset).order_by("position")
    return list(items.values_list(UUIDText("trace_id"), flat=True))


def dataset_iter_traces(
    *, dataset: Dataset, chunk_size: int = DEFAULT_CHUNK_SIZE, split: str | None = None
) -> Iterator[Any]:
    """The dataset's traces (of one split, if named) that still exist, in manifest order, as
    named tuples of ``traces.selectors.EXPORT_COLUMNS`` (read like a ``Trace``).

    One query for the ids, then one per ``chunk_size`` ids: the query count grows with the
    number of chunks, never with the number of records, and one chunk is held at a time.
    An unknown split is ``InvalidInput`` before anything is yielded.
    """
    dataset_check_split(dataset=dataset, split=split)
    items = DatasetItem.objects.filter(dataset=dataset).order_by("position")
    if split is not None:
        items = items.filter(split=split)
    members = list(items.values_list("position", "trace_id"))
    for start in range(0, len(members), chunk_size):
        chunk = members[start : start + chunk_size]
        # The chunk is a range of positions: the database reads its ids itself, none travel as parameters.
        span = items.filter(position__gte=chunk[0][0], position__lte=chunk[-1][0]).values("trace_id")
        found = {trace.id: trace for trace in trace_selectors.traces_for_export(trace_ids=span)}
        for _, trace_id in chunk:
            trace = found.get(trace_id)
            if trace is not None:
                yield trace


def datasets_holding_traces(*, trace_ids: Sequence[uuid.UUID], limit: int) -> tuple[list[str], int]:
    """The first ``limit`` keys (sorted) of the datasets that hold any of ``trace_ids``, and how many do.

    Two queries whatever the number of ids or datasets. Registered as a trace holder in
    ``DatasetsConfig.ready`` so trace deletes can warn.
    """
    keys = (
        DatasetItem.objects.filter(trace_id__in=list(trace_ids))
        .values_list("dataset__key", flat=True)
        .distinct()
        .order_by("dataset__key")
    )
    return list(keys[:limit]), keys.count()


def dataset_deleted_trace_ids(*, dataset: Dataset, chunk_size: int = DEFAULT_CHUNK_SIZE) -> list[uuid.UUID]:
    """Member ids, in manifest order, whose trace no longer exists; one query per ``chunk_size`` ids."""
    ids = dataset_trace_ids(dataset=dataset)
    missing: list[uuid.UUID] = []
    for start in range(0, len(ids), chunk_size):
        chunk = ids[start : start + chunk_size]
        present = trace_selectors.traces_existing_ids(trace_ids=chunk)
        missing.extend(trace_id for trace_id in chunk if trace_id not in present)
    return missing


def manifest_path(*, dataset: Dataset) -> Path:
    return Path(settings.ARTIFACTS_DIR) / "datasets" / dataset.key / "manifest.json"


def dataset_manifest(*, dataset: Dataset) -> dict[str, Any]:
    """The manifest documented in docs/api.md (Datasets); it never changes."""
    parent = dataset.parent_dataset
    return {
        "dataset_key": dataset.key,
        "build_id": str(dataset.build_id),
        "dataset_name": dataset.name,
        "dataset_version": dataset.version,
        "dataset_schema_version": SCHEMA_VERSION,
        "created_at": iso_utc(dataset.created_at),
        "filters": dataset.filters,
        "selection_strategy": dataset.selection_strategy,
        "seed": dataset.seed,
        "limit": dataset.limit,
        "status": dataset.status_filter or None,
        "tags": dataset.tag_filter,
        "explicit_trace_ids": dataset.explicit_selection,
        "trace_ids": dataset_trace_id_texts(dataset=dataset),
        "trace_count": dataset.trace_count,
        "stats": dataset.stats,
        "session_id": dataset.session_id,
        "parent_dataset_id": parent.key if parent is not None else None,
        "training_run_id": dataset.training_run_id,
        **dataset_split_manifest(dataset=dataset),
    }


def dataset_split_manifest(*, dataset: Dataset) -> dict[str, Any]:
    """``splits`` (request order), ``split_fractions`` and ``leakage``; none of them for a build without splits,
    so manifests of such builds keep the shape they always had."""
    if not dataset.splits:
        return {}
    return {
        "splits": {
            e["name"]: {"count": e["count"], "group_count": e["group_count"], "sha256": e["sha256"]}
            for e in dataset.splits
        },
        "split_fractions": {e["name"]: e["fraction"] for e in dataset.splits},
        "leakage": {"split_group": dataset.split_group, "shared_groups": dataset.shared_groups},
    }


def dataset_exports(*, dataset: Dataset) -> QuerySet[DatasetExport]:
    return DatasetExport.objects.filter(dataset=dataset).order_by("format", "options_key", "split", "file_format")


def export_options_key(options: dict[str, Any]) -> str:
    """SHA-256 of the canonical JSON of the effective options (``{}`` without options)."""
    canonical = json.dumps(options, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def dataset_export_recorded(
    *, dataset: Dataset, fmt: str, options: dict[str, Any], split: str | None = None, file_format: str = "jsonl"
) -> DatasetExport | None:
    """The digest recorded for this (format, effective options, split, file) export, if it was ever computed."""
    rows = DatasetExport.objects.filter(
        dataset=dataset,
        format=fmt,
        options_key=export_options_key(options),
        split=split or "",
        file_format=file_format,
    )
    return rows.first()


DIFF_IDS_MAX = 1_000


def _members_missing_from(source: Dataset, other: Dataset) -> QuerySet[DatasetItem]:
    """Items of ``source`` whose trace id is not in ``other``: an anti-join in the database."""
    in_other = DatasetItem.objects.filter(dataset=other, trace_id=OuterRef("trace_id"))
    return DatasetItem.objects.filter(dataset=source).filter(~Exists(in_other)).order_by("position")


def dataset_diff(*, base: Dataset, against: Dataset, cap: int = DIFF_IDS_MAX) -> dict[str, Any]:
    """Going from ``base`` to ``against``: ``added`` are members of ``against`` only, ``removed`` of ``base`` only.

    Counts are exact and computed in the database (three counts); the id lists, in each dataset's
    manifest order, hold at most ``cap`` ids each (two more queries).
    """
    added = _members_missing_from(against, base)
    removed = _members_missing_from(base, against)
    in_against = DatasetItem.objects.filter(dataset=against, trace_id=OuterRef("trace_id"))
    common = DatasetItem.objects.filter(dataset=base).filter(Exists(in_against))
    return {
        "base": base.key,
        "against": against.key,
        "added_count": added.count(),
        "removed_count": removed.count(),
        "common_count": common.count(),
        "added": [str(i) for i in added.values_list("trace_id", flat=True)[:cap]],
        "removed": [str(i) for i in removed.values_list("trace_id", flat=True)[:cap]],
    }
