"""Make a held-out eval set: from a generator (unseen by a dataset) or from a split of a dataset."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from traces.generators import available_generators
from training.services import eval_items_from_generator, eval_set_from_split
from tunix_rt.errors import DomainError
from tunix_rt.files import atomic_file


class Command(BaseCommand):
    help = (
        "Make an eval set (JSONL: id, prompt, expected_answer, category, difficulty). Either GENERATOR --count N "
        "--exclude-dataset KEY --output FILE (prompts unseen by the dataset), or --from-dataset KEY --split NAME "
        "[--name NAME] [--output FILE], which stores the split as an eval set that training runs on that split "
        "can be evaluated with."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("generator", nargs="?", choices=[g.name for g in available_generators()])
        parser.add_argument("--count", type=int)
        parser.add_argument("--seed", type=int, default=0)
        parser.add_argument("--level", default=None)
        parser.add_argument("--exclude-dataset", help="dataset key whose prompts must not appear")
        parser.add_argument("--from-dataset", help="draw the items from a split of this dataset")
        parser.add_argument("--split", help="the split of --from-dataset, e.g. test")
        parser.add_argument("--name", help="eval set name for --from-dataset (default KEY-SPLIT)")
        parser.add_argument("--output", help="JSONL file to write (required with a generator)")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["from_dataset"] is not None or options["split"] is not None:
            self._from_split(options)
        else:
            self._from_generator(options)

    def _from_split(self, options: dict[str, Any]) -> None:
        if options["generator"] is not None:
            raise CommandError("Give a generator or --from-dataset, not both.")
        if not options["from_dataset"] or not options["split"]:
            raise CommandError("--from-dataset and --split go together.")
        name = options["name"] or f"{options['from_dataset']}-{options['split']}"
        try:
            eval_set = eval_set_from_split(name=name, dataset_key=options["from_dataset"], split=options["split"])
        except DomainError as exc:
            raise CommandError(exc.message) from None
        if options["output"]:
            self._write(Path(options["output"]), [_item(i) for i in eval_set.items.order_by("position")])
        self.stdout.write(
            self.style.SUCCESS(
                f"Eval set {eval_set.name}: {eval_set.item_count} item(s) from split {options['split']} "
                f"of {options['from_dataset']}."
            )
        )

    def _from_generator(self, options: dict[str, Any]) -> None:
        missing = [f"--{n.replace('_', '-')}" for n in ("count", "exclude_dataset", "output") if options[n] is None]
        if options["generator"] is None or missing:
            raise CommandError(
                "Give GENERATOR --count N --exclude-dataset KEY --output FILE, or --from-dataset KEY --split NAME"
                + (f" (missing: {', '.join(missing)})." if options["generator"] is not None else ".")
            )
        if not 1 <= options["count"] <= 100_000:
            raise CommandError("--count must be between 1 and 100000.")
        try:
            items = eval_items_from_generator(
                name=options["generator"],
                count=options["count"],
                seed=options["seed"],
                level=options["level"],
                exclude_dataset_key=options["exclude_dataset"],
            )
        except DomainError as exc:
            raise CommandError(exc.message) from None
        target = Path(options["output"])
        self._write(target, items)
        self.stdout.write(
            self.style.SUCCESS(
                f"Wrote {len(items)} item(s) to {target}; none shares a prompt with {options['exclude_dataset']}."
            )
        )

    @staticmethod
    def _write(target: Path, items: list[dict[str, Any]]) -> None:
        with atomic_file(target) as out:
            for item in items:
                out.write((json.dumps(item, ensure_ascii=False) + "\n").encode("utf-8"))


def _item(row: Any) -> dict[str, Any]:
    return {
        "id": row.example_id,
        "prompt": row.prompt,
        "expected_answer": row.expected_answer,
        "category": row.category,
        "difficulty": row.difficulty,
    }
