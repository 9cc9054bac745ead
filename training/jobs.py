"""Background jobs: claiming, heartbeats, and marking jobs whose worker died as failed.

A job is claimed by the worker process that runs it (pid and host recorded). While it
runs, a heartbeat thread stamps ``heartbeat_at`` every few seconds. A job still marked
``running`` whose process is gone (same host) or whose heartbeat stopped is failed by
``jobs_reap``, which the worker runs when it starts, on a timer and before each job it
claims (see ``tunix_rt.maintenance``); requests never do.

This module knows jobs only: what a job needs before it may start (the training stack)
and what else records a failure (a run's manifest) are passed in by the services.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

from django.db import DatabaseError, connection
from django.utils import timezone

from training.models import FINISHED, BackgroundJob, EvaluationRun, RunStatus, TrainingRun
from tunix_rt.errors import DomainError, InvalidInput

logger = logging.getLogger(__name__)
HEARTBEAT_SECONDS = 5.0
STALE_AFTER = timedelta(seconds=60)


def _process_alive(pid: int) -> bool:
    stat = Path(f"/proc/{pid}/stat")
    if stat.exists():
        try:
            state = stat.read_text().rsplit(")", 1)[1].split()[0]
        except (OSError, IndexError):
            return True
        return state not in {"Z", "X"}
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def job_is_dead(job: BackgroundJob) -> bool:
    if job.status != RunStatus.RUNNING:
        return False
    if job.worker_host == socket.gethostname() and job.worker_pid and not _process_alive(job.worker_pid):
        return True
    beat = job.heartbeat_at or job.started_at
    return beat is None or timezone.now() - beat > STALE_AFTER


def job_claim(job: BackgroundJob) -> None:
    now = timezone.now()
    job.status = RunStatus.RUNNING
    job.started_at = now
    job.heartbeat_at = now
    job.worker_pid = os.getpid()
    job.worker_host = socket.gethostname()
    job.save(update_fields=["status", "started_at", "heartbeat_at", "worker_pid", "worker_host"])


def job_fail(job: BackgroundJob, message: str) -> None:
    job.status = RunStatus.FAILED
    job.error = message
    job.finished_at = timezone.now()
    job.save(update_fields=["status", "error", "finished_at"])


def job_cancel(job: BackgroundJob) -> None:
    """A pending job is cancelled at once; a running one stops at its next checkpoint of work."""
    if job.status in FINISHED:
        raise InvalidInput(f"{job} has already finished ({job.status}).", field="status")
    job.status = RunStatus.CANCELLED
    job.finished_at = timezone.now()
    job.save(update_fields=["status", "finished_at"])


def job_start(
    job: BackgroundJob,
    *,
    precondition: Callable[[], None] | None = None,
    on_reaped: Callable[[BackgroundJob], None] | None = None,
) -> bool:
    """Claims a pending job for this process; False when it is no longer pending.

    Dead jobs are reaped first (``on_reaped`` per failed job). When ``precondition`` raises a
    domain error, the job is failed with its message and the error propagates.
    """
    jobs_reap(on_failed=on_reaped)
    job.refresh_from_db()
    if job.status != RunStatus.PENDING:
        return False
    if precondition is not None:
        try:
            precondition()
        except DomainError as exc:
            job_fail(job, exc.message)
            raise
    job_claim(job)
    return True


@contextmanager
def heartbeat(job: BackgroundJob, *, every: float = HEARTBEAT_SECONDS) -> Iterator[None]:
    """Stamps ``heartbeat_at`` from a thread while the body runs (its own DB connection)."""
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


def jobs_reap(*, on_failed: Callable[[BackgroundJob], None] | None = None) -> int:
    """Fails every running job whose worker is gone, then calls ``on_failed`` on each; returns how many."""
    failed = 0
    for model in (TrainingRun, EvaluationRun):
        for job in model.objects.filter(status=RunStatus.RUNNING):
            if job_is_dead(job):
                updated = model.objects.filter(pk=job.pk, status=RunStatus.RUNNING).update(
                    status=RunStatus.FAILED,
                    finished_at=timezone.now(),
                    error=(
                        f"The worker (pid {job.worker_pid} on {job.worker_host or 'unknown host'}) stopped "
                        "before the job finished; restart `python manage.py db_worker` and start the job again."
                    ),
                )
                failed += updated
                if updated and on_failed is not None:
                    on_failed(job)
    return failed
