"""Import an eval set from JSONL: one {"id", "prompt", "expected_answer", "category", "difficulty"} a line."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from training.serializers import EvalItemInputSerializer
from training.services import eval_set_import
from tunix_rt.commands import add_user_argument, command_user, domain_errors, field_errors_text
from tunix_rt.validation import load_json


class Command(BaseCommand):
    help = "Import a JSONL eval set under NAME; a file with any bad line stores nothing."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path")
        parser.add_argument("--name", required=True)
        parser.add_argument("--description", default="")
        add_user_argument(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        path = Path(options["path"])
        if not path.is_file():
            raise CommandError(f"No such file: {path}")
        items, errors = [], []
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except UnicodeDecodeError as exc:
            raise CommandError(f"The file is not UTF-8 text: {exc}") from None
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                data, problems = load_json(line)
            except ValueError as exc:
                errors.append(f"line {number}: invalid JSON ({exc})")
                continue
            if problems:
                errors.append(f"line {number}: {field_errors_text(problems)}")
                continue
            serializer = EvalItemInputSerializer(data=data)
            if not isinstance(data, dict) or not serializer.is_valid():
                detail = field_errors_text(serializer.errors) if isinstance(data, dict) else "expected a JSON object"
                errors.append(f"line {number}: {detail}")
                continue
            items.append(serializer.validated_data)
        for error in errors[:50]:
            self.stderr.write(error)
        if errors:
            raise CommandError(f"{len(errors)} invalid line(s); nothing was imported.")
        with domain_errors():
            eval_set = eval_set_import(
                name=options["name"], items=items, description=options["description"], actor=command_user(options)
            )
        self.stdout.write(
            self.style.SUCCESS(f"Imported eval set {eval_set.name!r} with {eval_set.item_count} item(s).")
        )
