"""Periodic upkeep (failing dead jobs, purging expired records) that the worker runs, never a request.

Apps register a task from their ``AppConfig.ready()``; ``python manage.py db_worker``
runs every registered task when it starts and then on a timer.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.db import DatabaseError

logger = logging.getLogger(__name__)
_TASKS: dict[str, Callable[[], int]] = {}


def maintenance_register(*, name: str, task: Callable[[], int]) -> None:
    """Adds ``task`` (returns how many rows it changed) under ``name``; registering a name again replaces it."""
    _TASKS[name] = task


def maintenance_tasks() -> dict[str, Callable[[], int]]:
    return dict(_TASKS)


def maintenance_run() -> dict[str, int]:
    """Runs every task once; a database error skips that task until the next round instead of stopping the worker."""
    done: dict[str, int] = {}
    for name, task in sorted(_TASKS.items()):
        try:
            done[name] = task()
        except DatabaseError as exc:
            logger.warning("maintenance task %s skipped: %s", name, exc)
            continue
        if done[name]:
            logger.info("maintenance task %s changed %d row(s)", name, done[name])
    return done
