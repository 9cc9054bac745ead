"""Create a user if missing and print an API token for it: one line, the key alone."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from tunix_rt.accounts import user_issue_token


class Command(BaseCommand):
    help = "Print an API token for USERNAME, creating the user when it does not exist."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")

    def handle(self, *args: Any, username: str, **options: Any) -> None:
        try:
            key = user_issue_token(username=username)
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(key)
