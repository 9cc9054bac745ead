"""Export a dataset as JSONL or Parquet to a file (atomically) or stdout, and check it against the recorded digest."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from datasets import selectors, services
from datasets.formats import DEFAULT_FORMAT, ExportOptions, format_names
from datasets.models import Dataset, ExportFile
from datasets.services import DigestingLines, ExportDigest
from tunix_rt.commands import domain_errors
from tunix_rt.files import atomic_file

DELETED_SHOWN = 20


class Command(BaseCommand):
    help = (
        "Export dataset KEY (or one --split of it) as JSONL, or as Apache Parquet when --output ends in "
        ".parquet. With --output the file appears only when complete; --verify recomputes the export "
        "and fails if it differs from the recorded SHA-256."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("key", help="dataset key, e.g. arith-1.0")
        parser.add_argument("--format", default=DEFAULT_FORMAT, choices=format_names())
        parser.add_argument(
            "--output", "-o", type=Path, help="file to write; *.parquet writes Parquet (default: stdout)"
        )
        parser.add_argument("--system-prompt", default="", help="for prompt_completion and chat")
        parser.add_argument("--split", help="export only this split of the dataset")
        parser.add_argument("--verify", action="store_true", help="compare with the recorded digest; no stdout")
        parser.add_argument(
            "--template-from",
            type=Path,
            metavar="MODEL_DIR",
            help="render prompt_completion or chat records with this Hugging Face model directory's chat "
            "template (JSONL; no digest is recorded)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        with domain_errors():
            dataset = selectors.dataset_get(key=options["key"])
            selectors.dataset_check_split(dataset=dataset, split=options["split"])
        if options["template_from"] is not None:
            self._templated(dataset, options)
            return
        output: Path | None = options["output"]
        fmt, split = options["format"], options["split"]
        file_format = ExportFile.PARQUET if output is not None and output.suffix == ".parquet" else ExportFile.JSONL
        export_options = ExportOptions(system_prompt=options["system_prompt"])
        recorded = services.dataset_export_recorded_digest(
            dataset=dataset, fmt=fmt, options=export_options, split=split, file_format=file_format
        )
        if output is not None and file_format == ExportFile.PARQUET:
            digest = self._parquet(dataset, fmt, export_options, split, output, options["verify"], recorded)
        else:
            digest = self._jsonl(dataset, fmt, export_options, split, output, options["verify"], recorded)
        services.dataset_export_record(
            dataset=dataset, fmt=fmt, options=export_options, digest=digest, split=split, file_format=file_format
        )
        where = str(output) if output is not None else ("verified" if options["verify"] else "stdout")
        note = "" if recorded is not None else " (first computation; digest recorded)"
        what = f"{dataset.key}{f' split {split}' if split else ''} {fmt}"
        unit = "row(s)" if file_format == ExportFile.PARQUET else "line(s)"
        self.stderr.write(f"{what}: {digest.line_count} {unit}, sha256 {digest.sha256} -> {where}{note}")
        if options["verify"]:
            deleted = deleted_since_build(dataset)
            if deleted:
                self.stderr.write(deleted)

    def _templated(self, dataset: Dataset, options: dict[str, Any]) -> None:
        from datasets.formats.chat_template import TEMPLATED_FORMATS, ChatTemplate

        fmt, output = options["format"], options["output"]
        if fmt not in TEMPLATED_FORMATS:
            raise CommandError(f"--template-from renders {' and '.join(TEMPLATED_FORMATS)} records, not {fmt}")
        if options["verify"] or (output is not None and output.suffix == ".parquet"):
            raise CommandError("--template-from writes JSONL and records no digest: no --verify or .parquet output")
        with domain_errors():
            template = ChatTemplate(options["template_from"])
            lines = (
                template.apply_line(line, fmt)
                for line in services.dataset_export_lines(
                    dataset=dataset,
                    fmt=fmt,
                    options=ExportOptions(system_prompt=options["system_prompt"]),
                    split=options["split"],
                )
            )
            count = 0
            if output is not None:
                with atomic_file(output) as handle:
                    for count, line in enumerate(lines, start=1):  # noqa: B007 - the count is reported
                        handle.write(line.encode("utf-8"))
            else:
                for count, line in enumerate(lines, start=1):  # noqa: B007 - the count is reported
                    self.stdout.write(line, ending="")
                self.stdout.flush()
        where = str(output) if output is not None else "stdout"
        self.stderr.write(f"{dataset.key} {fmt} in the chat template of {template.name}: {count} line(s) -> {where}")

    def _parquet(
        self,
        dataset: Dataset,
        fmt: str,
        export_options: ExportOptions,
        split: str | None,
        output: Path,
        verify: bool,
        recorded: ExportDigest | None,
    ) -> ExportDigest:
        return services.dataset_export_parquet(
            dataset=dataset,
            fmt=fmt,
            path=output,
            options=export_options,
            split=split,
            check=lambda digest: self._check(dataset, verify, recorded, digest),
        )

    def _jsonl(
        self,
        dataset: Dataset,
        fmt: str,
        export_options: ExportOptions,
        split: str | None,
        output: Path | None,
        verify: bool,
        recorded: ExportDigest | None,
    ) -> ExportDigest:
        lines = DigestingLines(
            services.dataset_export_lines(dataset=dataset, fmt=fmt, options=export_options, split=split)
        )
        if output is not None:
            with atomic_file(output) as handle:
                for data in lines:
                    handle.write(data)
                self._check(dataset, verify, recorded, lines.digest)
        elif verify:
            for _ in lines:
                pass
            self._check(dataset, verify, recorded, lines.digest)
        else:
            for data in lines:
                self.stdout.write(data.decode("utf-8"), ending="")
            self.stdout.flush()
        return lines.digest

    def _check(self, dataset: Dataset, verify: bool, recorded: ExportDigest | None, digest: ExportDigest) -> None:
        if verify and recorded is not None and recorded != digest:
            raise CommandError(
                f"Export differs from the recorded one: sha256 {digest.sha256} ({digest.line_count} record(s)) "
                f"!= recorded {recorded.sha256} ({recorded.line_count} record(s)). "
                + (
                    deleted_since_build(dataset)
                    or "No trace of the dataset was deleted since the build, so the stored traces changed."
                )
            )


def deleted_since_build(dataset: Dataset) -> str:
    """Names the member traces deleted since the build (the first few), or "" when none was."""
    deleted = selectors.dataset_deleted_trace_ids(dataset=dataset)
    if not deleted:
        return ""
    shown = ", ".join(str(trace_id) for trace_id in deleted[:DELETED_SHOWN])
    more = f" and {len(deleted) - DELETED_SHOWN} more" if len(deleted) > DELETED_SHOWN else ""
    return f"{len(deleted)} trace(s) deleted since the build are skipped by the export: {shown}{more}."
