"""Score stored traces with a criteria and store a Score row for each."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.db.models import QuerySet

from traces.models import Trace, TraceStatus
from traces.scoring import CannotVerify, criteria_names, get_scorer
from traces.selectors import traces_with_status
from traces.services import SCORED_COLUMNS, traces_score
from tunix_rt.commands import add_user_argument, command_user

SKIPPED_SHOWN = 10


def _skipped(traces: QuerySet[Trace], criteria: str, count: int) -> Iterator[tuple[Any, str]]:
    """Up to ``count`` traces the criteria cannot verify, each with the verifier's reason; scores nothing."""
    scorer = get_scorer(criteria)
    for trace in traces.only(*SCORED_COLUMNS).iterator(chunk_size=500):
        try:
            scorer(trace)
        except CannotVerify as exc:
            yield trace.id, exc.message.removeprefix("cannot verify: ")
            count -= 1
            if not count:
                return


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
        shown = min(summary.skipped, SKIPPED_SHOWN)
        for trace_id, reason in _skipped(traces, criteria, shown):
            self.stdout.write(f"  {trace_id}: {reason}")
        if summary.skipped > shown:
            self.stdout.write(f"  and {summary.skipped - shown} more")
