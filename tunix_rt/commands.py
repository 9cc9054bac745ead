"""What management commands share: the ``--user`` option, turning domain errors into ``CommandError`` and
field errors into a sentence."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
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


def field_errors_text(errors: Any, label: Callable[[str], str] = str) -> str:
    """Serializer or validation errors as one line, ``field: message; field: message``, for a person to read.

    ``label`` names a field as the operator knows it (an option such as ``--limit``); an empty label
    leaves the message alone.
    """
    if isinstance(errors, Mapping):
        parts = []
        for field, value in errors.items():
            name = label(str(field)) if field != "non_field_errors" else ""
            text = field_errors_text(value, label)
            parts.append(f"{name}: {text}" if name else text)
        return "; ".join(parts)
    if isinstance(errors, list | tuple):
        return " ".join(field_errors_text(error, label) for error in errors)
    return str(errors)
