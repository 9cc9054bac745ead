"""django-tasks' ``db_worker`` plus the project's maintenance, at start and on a timer.

This command shadows django_tasks_db's (``tunix_rt`` comes first in INSTALLED_APPS),
so ``python manage.py db_worker`` is the one worker to run.
"""

from __future__ import annotations

import os
import threading
from argparse import ArgumentParser
from typing import Any

from django.db import connection
from django.utils.autoreload import DJANGO_AUTORELOAD_ENV
from django_tasks_db.management.commands import db_worker

from tunix_rt.maintenance import maintenance_run


def _positive(value: str) -> float:
    return max(db_worker.valid_interval(value), 0.1)


class Command(db_worker.Command):
    help = "Run queued background jobs; fail dead jobs and purge expired records at start and every interval."

    def add_arguments(self, parser: ArgumentParser) -> None:
        super().add_arguments(parser)
        parser.add_argument(
            "--maintenance-interval",
            type=_positive,
            default=30.0,
            help="Seconds between maintenance rounds (dead-job detection and purges); default 30.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        maintenance_interval = float(options.pop("maintenance_interval"))
        # Under --reload the parent only watches files; its child process does the work.
        if options.get("reload") and os.environ.get(DJANGO_AUTORELOAD_ENV) != "true":
            super().handle(*args, **options)
            return
        maintenance_run()
        stop = threading.Event()

        def rounds() -> None:
            try:
                while not stop.wait(maintenance_interval):
                    maintenance_run()
            finally:
                connection.close()

        timer = threading.Thread(target=rounds, name="maintenance", daemon=True)
        timer.start()
        try:
            super().handle(*args, **options)
        finally:
            stop.set()
            timer.join(timeout=maintenance_interval + 5)
