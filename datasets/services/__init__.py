"""Writes on datasets: building them and exporting them; callers are the API, admin and commands."""

from __future__ import annotations

from datasets.services.build import dataset_build, dataset_stats, dataset_write_manifest, select_trace_ids
from datasets.services.export import (
    DigestingLines,
    ExportDigest,
    dataset_export_lines,
    dataset_export_parquet,
    dataset_export_record,
    dataset_export_recorded_digest,
    dataset_export_stream,
)

__all__ = [
    "DigestingLines",
    "ExportDigest",
    "dataset_build",
    "dataset_export_lines",
    "dataset_export_parquet",
    "dataset_export_record",
    "dataset_export_recorded_digest",
    "dataset_export_stream",
    "dataset_stats",
    "dataset_write_manifest",
    "select_trace_ids",
]
