"""Building datasets: a database-side selection frozen into ordered rows plus a manifest file."""

from __future__ import annotations

import hashlib
import heapq
import json
import re
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import QuerySet

from datasets import selectors
from datasets.grouping import DEFAULT_GROUPING, get_grouping
from datasets.models import Dataset, SelectionStrategy
from datasets.services.members import members_store, stats_of_totals
from datasets.services.splits import splits_assign, splits_check
from traces import selectors as trace_selectors
from traces.models import Trace, TraceStatus
from tunix_rt.accounts import user_or_none
from tunix_rt.audit import audit_record
from tunix_rt.errors import Conflict, InvalidInput
from tunix_rt.files import atomic_file
from tunix_rt.models import AuditAction, AuditObjectType
from tunix_rt.validation import depth_message, filter_path_problem, too_deep_path

NAME_PATTERN = re.compile(r"^[A-Za-z0-9._-]+$")
LIMIT_MAX = 10_000
DEFAULT_LIMIT = 100
ID_STREAM_CHUNK = 2_000
MAX_NAMED_UNKNOWN = 20


def _check_name(value: str, field: str, max_length: int) -> None:
    if not 1 <= len(value) <= max_length or not NAME_PATTERN.match(value):
        raise InvalidInput(f"Use 1..{max_length} of the characters A-Z a-z 0-9 . _ -", field=field)


def _check_filters(filters: dict[str, Any]) -> None:
    deep = too_deep_path(filters, "filters")
    if deep is not None:
        raise InvalidInput(depth_message(deep), field="filters")
    for key in filters:
        if not isinstance(key, str) or not key or any(not part for part in key.split("__")):
            raise InvalidInput(f"Filter keys are non-empty meta key paths; got {key!r}.", field="filters")
        problem = filter_path_problem(key)
        if problem:
            raise InvalidInput(f"{problem} ({key[:100]!r})", field="filters")


def _unique(ids: Sequence[uuid.UUID]) -> list[uuid.UUID]:
    return list(dict.fromkeys(ids))


def _check_trace_ids(ids: list[uuid.UUID]) -> None:
    unknown = sorted(str(i) for i in set(ids) - trace_selectors.trace_ids_existing(trace_ids=ids))
    if unknown:
        shown = ", ".join(unknown[:MAX_NAMED_UNKNOWN])
        more = f" and {len(unknown) - MAX_NAMED_UNKNOWN} more" if len(unknown) > MAX_NAMED_UNKNOWN else ""
        raise InvalidInput(f"Unknown trace ids: {shown}{more}.", field="trace_ids")


def _seeded_rank(seed: int, trace_id: uuid.UUID) -> bytes:
    return hashlib.sha256(f"{seed}:{trace_id}".encode("ascii")).digest()


def select_trace_ids(*, traces: QuerySet[Trace], strategy: str, limit: int, seed: int | None) -> list[uuid.UUID]:
    """The selected ids in canonical order (newest first, ``id`` tie-break), holding at most ``limit`` ids.

    ``random`` keeps the ``limit`` ids with the smallest SHA-256 of ``"{seed}:{id}"``: it depends only
    on the matching ids and the seed, never on the database's row order or random generator.
    """
    ids = traces.values_list("id", flat=True)
    if strategy == SelectionStrategy.LATEST:
        return list(ids[:limit])
    if seed is None:
        raise InvalidInput("A random selection needs a seed, so that it can be repeated.", field="seed")
    ranked = heapq.nsmallest(
        limit, enumerate(ids.iterator(chunk_size=ID_STREAM_CHUNK)), key=lambda pair: _seeded_rank(seed, pair[1])
    )
    return [trace_id for _, trace_id in sorted(ranked)]


def dataset_stats(*, trace_ids: Sequence[uuid.UUID] | QuerySet[Any]) -> dict[str, Any]:
    """Manifest stats (docs/api.md) over the stored traces among ``trace_ids`` (a list, or a query of
    ids), in one aggregate query; averages to 2 decimals."""
    ids = trace_ids if isinstance(trace_ids, QuerySet) else list(trace_ids)
    return stats_of_totals(trace_selectors.trace_size_totals(traces=Trace.objects.filter(id__in=ids)))


def dataset_write_manifest(*, dataset: Dataset) -> Path:
    """Writes ``manifest.json`` atomically (temporary file, then rename); safe to repeat."""
    path = selectors.manifest_path(dataset=dataset)
    text = json.dumps(selectors.dataset_manifest(dataset=dataset), indent=2, ensure_ascii=False) + "\n"
    with atomic_file(path) as handle:
        handle.write(text.encode("utf-8"))
    return path


def _write_manifest_after_commit(dataset_id: int) -> None:
    dataset_write_manifest(dataset=Dataset.objects.select_related("parent_dataset").get(id=dataset_id))


@dataclass(frozen=True)
class _Request:
    """A build request's selection, checked: meta filters, explicit ids, split fractions and grouping."""

    filters: dict[str, Any]
    ids: list[uuid.UUID] | None
    fractions: list[tuple[str, float]] | None
    grouping: str


