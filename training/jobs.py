"""Background jobs: their state transitions, heartbeats, and marking jobs whose worker died as failed.

Every change of a job's status is one conditional ``UPDATE`` naming the states it may leave
(``TRANSITIONS``): claim pending → running, cancel pending/running → cancelled, finish running →
succeeded, fail pending/running → failed, reap running → failed. Of two processes racing on one
job exactly one wins and the other learns it lost, so a cancelled job never starts and never ends
as anything but cancelled, and a cancel that comes after the end is refused.

A job is claimed by the worker process that runs it (pid and host recorded). While it
runs, a heartbeat thread (``training.worker``) stamps ``heartbeat_at`` every few seconds. A job still marked
``running`` whose process is gone (same host) or whose heartbeat stopped is failed by
``jobs_reap``, which the worker runs when it starts, on a timer and before each job it
claims (see ``tunix_rt.maintenance``); requests never do.

This module knows jobs only: what a job needs before it may start (the training stack)
and what else records a failure (a run's manifest) are passed in by the services.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any, NamedTuple

from django.utils import timezone

from training.models import BackgroundJob, EvaluationRun, RunStatus, TrainingRun
from tunix_rt.errors import DomainError, InvalidInput, NotFound

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


class Transition(NamedTuple):
    """A move of a job's status: allowed only from ``sources``, to ``target``."""

    name: str
    sources: tuple[RunStatus, ...]
    target: RunStatus


CLAIM = Transition("claim", (RunStatus.PENDING,), RunStatus.RUNNING)
CANCEL = Transition("cancel", (RunStatus.PENDING, RunStatus.RUNNING), RunStatus.CANCELLED)
FINISH = Transition("finish", (RunStatus.RUNNING,), RunStatus.SUCCEEDED)
# A dry run is checked in the process that created it and never runs, so it succeeds straight from pending.
FINISH_DRY_RUN = Transition("finish a dry run", (RunStatus.PENDING,), RunStatus.SUCCEEDED)
FAIL = Transition("fail", (RunStatus.PENDING, RunStatus.RUNNING), RunStatus.FAILED)
REAP = Transition("reap", (RunStatus.RUNNING,), RunStatus.FAILED)
TRANSITIONS = (CLAIM, CANCEL, FINISH, FINISH_DRY_RUN, FAIL, REAP)
JOB_FIELDS = ("status", "started_at", "finished_at", "error", "worker_pid", "worker_host", "heartbeat_at")


def job_transition(*, job: BackgroundJob, transition: Transition, **values: Any) -> bool:
    """Moves ``job`` to ``transition.target`` in one ``UPDATE … WHERE status IN (sources)``; True when it won.

    Whoever loses a race changes nothing. ``job`` is then reloaded with what is stored (its job
    fields and ``values``), whether this call won or not.
    """
    model: Any = type(job)
    updated = model._default_manager.filter(pk=job.pk, status__in=transition.sources).update(
        status=transition.target, **values
    )
    try:
        job.refresh_from_db(fields=list(dict.fromkeys([*JOB_FIELDS, *values])))
    except model.DoesNotExist:
        raise NotFound(f"{model.__name__} {job.pk} no longer exists.") from None
    return bool(updated)


def job_claim(*, job: BackgroundJob) -> bool:
    """pending → running for this process (pid, host, first heartbeat); False when it is no longer pending,
    in which case the job must not run."""
    now = timezone.now()
    return job_transition(
        job=job,
        transition=CLAIM,
        started_at=now,
        heartbeat_at=now,
        worker_pid=os.getpid(),
        worker_host=socket.gethostname(),
    )


def job_fail(*, job: BackgroundJob, message: str) -> bool:
    """pending or running → failed with ``message``; False, and nothing written, when the job had already
    ended (a cancelled job stays cancelled)."""
    return job_transition(job=job, transition=FAIL, error=message, finished_at=timezone.now())


def job_finish(*, job: BackgroundJob, dry_run: bool = False, **values: Any) -> bool:
    """running (a dry run: pending) → succeeded, storing ``values`` with it; False, and nothing written,
    when the job is no longer running (a cancelled job stays cancelled)."""
    return job_transition(
        job=job, transition=FINISH_DRY_RUN if dry_run else FINISH, finished_at=timezone.now(), **values
    )


def job_reap(*, job: BackgroundJob, message: str) -> bool:
    """running → failed with ``message``, for a job whose worker died; False when it had ended meanwhile."""
    return job_transition(job=job, transition=REAP, error=message, finished_at=timezone.now())


def job_cancel(*, job: BackgroundJob) -> None:
    """pending or running → cancelled: a pending job never starts, a running one stops at its next checkpoint
    of work and stays cancelled. ``InvalidInput`` when the job had already finished."""
    if not job_transition(job=job, transition=CANCEL, finished_at=timezone.now()):
        raise InvalidInput(f"{job} has already finished ({job.status}).", field="status")


def job_start(
    *,
    job: BackgroundJob,
    precondition: Callable[[], None] | None = None,
    on_reaped: Callable[[BackgroundJob], None] | None = None,
) -> bool:
    """Claims a pending job for this process; False when it is no longer pending (cancelled, or another
    worker claimed it), and then the caller must not run it.

    Dead jobs are reaped first (``on_reaped`` per failed job). When ``precondition`` raises a
    domain error, the job is failed with its message (unless it was cancelled) and the error propagates.
    """
    jobs_reap(on_failed=on_reaped)
    job.refresh_from_db(fields=list(JOB_FIELDS))
    if job.status != RunStatus.PENDING:
        return False
    if precondition is not None:
        try:
            precondition()
        except DomainError as exc:
            job_fail(job=job, message=exc.message)
            raise
    return job_claim(job=job)


def jobs_reap(*, on_failed: Callable[[BackgroundJob], None] | None = None) -> int:
    """Fails every running job whose worker is gone, then calls ``on_failed`` on each; returns how many.

    A job that ended meanwhile (finished, cancelled) is left as it is.
    """
    failed = 0
    for model in (TrainingRun, EvaluationRun):
        for job in model.objects.filter(status=RunStatus.RUNNING):
            if job_is_dead(job):
                message = (
                    f"The worker (pid {job.worker_pid} on {job.worker_host or 'unknown host'}) stopped "
                    "before the job finished; restart `python manage.py db_worker` and start the job again."
                )
                if job_reap(job=job, message=message):
                    failed += 1
                    if on_failed is not None:
                        on_failed(job)
    return failed
