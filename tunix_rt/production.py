"""What the production server (`make serve`, gunicorn with ``gunicorn.conf.py``) refuses to start with.

It reads the environment, never the development ``.env`` that `make run` writes, and stops
before migrating or serving while DEBUG is on or SECRET_KEY is one that Django's deploy check
(``security.W009``) calls weak: shorter than 50 characters, fewer than 5 distinct ones, or
Django's ``django-insecure-`` prefix. ``python -m tunix_rt.production`` runs the same check.
"""

from __future__ import annotations

import os
import sys

from django.core.checks.security.base import (
    SECRET_KEY_INSECURE_PREFIX,
    SECRET_KEY_MIN_LENGTH,
    SECRET_KEY_MIN_UNIQUE_CHARACTERS,
)
from django.core.exceptions import ImproperlyConfigured

from tunix_rt.env import env_bool, env_str, load_env_file

NEW_KEY = "export SECRET_KEY=\"$(python3 -c 'import secrets; print(secrets.token_urlsafe(50))')\""


def production_env_load() -> None:
    """Reads an env file only when TUNIX_RT_ENV_FILE names one, and makes the Django settings that
    the workers import later do the same: the `.env` of `make run` (DEBUG=1) never reaches them."""
    os.environ.setdefault("TUNIX_RT_ENV_FILE", "")
    load_env_file(default=None)


def production_problems() -> list[str]:
    """What the environment must change before the production server may start; empty when nothing."""
    problems = []
    try:
        debug = env_bool("DEBUG", False)
    except ImproperlyConfigured as exc:
        problems.append(str(exc))
        debug = False
    if debug:
        problems.append(
            "DEBUG is on: unset DEBUG or set DEBUG=0 (`make run` is the development server;"
            " `make serve` reads no .env)."
        )
    key = env_str("SECRET_KEY") or ""
    if not key:
        problems.append(f"SECRET_KEY is not set (`make serve` reads no .env): {NEW_KEY}")
    elif (
        len(key) < SECRET_KEY_MIN_LENGTH
        or len(set(key)) < SECRET_KEY_MIN_UNIQUE_CHARACTERS
        or key.startswith(SECRET_KEY_INSECURE_PREFIX)
    ):
        problems.append(
            f"SECRET_KEY is weak (length {len(key)}, {len(set(key))} distinct characters): set it to"
            f" {SECRET_KEY_MIN_LENGTH}+ random characters, e.g. {NEW_KEY}"
        )
    return problems


def production_check() -> None:
    """Returns when the production server may start; otherwise says what to set on stderr and
    exits with status 2, before anything is migrated or served."""
    problems = production_problems()
    if problems:
        lines = [f"  - {problem}" for problem in problems]
        print("make serve runs production settings and will not start:", *lines, sep="\n", file=sys.stderr)
        raise SystemExit(2)


if __name__ == "__main__":
    production_env_load()
    production_check()
