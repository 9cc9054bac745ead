"""Write a held-out eval set from a generator, sharing no prompt with a training dataset."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from traces.generators import available_generators
from training.evaluation import eval_items_from_generator
from tunix_rt.errors import DomainError
from tunix_rt.files import atomic_file


class Command(BaseCommand):
    help = "Generate an eval set (JSONL: id, prompt, expected_answer, category, difficulty) unseen by a dataset."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name", choices=[g.name for g in available_generators()])
        parser.add_argument("--count", type=int, required=True)
        parser.add_argument("--seed", type=int, default=0)
        parser.add_argument("--level", default=None)
        parser.add_argument("--exclude-dataset", required=True, help="dataset key whose prompts must not appear")
        parser.add_argument("--output", required=True, help="JSONL file to write")

    def handle(self, *args: Any, **options: Any) -> None:
        if not 1 <= options["count"] <= 100_000:
            raise CommandError("--count must be between 1 and 100000.")
        try:
            items = eval_items_from_generator(
                name=options["name"],
                count=options["count"],
                seed=options["seed"],
                level=options["level"],
                exclude_dataset_key=options["exclude_dataset"],
            )
        except DomainError as exc:
            raise CommandError(exc.message) from None
        target = Path(options["output"])
        with atomic_file(target) as out:
            for item in items:
                out.write((json.dumps(item, ensure_ascii=False) + "\n").encode("utf-8"))
        self.stdout.write(
            self.style.SUCCESS(
                f"Wrote {len(items)} item(s) to {target}; none shares a prompt with {options['exclude_dataset']}."
            )
        )
