"""Exporting datasets as JSONL, and recording and verifying each export's digest."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass

from django.db import transaction

from datasets import selectors
from datasets.formats import ExportOptions, get_format, render_line
from datasets.models import Dataset, DatasetExport

EXPORT_CHUNK_SIZE = 500


def dataset_export_lines(
    *, dataset: Dataset, fmt: str, options: ExportOptions | None = None, chunk_size: int | None = None
) -> Iterator[str]:
    """The export, one JSON line (newline-terminated) per trace that still exists, in manifest order.

    A pure function of the stored rows: the same dataset, format and options give the same bytes.
    """
    export_format = get_format(fmt)
    opts = options or ExportOptions()
    size = chunk_size or EXPORT_CHUNK_SIZE
    for trace in selectors.dataset_iter_traces(dataset=dataset, chunk_size=size):
        yield render_line(export_format, trace, opts)


@dataclass(frozen=True)
class ExportDigest:
    sha256: str
    line_count: int


class DigestingLines:
    """Wraps an export's lines as UTF-8 bytes and keeps the SHA-256 and line count of what passed."""

    def __init__(self, lines: Iterator[str]) -> None:
        self._lines = lines
        self._hash = hashlib.sha256()
        self.line_count = 0

    def __iter__(self) -> Iterator[bytes]:
        for line in self._lines:
            data = line.encode("utf-8")
            self._hash.update(data)
            self.line_count += 1
            yield data

    @property
    def digest(self) -> ExportDigest:
        return ExportDigest(sha256=self._hash.hexdigest(), line_count=self.line_count)


@transaction.atomic
def dataset_export_record(*, dataset: Dataset, fmt: str, options: ExportOptions | None, digest: ExportDigest) -> None:
    """Records the digest of a complete export unless one is recorded already: the first computation wins."""
    effective = get_format(fmt).effective_options(options or ExportOptions())
    DatasetExport.objects.bulk_create(
        [
            DatasetExport(
                dataset=dataset,
                format=fmt,
                options_key=selectors.export_options_key(effective),
                options=effective,
                sha256=digest.sha256,
                line_count=digest.line_count,
            )
        ],
        ignore_conflicts=True,
    )


def dataset_export_stream(
    *, dataset: Dataset, fmt: str, options: ExportOptions | None = None, chunk_size: int | None = None
) -> Iterator[bytes]:
    """The export as UTF-8 bytes; once the last line is out, its digest is recorded (one more query)."""
    lines = DigestingLines(dataset_export_lines(dataset=dataset, fmt=fmt, options=options, chunk_size=chunk_size))
    yield from lines
    dataset_export_record(dataset=dataset, fmt=fmt, options=options, digest=lines.digest)


def dataset_export_recorded_digest(
    *, dataset: Dataset, fmt: str, options: ExportOptions | None = None
) -> ExportDigest | None:
    effective = get_format(fmt).effective_options(options or ExportOptions())
    row = selectors.dataset_export_recorded(dataset=dataset, fmt=fmt, options=effective)
    return None if row is None else ExportDigest(sha256=row.sha256, line_count=row.line_count)
