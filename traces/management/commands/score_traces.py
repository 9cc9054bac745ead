"""Score stored traces with a criteria and store a Score row for each."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from traces.models import TraceStatus
from traces.scoring import criteria_names
from traces.selectors import traces_with_status
from traces.services import traces_score
from tunix_rt.commands import add_user_argument, command_user


class Command(BaseCommand):
    help = "Score traces (all, or those with --status) and store the scores."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--criteria", default="baseline", choices=criteria_names())
        parser.add_argument("--status", choices=list(TraceStatus.values))
        add_user_argument(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        criteria = options["criteria"]
        traces = traces_with_status(status=options["status"])
        summary = traces_score(traces=traces, criteria=criteria, actor=command_user(options))
        message = f"Scored {summary.scored} trace(s) with {criteria}."
        if summary.skipped:
            message += f" Skipped {summary.skipped} that {criteria} cannot verify:"
        self.stdout.write(self.style.SUCCESS(message))
        if not summary.skipped:
            return
        for trace_id, reason in summary.first_skipped:
            self.stdout.write(f"  {trace_id}: {reason}")
        if summary.skipped > len(summary.first_skipped):
            self.stdout.write(f"  and {summary.skipped - len(summary.first_skipped)} more")
