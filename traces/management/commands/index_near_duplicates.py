"""Backfill the near-duplicate index (MinHash signatures and LSH band keys) of stored traces."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from traces.near_duplicates import traces_index_backfill


class Command(BaseCommand):
    help = "Index traces stored before the near-duplicate index existed (or all of them with --rebuild)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--rebuild", action="store_true", help="drop the index and rebuild it for every trace")
        parser.add_argument("--chunk-size", type=int, default=1000, help="traces per transaction (1..5000)")

    def handle(self, *args: Any, **options: Any) -> None:
        if not 1 <= options["chunk_size"] <= 5000:
            raise CommandError("--chunk-size must be between 1 and 5000.")
        count = traces_index_backfill(
            rebuild=options["rebuild"],
            chunk_size=options["chunk_size"],
            on_chunk=lambda done: self.stdout.write(f"indexed {done} trace(s)"),
        )
        self.stdout.write(self.style.SUCCESS(f"Indexed {count} trace(s) for near-duplicate search."))
