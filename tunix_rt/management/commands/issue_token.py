"""Create a user if missing and print an API token for it: one line, the key alone."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from tunix_rt.accounts import user_issue_token
from tunix_rt.commands import domain_errors
from tunix_rt.roles import ROLES


class Command(BaseCommand):
    help = (
        "Print an API token for USERNAME, creating the user when it does not exist. A new user is a "
        "trainer unless --role says otherwise; --role on an existing user changes its role."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument("--role", choices=ROLES, help="viewer, curator, trainer or admin (staff + superuser).")

    def handle(self, *args: Any, username: str, role: str | None = None, **options: Any) -> None:
        with domain_errors():
            key = user_issue_token(username=username, role=role)
        self.stdout.write(key)
