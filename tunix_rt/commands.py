"""What management commands share: the ``--user`` option and turning domain errors into ``CommandError``."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from django.core.management.base import CommandError, CommandParser

from tunix_rt.accounts import user_by_username
from tunix_rt.errors import DomainError


def add_user_argument(parser: CommandParser) -> None:
    parser.add_argument(
        "--user",
        metavar="USERNAME",
        help="Record this user as the one who made the objects (created_by and the audit trail).",
    )


def command_user(options: Mapping[str, Any]) -> Any:
    """The ``--user`` named in ``options``, or None when it was not given."""
    name = options.get("user")
    if not name:
        return None
    with domain_errors():
        return user_by_username(name)


@contextmanager
def domain_errors() -> Iterator[None]:
    """Reports a domain error as the operator mistake it is, with the service's message."""
    try:
        yield
    except DomainError as exc:
        raise CommandError(exc.message) from None
