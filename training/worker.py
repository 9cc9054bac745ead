"""What runs only inside the worker process (``python manage.py db_worker``): a running job's heartbeat.

The heartbeat is the one thread the application starts; web requests never reach this module.
``training.jobs.jobs_reap`` fails a running job whose heartbeat stopped.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.db import DatabaseError, connection
from django.utils import timezone

from training.models import BackgroundJob, RunStatus

logger = logging.getLogger(__name__)
HEARTBEAT_SECONDS = 5.0


@contextmanager
def heartbeat(job: BackgroundJob, *, every: float | None = None) -> Iterator[None]:
    """Stamps ``heartbeat_at`` every ``every`` seconds (``HEARTBEAT_SECONDS``) from a thread while the body
    runs (its own DB connection), only while the job is still running."""
    every = HEARTBEAT_SECONDS if every is None else every
    stop = threading.Event()
    model: Any = type(job)

    def beat() -> None:
        try:
            while not stop.wait(every):
                try:
                    model.objects.filter(pk=job.pk, status=RunStatus.RUNNING).update(heartbeat_at=timezone.now())
                except DatabaseError as exc:  # a busy database delays one beat; the next one retries
                    logger.warning("heartbeat of %s %s skipped: %s", model.__name__, job.pk, exc)
        finally:
            connection.close()

    thread = threading.Thread(target=beat, name=f"heartbeat-{job.pk}", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=every + 5)
