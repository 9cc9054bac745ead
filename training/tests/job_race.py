"""One side of a job-state race, run in its own process by ``test_jobs.py`` (``multiprocessing`` 'spawn').

Each process sets Django up against the committed test database, then for every job waits at a
shared barrier with the other processes and does its one move: run the job as a worker would
(claim, train three steps, finish or fail), fail or finish a running job, or cancel it as the
API does. What each move reported goes back on a queue for the test to check against the rows.
"""

from __future__ import annotations

import os
import random
import time
import traceback
from typing import Any

BARRIER_TIMEOUT = 120


def race_process(role: str, seat: int, env: dict[str, str], job_ids: list[str], barrier: Any, queue: Any) -> None:
    """Plays ``role`` on every job in ``job_ids``; puts ``(seat, role, reports)`` or ``(seat, "error", text)``."""
    try:
        os.environ.update(env)
        os.environ["DJANGO_SETTINGS_MODULE"] = "tunix_rt.settings_test"
        import django

        django.setup()
        reports = _play(role, seat, job_ids, barrier)
    except BaseException:  # the test must see why a side stopped, not wait on the queue
        barrier.abort()
        queue.put((seat, "error", traceback.format_exc()))
        return
    finally:
        from django.db import connections

        connections.close_all()
    queue.put((seat, role, reports))


def _play(role: str, seat: int, job_ids: list[str], barrier: Any) -> list[dict[str, Any]]:
    from training import jobs
    from training.models import TrainingRun
    from training.services import execution, training_run_cancel
    from tunix_rt.errors import InvalidInput

    execution.ensure_training_stack = lambda: None  # the stand-in train needs no JAX
    jitter = random.Random(seat)  # noqa: S311 - spreads who goes first; no secret
    reports: list[dict[str, Any]] = []
    for job_id in job_ids:
        trained: list[int] = []

        def train(run: TrainingRun, on_step: Any, trained: list[int] = trained) -> execution.TrainOutcome:
            from training.engine.sft import TrainingError

            for step in (1, 2, 3):
                trained.append(step)
                time.sleep(jitter.uniform(0, 0.002))
                if role == "execute_failing" and step == 2:
                    raise TrainingError("the stand-in engine failed at step 2")
                on_step(step, {"loss": 1.0 / step})
            return execution.TrainOutcome(steps=3, final_loss=1.0 / 3)

        barrier.wait(timeout=BARRIER_TIMEOUT)
        time.sleep(jitter.uniform(0, 0.06 if role == "cancel" else 0.01))  # a cancel may come before, during or after
        run = TrainingRun.objects.get(pk=job_id)
        report: dict[str, Any] = {"id": job_id}
        if role in ("execute", "execute_failing"):
            execution.run_execute(run=run, train=train)
            report["trained"] = bool(trained)
        elif role == "fail":
            report["won"] = jobs.job_fail(job=run, message="the worker's failure")
        elif role == "finish":
            report["won"] = jobs.job_finish(job=run, steps=3)
        elif role == "cancel":
            try:
                training_run_cancel(run=run)
            except InvalidInput as exc:
                report["acknowledged"], report["refusal"] = False, exc.message
            else:
                report["acknowledged"] = True
        else:
            raise ValueError(f"unknown role {role!r}")
        report["status"] = run.status
        reports.append(report)
    return reports
