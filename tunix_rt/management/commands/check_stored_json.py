"""Report stored JSON values nested deeper than the limit every door now enforces; nothing is changed."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from tunix_rt.stored_json import PARSER_DEPTH, stored_json_too_deep
from tunix_rt.validation import JSON_MAX_DEPTH


class Command(BaseCommand):
    help = (
        f"List every stored JSON value (trace meta, dataset filters, run configs, ...) nested deeper than "
        f"{JSON_MAX_DEPTH} levels, one line each; exits non-zero when there is any. Nothing is changed: "
        "exports and pages handle such values, and the API refuses new ones."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        found = 0
        for value in stored_json_too_deep():
            found += 1
            depth = f"more than {PARSER_DEPTH}" if value.depth > PARSER_DEPTH else str(value.depth)
            self.stdout.write(f"{value.model} {value.pk} {value.field}: {depth} levels")
        if found:
            raise CommandError(f"{found} stored JSON value(s) nest deeper than {JSON_MAX_DEPTH} levels.")
        self.stdout.write(self.style.SUCCESS(f"No stored JSON value nests deeper than {JSON_MAX_DEPTH} levels."))
