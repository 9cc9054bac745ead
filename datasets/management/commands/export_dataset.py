"""Export a dataset as JSONL to a file (atomically) or stdout, and check it against the recorded digest."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from datasets import selectors, services
from datasets.formats import DEFAULT_FORMAT, ExportOptions, format_names
from datasets.services import DigestingLines, ExportDigest
from tunix_rt.errors import DomainError
from tunix_rt.files import atomic_file


class Command(BaseCommand):
    help = (
        "Export dataset KEY as JSONL. With --output the file appears only when complete; "
        "--verify recomputes the export and fails if it differs from the recorded SHA-256."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("key", help="dataset key, e.g. arith-1.0")
        parser.add_argument("--format", default=DEFAULT_FORMAT, choices=format_names())
        parser.add_argument("--output", "-o", type=Path, help="file to write (default: standard output)")
        parser.add_argument("--system-prompt", default="", help="for prompt_completion and chat")
        parser.add_argument("--verify", action="store_true", help="compare with the recorded digest; no stdout")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            dataset = selectors.dataset_get(key=options["key"])
        except DomainError as exc:
            raise CommandError(exc.message) from None
        fmt, output, verify = options["format"], options["output"], options["verify"]
        export_options = ExportOptions(system_prompt=options["system_prompt"])
        recorded = services.dataset_export_recorded_digest(dataset=dataset, fmt=fmt, options=export_options)
        lines = DigestingLines(services.dataset_export_lines(dataset=dataset, fmt=fmt, options=export_options))
        if output is not None:
            with atomic_file(output) as handle:
                for data in lines:
                    handle.write(data)
                self._check(verify, recorded, lines.digest)
        elif verify:
            for _ in lines:
                pass
            self._check(verify, recorded, lines.digest)
        else:
            for data in lines:
                self.stdout.write(data.decode("utf-8"), ending="")
            self.stdout.flush()
        digest = lines.digest
        services.dataset_export_record(dataset=dataset, fmt=fmt, options=export_options, digest=digest)
        where = str(output) if output is not None else ("verified" if verify else "stdout")
        note = "" if recorded is not None else " (first computation; digest recorded)"
        self.stderr.write(f"{dataset.key} {fmt}: {digest.line_count} line(s), sha256 {digest.sha256} -> {where}{note}")

    def _check(self, verify: bool, recorded: ExportDigest | None, digest: ExportDigest) -> None:
        if verify and recorded is not None and recorded != digest:
            raise CommandError(
                f"Export differs from the recorded one: sha256 {digest.sha256} ({digest.line_count} line(s)) "
                f"!= recorded {recorded.sha256} ({recorded.line_count} line(s)). "
                "Traces deleted since the build are skipped, which changes the export."
            )
