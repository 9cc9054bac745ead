"""Generate deterministic traces with a built-in generator and store them."""

from __future__ import annotations

import argparse
import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from traces.generation import traces_generate
from traces.generators import available_generators
from tunix_rt.commands import add_user_argument, command_user, domain_errors


class Command(BaseCommand):
    help = "Generate traces with NAME (see GET /api/generators); --dry-run prints a preview and stores nothing."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name", choices=[g.name for g in available_generators()])
        parser.add_argument("--count", type=int, default=100, help="how many traces (1..10000, default 100)")
        parser.add_argument("--seed", type=int, default=0, help="seed; the same seed gives the same traces")
        parser.add_argument("--level", default=None, help="difficulty level, where the generator has levels")
        parser.add_argument("--dry-run", action="store_true", help="print a preview; store nothing")
        parser.add_argument(
            "--unique",
            action=argparse.BooleanOptionalAction,
            default=True,
            help="never emit the same content twice (default); --no-unique keeps the raw stream with repeats",
        )
        add_user_argument(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        if not 1 <= options["count"] <= 10_000:
            raise CommandError("--count must be between 1 and 10000.")
        with domain_errors():
            result = traces_generate(
                name=options["name"],
                count=options["count"],
                seed=options["seed"],
                level=options["level"],
                persist=not options["dry_run"],
                unique=options["unique"],
                actor=command_user(options),
            )
        if options["dry_run"]:
            for payload in result.preview:
                self.stdout.write(json.dumps(payload, ensure_ascii=False))
            self.stdout.write(f"Dry run: {options['count']} trace(s) generated, none stored.")
            return
        self.stdout.write(self.style.SUCCESS(f"Stored {len(result.trace_ids)} {options['name']} trace(s)."))
