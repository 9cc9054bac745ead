"""``python manage.py db_worker``: maintenance at start and on a timer, and each queued job run once."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import connection
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from training.models import RunStatus, TrainingRun
from training.tests.factories import TrainingRunFactory
from training.tests.test_jobs import dead_pid
from tunix_rt.maintenance import maintenance_run, maintenance_tasks
from tunix_rt.tests.worker_tasks import record_run

pytestmark = pytest.mark.django_db(transaction=True)
POSTGRES_ONLY = "worker processes need a database they can share; the SQLite test database lives in this process"


def dead_running_run(tmp_path: Path) -> TrainingRun:
    run: TrainingRun = TrainingRunFactory.create(
        status=RunStatus.RUNNING, worker_pid=dead_pid(), worker_host=socket.gethostname(),
        started_at=timezone.now(), heartbeat_at=timezone.now(), artifacts_path=str(tmp_path),
    )  # fmt: skip
    return run


def worker_env() -> dict[str, str]:
    db = connection.settings_dict
    url = f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    return {
        **os.environ,
        "DATABASE_URL": url,
        "DJANGO_SETTINGS_MODULE": "tunix_rt.settings_test",
        "TUNIX_RT_ENV_FILE": "",
        "ARTIFACTS_DIR": str(settings.ARTIFACTS_DIR),
    }


def start_worker(*args: str) -> subprocess.Popen[str]:
    command = [sys.executable, "manage.py", "db_worker", "--no-reload", "--no-startup-delay", "--interval", "0.05"]
    return subprocess.Popen(  # noqa: S603 - fixed argv
        [*command, *args], cwd=settings.BASE_DIR, env=worker_env(), stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip


def test_training_registers_dead_job_detection_as_maintenance(tmp_path: Path) -> None:
    assert "training.jobs_reap" in maintenance_tasks()
    run = dead_running_run(tmp_path)
    assert maintenance_run()["training.jobs_reap"] == 1
    run.refresh_from_db()
    assert run.status == RunStatus.FAILED


def test_worker_fails_dead_jobs_when_it_starts(tmp_path: Path) -> None:
    run = dead_running_run(tmp_path)
    call_command("db_worker", "--batch", "--no-reload", "--no-startup-delay", "--maintenance-interval", "60")
    run.refresh_from_db()
    assert run.status == RunStatus.FAILED
    assert "stopped before the job finished" in run.error
    assert (tmp_path / "run_manifest.json").read_text().count('"status": "failed"') == 1


def test_requests_do_not_detect_dead_jobs(tmp_path: Path, api_client: Any) -> None:
    run = dead_running_run(tmp_path)
    assert api_client.get("/api/training/runs").json()["data"][0]["status"] == "running"
    assert api_client.get(f"/api/training/runs/{run.run_id}").json()["status"] == "running"
    run.refresh_from_db()
    assert run.status == RunStatus.RUNNING


def test_worker_detects_dead_jobs_on_a_timer(tmp_path: Path) -> None:
    if connection.vendor != "postgresql":
        pytest.skip(POSTGRES_ONLY)
    worker = start_worker("--maintenance-interval", "0.2")
    try:
        assert worker.stdout is not None
        assert "Starting worker" in worker.stdout.readline()
        run = dead_running_run(tmp_path)
        for _ in range(200):
            run.refresh_from_db()
            if run.status != RunStatus.RUNNING:
                break
            time.sleep(0.05)
        assert run.status == RunStatus.FAILED
    finally:
        worker.send_signal(signal.SIGTERM)
        worker.communicate(timeout=30)


def test_two_workers_run_each_queued_job_exactly_once(tmp_path: Path) -> None:
    if connection.vendor != "postgresql":
        pytest.skip(POSTGRES_ONLY)
    log = tmp_path / "runs.log"
    results = [record_run.enqueue(path=str(log), label=f"job-{n}") for n in range(4)]
    workers = [start_worker("--batch", "--worker-id", f"worker-{n}") for n in range(2)]
    outputs = [worker.communicate(timeout=120)[0] for worker in workers]
    assert [worker.returncode for worker in workers] == [0, 0], outputs
    lines = log.read_text().splitlines()
    assert sorted(line.split()[0] for line in lines) == ["job-0", "job-1", "job-2", "job-3"]
    assert {int(line.split()[1]) for line in lines} <= {worker.pid for worker in workers}
    rows = DBTaskResult.objects.filter(id__in=[r.id for r in results])
    assert sorted(row.status for row in rows) == ["SUCCESSFUL"] * 4
    assert all(len(row.worker_ids) == 1 for row in rows)
