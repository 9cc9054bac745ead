"""A before/after markdown report comparing two evaluation runs on the same eval set."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from training.selectors import evaluation_get
from training.services import evaluation_report, report_markdown
from tunix_rt.commands import domain_errors
from tunix_rt.files import atomic_file


class Command(BaseCommand):
    help = "Compare two evaluation runs (overall, per category, changed examples) as markdown."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--before", required=True, help="evaluation run id (e.g. the initial weights)")
        parser.add_argument("--after", required=True, help="evaluation run id (e.g. the final weights)")
        parser.add_argument("--output", help="write the markdown here instead of standard output")

    def handle(self, *args: Any, **options: Any) -> None:
        with domain_errors():
            report = evaluation_report(
                before=evaluation_get(evaluation_id=options["before"]),
                after=evaluation_get(evaluation_id=options["after"]),
            )
        text = report_markdown(report)
        if not options["output"]:
            self.stdout.write(text, ending="")
            return
        target = Path(options["output"])
        with atomic_file(target) as out:
            out.write(text.encode("utf-8"))
        self.stdout.write(f"Report written to {target}")
