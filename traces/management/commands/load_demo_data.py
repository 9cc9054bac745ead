"""Give a fresh install something to look at: generated traces, only into an empty store."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from traces.generation import traces_generate
from traces.selectors import traces_with_status

DEMO = [
    ("arithmetic", "easy", 60),
    ("arithmetic", "medium", 120),
    ("arithmetic", "hard", 60),
    ("high_card_duel", None, 120),
]


class Command(BaseCommand):
    help = "Load a few hundred generated traces (both generators) when no trace is stored yet."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--seed", type=int, default=2026)

    def handle(self, *args: Any, **options: Any) -> None:
        if traces_with_status().exists():
            self.stdout.write("Traces already stored; demo data not loaded.")
            return
        total = 0
        for name, level, count in DEMO:
            total += len(traces_generate(name=name, count=count, seed=options["seed"], level=level).trace_ids)
        self.stdout.write(self.style.SUCCESS(f"Loaded {total} demo traces (arithmetic and high_card_duel)."))
