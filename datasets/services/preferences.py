"""Exporting preference pairs for DPO: a selection of pairs, or the pairs between a dataset's traces."""

from __future__ import annotations

import json
from collections.abc import Iterator

from django.db.models import QuerySet

from datasets.formats import ExportOptions
from datasets.formats import dpo as dpo_format
from datasets.models import DatasetItem
from datasets.selectors import dataset_get
from traces.models import Preference
from tunix_rt.errors import InvalidInput, NotFound

PREFERENCE_EXPORT_MAX = 10_000
PREFERENCE_FORMATS = (dpo_format.NAME,)
_TRACE_COLUMNS = ("id", "created_at", "trace_version", "prompt", "final_answer", "steps", "meta")


def preferences_for_export(
    *, preferences: QuerySet[Preference], dataset_key: str | None = None, limit: int = PREFERENCE_EXPORT_MAX
) -> QuerySet[Preference]:
    """``preferences`` oldest first (``id`` breaks ties), at most ``limit``, both traces joined.

    With ``dataset_key``, only pairs whose two traces the dataset holds and that existed when it was
    built, so the export of a dataset never changes after its build (bar deleted traces); an
    unknown key is ``InvalidInput`` on ``dataset``.
    """
    if dataset_key:
        try:
            dataset = dataset_get(key=dataset_key)
        except NotFound as exc:
            raise InvalidInput(exc.message, field="dataset") from None
        members = DatasetItem.objects.filter(dataset=dataset).values("trace_id")
        preferences = preferences.filter(
            chosen_id__in=members, rejected_id__in=members, created_at__lte=dataset.created_at
        )
    columns = [f"{side}__{c}" for side in ("chosen", "rejected") for c in _TRACE_COLUMNS]
    return (
        preferences.select_related(None)
        .select_related("chosen", "rejected")
        .only("id", "created_at", "reason", "chosen", "rejected", *columns)
        .order_by("created_at", "id")[:limit]
    )


def preferences_export_lines(
    *, preferences: QuerySet[Preference], options: ExportOptions | None = None, chunk_size: int = 500
) -> Iterator[str]:
    """One ``dpo`` JSON line (newline-terminated) per pair, in the queryset's order, read in chunks."""
    opts = options or ExportOptions()
    for preference in preferences.iterator(chunk_size=chunk_size):
        record = dpo_format.render(preference, opts)
        yield json.dumps(record, ensure_ascii=False, separators=(", ", ": ")) + "\n"