def _check_request(
    *,
    name: str,
    version: str,
    limit: int,
    strategy: str,
    seed: int | None,
    status: str | None,
    filters: dict[str, Any] | None,
    trace_ids: Sequence[uuid.UUID] | None,
    splits: Mapping[str, float] | Sequence[Any] | None,
    split_group: str | None,
) -> _Request:
    """Every check that needs no query, in the order their errors are reported."""
    _check_name(name, "dataset_name", 128)
    _check_name(version, "dataset_version", 64)
    if not 1 <= limit <= LIMIT_MAX:
        raise InvalidInput(f"Ensure this value is between 1 and {LIMIT_MAX}.", field="limit")
    if strategy not in SelectionStrategy.values:
        raise InvalidInput(f"Choose one of: {', '.join(SelectionStrategy.values)}.", field="selection_strategy")
    if strategy == SelectionStrategy.RANDOM and seed is None:
        raise InvalidInput("A random selection needs a seed, so that it can be repeated.", field="seed")
    if status is not None and status not in TraceStatus.values:
        raise InvalidInput(f"Choose one of: {', '.join(TraceStatus.values)}.", field="status")
    filters = dict(filters or {})
    _check_filters(filters)
    ids = None if trace_ids is None else _unique(trace_ids)
    if ids is not None and filters:
        raise InvalidInput("Give either trace_ids or meta filters, not both.", field="trace_ids")
    fractions = None if splits is None else splits_check(splits)
    if split_group is not None and fractions is None:
        raise InvalidInput("split_group groups traces for splits; give splits too.", field="split_group")
    grouping = split_group or DEFAULT_GROUPING
    get_grouping(grouping)
    return _Request(filters=filters, ids=ids, fractions=fractions, grouping=grouping)


def _check_against_stored(*, key: str, parent_dataset_key: str | None, ids: list[uuid.UUID] | None) -> Dataset | None:
    """The parent dataset, after the checks that read the database: ``Conflict`` on an existing key,
    ``InvalidInput`` for an unknown parent or unknown trace ids."""
    if Dataset.objects.filter(key=key).exists():
        raise Conflict(f"Dataset {key} already exists; datasets are immutable, build a new version.")
    parent = None
    if parent_dataset_key:
        parent = Dataset.objects.filter(key=parent_dataset_key).first()
        if parent is None:
            raise InvalidInput(f"No dataset {parent_dataset_key}.", field="parent_dataset_id")
    if ids is not None:
        _check_trace_ids(ids)
    return parent


def _dataset_insert(dataset: Dataset) -> None:
    """Inserts the new dataset row; a concurrent build of the same key is ``Conflict``."""
    try:
        with transaction.atomic():
            dataset.save(force_insert=True)
    except IntegrityError:
        raise Conflict(f"Dataset {dataset.key} already exists; datasets are immutable, build a new version.") from None


@transaction.atomic
def dataset_build(
    *,
    name: str,
    version: str,
    filters: dict[str, Any] | None = None,
    limit: int = DEFAULT_LIMIT,
    strategy: str = SelectionStrategy.LATEST,
    seed: int | None = None,
    session_id: str | None = None,
    parent_dataset_key: str | None = None,
    training_run_id: str | None = None,
    status: str | None = None,
    tags: Sequence[str] = (),
    trace_ids: Sequence[uuid.UUID] | None = None,
    splits: Mapping[str, float] | Sequence[Any] | None = None,
    split_group: str | None = None,
    actor: Any = None,
) -> Dataset:
    """Freezes the selection into a new dataset ``{name}-{version}``, all or nothing.

    Selection runs in the database over all traces; memory holds the selected ids only.
    With ``splits`` every selected trace is dealt to one split, whole ``split_group`` groups at
    a time (see ``splits_assign``). ``manifest.json`` is written by ``transaction.on_commit``,
    so a failed or rolled-back build leaves no file. An existing key is ``Conflict``: datasets
    are immutable.
    """
    request = _check_request(
        name=name, version=version, limit=limit, strategy=strategy, seed=seed, status=status,
        filters=filters, trace_ids=trace_ids, splits=splits, split_group=split_group,
    )  # fmt: skip
    key = f"{name}-{version}"
    parent = _check_against_stored(key=key, parent_dataset_key=parent_dataset_key, ids=request.ids)
    traces = trace_selectors.trace_selection(
        filters=request.filters, status=status, tags=list(tags), trace_ids=request.ids
    )
    # The newest matches without splits never need their ids in Python: the database copies them.
    in_database = strategy == SelectionStrategy.LATEST and request.fractions is None and request.ids is None
    selected = None if in_database else select_trace_ids(traces=traces, strategy=strategy, limit=limit, seed=seed)
    if selected is not None and not selected:
        raise InvalidInput("No traces match the selection; nothing to build.")
    assignment = None
    if request.fractions is not None and selected is not None:
        assignment = splits_assign(
            selected=selected, fractions=request.fractions, split_group=request.grouping, seed=seed
        )
    dataset = Dataset(
        key=key, name=name, version=version, filters=request.filters, status_filter=status or "",
        tag_filter=sorted(set(tags)), explicit_selection=request.ids is not None, selection_strategy=strategy,
        seed=seed, limit=limit, trace_count=len(selected or ()), stats={}, session_id=session_id,
        parent_dataset=parent, training_run_id=training_run_id,
        split_group=request.grouping if assignment is not None else "",
        splits=assignment.summary if assignment is not None else [],
        shared_groups=assignment.shared_groups if assignment is not None else None,
        created_by=user_or_none(actor),
    )  # fmt: skip
    _dataset_insert(dataset)
    members_store(dataset=dataset, traces=traces, limit=limit, selected=selected, assignment=assignment)
    dataset.save(update_fields=["trace_count", "stats"])
    audit_record(actor=actor, action=AuditAction.BUILD, object_type=AuditObjectType.DATASET, object_id=key)
    transaction.on_commit(partial(_write_manifest_after_commit, dataset.id))
    return dataset
