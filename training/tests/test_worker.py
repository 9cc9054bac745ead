from __future__ import annotations

import socket
import time

import pytest

from training import jobs
from training.models import RunStatus
from training.tests.factories import TrainingRunFactory
from training.worker import heartbeat


@pytest.mark.django_db(transaction=True)
def test_heartbeat_thread_stamps_the_job() -> None:
    run = TrainingRunFactory.create(status=RunStatus.PENDING)
    assert jobs.job_claim(job=run)
    first = run.heartbeat_at
    with heartbeat(run, every=0.02):
        time.sleep(0.3)
    run.refresh_from_db()
    assert run.heartbeat_at is not None and first is not None and run.heartbeat_at > first
    assert run.worker_host == socket.gethostname()


@pytest.mark.django_db(transaction=True)
def test_heartbeat_leaves_a_job_that_is_no_longer_running() -> None:
    run = TrainingRunFactory.create(status=RunStatus.PENDING)
    assert jobs.job_claim(job=run)
    jobs.job_cancel(job=run)
    stamped = run.heartbeat_at
    with heartbeat(run, every=0.02):
        time.sleep(0.2)
    run.refresh_from_db()
    assert run.status == RunStatus.CANCELLED and run.heartbeat_at == stamped
