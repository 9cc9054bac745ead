"""Import traces from a JSONL file (or stdin) with the API's validation rules."""

from __future__ import annotations

import json
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from traces.serializers import TraceInputSerializer
from traces.services import traces_import_many
from traces.types import TracePayload
from tunix_rt.commands import add_user_argument, command_user

MAX_REPORTED = 50


def _flatten(errors: Any, prefix: str = "") -> list[str]:
    if isinstance(errors, dict):
        out: list[str] = []
        for key, value in errors.items():
            name = key if key != "non_field_errors" else ""
            out += _flatten(value, f"{prefix}.{name}".strip(".") if name else prefix)
        return out
    if isinstance(errors, list):
        if all(isinstance(e, str) for e in errors):
            return [f"{prefix}: {e}" if prefix else str(e) for e in errors]
        out = []
        for index, value in enumerate(errors):
            if value:
                out += _flatten(value, f"{prefix}[{index}]")
        return out
    return [f"{prefix}: {errors}" if prefix else str(errors)]


def validate_line(text: str) -> tuple[TracePayload | None, str | None]:
    """One JSONL line checked exactly as ``POST /api/traces`` checks a body."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        return None, f"invalid JSON ({exc.msg} at column {exc.colno})"
    except (ValueError, RecursionError) as exc:
        return None, f"invalid JSON ({exc.__class__.__name__})"
    if not isinstance(data, dict):
        return None, "expected a JSON object"
    serializer = TraceInputSerializer(data=data)
    if not serializer.is_valid():
        return None, "; ".join(_flatten(serializer.errors))
    return serializer.validated_data, None


class Command(BaseCommand):
    help = "Import reasoning traces from a JSONL file (one trace per line); PATH '-' reads stdin."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", help="JSONL file, or '-' for standard input")
        parser.add_argument("--skip-invalid", action="store_true", help="import the valid lines, report the rest")
        parser.add_argument("--skip-duplicates", action="store_true", help="skip traces whose content is stored")
        parser.add_argument("--batch-size", type=int, default=500, help="traces per insert (default 500)")
        add_user_argument(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        if not 1 <= options["batch_size"] <= 10_000:
            raise CommandError("--batch-size must be between 1 and 10000.")
        actor = command_user(options)
        with self._open(options["path"]) as stream:
            invalid, valid_count = self._check(stream)
            if invalid and not options["skip_invalid"]:
                raise CommandError(
                    f"{len(invalid)} invalid line(s); nothing was imported. Fix them or pass --skip-invalid."
                )
            stream.seek(0)
            summary = traces_import_many(
                payloads=self._valid_payloads(stream),
                skip_duplicates=options["skip_duplicates"],
                batch_size=options["batch_size"],
                on_batch=lambda done: self._progress(done, valid_count),
                actor=actor,
            )
        self.stdout.write(
            self.style.SUCCESS(
                f"Imported {summary.created} trace(s); skipped {summary.duplicates} duplicate(s) "
                f"and {len(invalid)} invalid line(s)."
            )
        )

    def _open(self, path: str) -> IO[str]:
        if path == "-":
            spool = tempfile.TemporaryFile("w+", encoding="utf-8")  # noqa: SIM115 - closed by the caller's with
            for line in sys.stdin:
                spool.write(line)
            spool.seek(0)
            return spool
        file = Path(path)
        if not file.is_file():
            raise CommandError(f"No such file: {path}")
        return file.open(encoding="utf-8")

    @staticmethod
    def _lines(stream: IO[str]) -> Iterator[tuple[int, str]]:
        for number, line in enumerate(stream, start=1):
            if line.strip():
                yield number, line

    def _check(self, stream: IO[str]) -> tuple[list[int], int]:
        invalid: list[int] = []
        valid = 0
        try:
            for number, line in self._lines(stream):
                _, error = validate_line(line)
                if error is None:
                    valid += 1
                    continue
                invalid.append(number)
                if len(invalid) <= MAX_REPORTED:
                    self.stderr.write(f"line {number}: {error}")
        except UnicodeDecodeError as exc:
            raise CommandError(f"The file is not UTF-8 text: {exc}") from None
        if len(invalid) > MAX_REPORTED:
            self.stderr.write(f"... and {len(invalid) - MAX_REPORTED} more invalid line(s)")
        return invalid, valid

    def _valid_payloads(self, stream: IO[str]) -> Iterator[TracePayload]:
        for _, line in self._lines(stream):
            payload, _ = validate_line(line)
            if payload is not None:
                yield payload

    def _progress(self, done: int, total: int) -> None:
        if total >= 1000:
            self.stderr.write(f"  {done}/{total} traces processed")
