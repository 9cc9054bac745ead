"""Make sure someone can log in to the admin on a fresh install."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from tunix_rt.accounts import admin_ensure

RESET_HINT = ".venv/bin/python manage.py changepassword admin"


class Command(BaseCommand):
    help = "When there is no user at all, create 'admin' with a random password and print it once."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--url",
            default="http://127.0.0.1:8000",
            help="where the server will answer, for the login hint (make run passes its HOST and PORT)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        login = f"{options['url'].rstrip('/')}/admin/"
        password = admin_ensure()
        if password is None:
            self.stdout.write(
                f"Admin login exists; log in at {login}\nForgot the password? Set a new one with: {RESET_HINT}"
            )
        else:
            self.stdout.write(
                self.style.SUCCESS(
                    f"Created admin user 'admin' with password: {password}; log in at {login}\n"
                    f"(shown once; change it in the admin, or set a new one any time with: {RESET_HINT})"
                )
            )
