from __future__ import annotations

import socket
import subprocess
import sys
import time
from datetime import timedelta

import pytest
from django.utils import timezone

from training import jobs
from training.models import RunStatus
from training.tests.factories import EvaluationRunFactory, TrainingRunFactory

pytestmark = pytest.mark.django_db


def dead_pid() -> int:
    process = subprocess.Popen([sys.executable, "-c", "pass"])  # noqa: S603
    process.wait()
    return process.pid


def test_running_job_whose_process_is_gone_is_failed_by_reap(tmp_path: object) -> None:
    run = TrainingRunFactory.create(
        status=RunStatus.RUNNING, worker_pid=dead_pid(), worker_host=socket.gethostname(),
        started_at=timezone.now(), heartbeat_at=timezone.now(), artifacts_path=str(tmp_path),
    )  # fmt: skip
    evaluation = EvaluationRunFactory.create(
        status=RunStatus.RUNNING, worker_pid=dead_pid(), worker_host=socket.gethostname(),
        started_at=timezone.now(), heartbeat_at=timezone.now(),
    )  # fmt: skip
    assert jobs.jobs_reap() == 2
    run.refresh_from_db()
    evaluation.refresh_from_db()
    assert run.status == evaluation.status == RunStatus.FAILED
    assert "stopped before the job finished" in run.error and run.finished_at is not None


def test_live_job_with_fresh_heartbeat_is_left_alone() -> None:
    run = TrainingRunFactory.create(
        status=RunStatus.RUNNING, worker_pid=subprocess.os.getpid(), worker_host=socket.gethostname(),  # type: ignore[attr-defined]
        started_at=timezone.now(), heartbeat_at=timezone.now(),
    )  # fmt: skip
    assert not jobs.job_is_dead(run)
    assert jobs.jobs_reap() == 0


def test_stale_heartbeat_counts_as_dead_on_any_host() -> None:
    run = TrainingRunFactory.create(
        status=RunStatus.RUNNING, worker_pid=1, worker_host="another-machine",
        started_at=timezone.now() - timedelta(hours=1), heartbeat_at=timezone.now() - jobs.STALE_AFTER * 2,
    )  # fmt: skip
    assert jobs.job_is_dead(run)
    assert not jobs.job_is_dead(TrainingRunFactory.create(status=RunStatus.PENDING))


@pytest.mark.django_db(transaction=True)
def test_heartbeat_thread_stamps_the_job() -> None:
    run = TrainingRunFactory.create(status=RunStatus.PENDING)
    jobs.job_claim(run)
    first = run.heartbeat_at
    with jobs.heartbeat(run, every=0.02):
        time.sleep(0.3)
    run.refresh_from_db()
    assert run.heartbeat_at is not None and first is not None and run.heartbeat_at > first
    assert run.worker_host == socket.gethostname()
