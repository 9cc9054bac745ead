"""Import traces from a file (or stdin) in one of the import formats, with the API's validation rules."""

from __future__ import annotations

import shutil
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from traces.importers import ImportFileError, ImportFormat, get_import_format, import_format_names
from traces.imports import traces_import_many
from traces.types import TracePayload
from tunix_rt.commands import add_user_argument, command_user

MAX_REPORTED = 50


class Command(BaseCommand):
    help = (
        "Import reasoning traces from PATH ('-' reads stdin): --format jsonl (tunix-rt traces or a trace "
        "export, one per line; the default), chat (OpenAI/TRL conversations, one per line) or parquet "
        "(a trace or chat export). "
        "Bad lines or rows are reported by number and nothing is stored unless --skip-invalid."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", help="the file, or '-' for standard input")
        parser.add_argument("--format", default="jsonl", choices=import_format_names(), help="default jsonl")
        parser.add_argument("--skip-invalid", action="store_true", help="import the valid records, report the rest")
        parser.add_argument("--skip-duplicates", action="store_true", help="skip traces whose content is stored")
        parser.add_argument("--batch-size", type=int, default=500, help="traces per insert (default 500)")
        add_user_argument(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        if not 1 <= options["batch_size"] <= 10_000:
            raise CommandError("--batch-size must be between 1 and 10000.")
        fmt = get_import_format(options["format"])
        actor = command_user(options)
        try:
            with self._file(options["path"]) as path:
                invalid, valid_count = self._check(fmt, path)
                if invalid and not options["skip_invalid"]:
                    raise CommandError(
                        f"{len(invalid)} invalid {fmt.unit}(s); nothing was imported. Fix them or pass --skip-invalid."
                    )
                summary = traces_import_many(
                    payloads=self._valid_payloads(fmt, path),
                    skip_duplicates=options["skip_duplicates"],
                    batch_size=options["batch_size"],
                    on_batch=lambda done: self._progress(done, valid_count),
                    actor=actor,
                )
        except ImportFileError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(
            self.style.SUCCESS(
                f"Imported {summary.created} trace(s); skipped {summary.duplicates} duplicate(s) "
                f"and {len(invalid)} invalid {fmt.unit}(s)."
            )
        )

    @contextmanager
    def _file(self, path: str) -> Iterator[Path]:
        """The file to read twice (check, then import); stdin is spooled to a temporary file first."""
        if path != "-":
            file = Path(path)
            if not file.is_file():
                raise CommandError(f"No such file: {path}")
            yield file
            return
        with tempfile.TemporaryDirectory(prefix="import_traces-") as folder:
            spool = Path(folder) / "stdin"
            with spool.open("wb") as out:
                binary = getattr(sys.stdin, "buffer", None)
                if binary is not None:
                    shutil.copyfileobj(binary, out)
                else:
                    for line in sys.stdin:
                        out.write(line.encode("utf-8"))
            yield spool

    def _check(self, fmt: ImportFormat, path: Path) -> tuple[list[int], int]:
        invalid: list[int] = []
        valid = 0
        for number, record in fmt.records(path):
            _, error = fmt.parse(record)
            if error is None:
                valid += 1
                continue
            invalid.append(number)
            if len(invalid) <= MAX_REPORTED:
                self.stderr.write(f"{fmt.unit} {number}: {error}")
        if len(invalid) > MAX_REPORTED:
            self.stderr.write(f"... and {len(invalid) - MAX_REPORTED} more invalid {fmt.unit}(s)")
        return invalid, valid

    def _valid_payloads(self, fmt: ImportFormat, path: Path) -> Iterator[TracePayload]:
        for _, record in fmt.records(path):
            payload, _ = fmt.parse(record)
            if payload is not None:
                yield payload

    def _progress(self, done: int, total: int) -> None:
        if total >= 1000:
            self.stderr.write(f"  {done}/{total} traces processed")
