"""Exporting datasets as JSONL or Parquet, and recording and verifying each export's digest."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from django.db import transaction

from datasets import parquet, selectors
from datasets.formats import ExportOptions, get_format, render_line
from datasets.models import Dataset, DatasetExport, ExportFile
from tunix_rt.files import atomic_file

EXPORT_CHUNK_SIZE = 2_000
STREAM_BLOCK_BYTES = 64 * 1024  # lines are sent in blocks: one socket write per line cost more than the line


def dataset_export_lines(
    *,
    dataset: Dataset,
    fmt: str,
    options: ExportOptions | None = None,
    chunk_size: int | None = None,
    split: str | None = None,
) -> Iterator[str]:
    """The export, one JSON line (newline-terminated) per trace that still exists, in manifest order.

    ``split`` keeps one split's traces (manifest order within it); an unknown split is
    ``InvalidInput``, raised when the first line is asked for. A pure function of the stored
    rows: the same dataset, format, options and split give the same bytes.
    """
    export_format = get_format(fmt)
    opts = options or ExportOptions()
    size = chunk_size or EXPORT_CHUNK_SIZE
    for trace in selectors.dataset_iter_traces(dataset=dataset, chunk_size=size, split=split):
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
        """Whole lines, joined into blocks of about ``STREAM_BLOCK_BYTES``."""
        block: list[bytes] = []
        size = 0
        for line in self._lines:
            data = line.encode("utf-8")
            self._hash.update(data)
            self.line_count += 1
            block.append(data)
            size += len(data)
            if size >= STREAM_BLOCK_BYTES:
                yield b"".join(block)
                block, size = [], 0
        if block:
            yield b"".join(block)

    @property
    def digest(self) -> ExportDigest:
        return ExportDigest(sha256=self._hash.hexdigest(), line_count=self.line_count)


@transaction.atomic
def dataset_export_record(
    *,
    dataset: Dataset,
    fmt: str,
    options: ExportOptions | None,
    digest: ExportDigest,
    split: str | None = None,
    file_format: str = ExportFile.JSONL,
) -> None:
    """Records the digest of a complete export unless one is recorded already: the first computation wins."""
    effective = get_format(fmt).effective_options(options or ExportOptions())
    DatasetExport.objects.bulk_create(
        [
            DatasetExport(
                dataset=dataset,
                format=fmt,
                options_key=selectors.export_options_key(effective),
                options=effective,
                split=split or "",
                file_format=file_format,
                sha256=digest.sha256,
                line_count=digest.line_count,
            )
        ],
        ignore_conflicts=True,
    )


def dataset_export_stream(
    *,
    dataset: Dataset,
    fmt: str,
    options: ExportOptions | None = None,
    chunk_size: int | None = None,
    split: str | None = None,
) -> Iterator[bytes]:
    """The export as UTF-8 bytes; once the last line is out, its digest is recorded (one more query).

    Check ``split`` with ``selectors.dataset_check_split`` first: a streamed response cannot turn
    into a 400 once it has started.
    """
    lines = DigestingLines(
        dataset_export_lines(dataset=dataset, fmt=fmt, options=options, chunk_size=chunk_size, split=split)
    )
    yield from lines
    dataset_export_record(dataset=dataset, fmt=fmt, options=options, digest=lines.digest, split=split)


def dataset_export_recorded_digest(
    *,
    dataset: Dataset,
    fmt: str,
    options: ExportOptions | None = None,
    split: str | None = None,
    file_format: str = ExportFile.JSONL,
) -> ExportDigest | None:
    effective = get_format(fmt).effective_options(options or ExportOptions())
    row = selectors.dataset_export_recorded(
        dataset=dataset, fmt=fmt, options=effective, split=split, file_format=file_format
    )
    return None if row is None else ExportDigest(sha256=row.sha256, line_count=row.line_count)


def dataset_export_parquet(
    *,
    dataset: Dataset,
    fmt: str,
    path: Path,
    options: ExportOptions | None = None,
    split: str | None = None,
    check: Callable[[ExportDigest], None] | None = None,
) -> ExportDigest:
    """Writes the export as one Parquet file at ``path`` and returns the file's SHA-256 and row count.

    The rows are the format's JSONL records, in the same order; the whole export is held in memory
    to infer the column types (a dataset has at most 10,000 traces). ``check`` may refuse the
    digest by raising, and then ``path`` is left as it was. Recording the digest is the caller's
    choice (``dataset_export_record`` with ``file_format="parquet"``).
    """
    lines = dataset_export_lines(dataset=dataset, fmt=fmt, options=options, split=split)
    records = [json.loads(line) for line in lines]
    data = parquet.table_bytes(parquet.records_table(records))
    digest = ExportDigest(sha256=hashlib.sha256(data).hexdigest(), line_count=len(records))
    with atomic_file(path) as handle:
        if check is not None:
            check(digest)
        handle.write(data)
    return digest
