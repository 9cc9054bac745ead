from __future__ import annotations

import json
import multiprocessing
import os
import socket
import subprocess
import sys
import types
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from django.conf import settings
from django.db import connection
from django.utils import timezone

from training import jobs
from training.models import EvaluationResult, EvaluationRun, RunStatus, TrainingRun
from training.services import training_run_cancel
from training.services.execution import TrainOutcome, run_execute
from training.tests import job_race
from training.tests.factories import EvalItemFactory, EvaluationRunFactory, TrainingRunFactory
from tunix_rt.errors import InvalidInput

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


# Which states each transition may leave, written out: every other start leaves the job as it was.
ALLOWED_FROM = {
    "claim": {"pending"},
    "cancel": {"pending", "running"},
    "finish": {"running"},
    "finish a dry run": {"pending"},
    "fail": {"pending", "running"},
    "reap": {"running"},
}
TARGET = {
    "claim": "running",
    "cancel": "cancelled",
    "finish": "succeeded",
    "finish a dry run": "succeeded",
    "fail": "failed",
    "reap": "failed",
}


def test_the_transition_table_is_the_one_written_out() -> None:
    assert {t.name: set(t.sources) for t in jobs.TRANSITIONS} == ALLOWED_FROM
    assert {t.name: t.target for t in jobs.TRANSITIONS} == TARGET


def _move(name: str, job: Any) -> bool:
    """Makes ``name`` through the public function that callers use; True when it won."""
    if name == "claim":
        return jobs.job_claim(job=job)
    if name == "cancel":
        try:
            jobs.job_cancel(job=job)
        except InvalidInput as exc:
            assert exc.message.endswith(f"has already finished ({job.status}).")
            return False
        return True
    if name == "finish":
        return jobs.job_finish(job=job)
    if name == "finish a dry run":
        return jobs.job_finish(job=job, dry_run=True)
    if name == "fail":
        return jobs.job_fail(job=job, message="it broke")
    return jobs.job_reap(job=job, message="reaped")


@pytest.mark.parametrize("factory", [TrainingRunFactory, EvaluationRunFactory], ids=["run", "evaluation"])
@pytest.mark.parametrize("name", list(ALLOWED_FROM))
@pytest.mark.parametrize("start", list(RunStatus.values))
def test_each_transition_from_each_state(factory: Any, name: str, start: str) -> None:
    job = factory.create(status=start, error="before", finished_at=None)
    stale = type(job).objects.get(pk=job.pk)
    stale.status = RunStatus.PENDING if start != RunStatus.PENDING else RunStatus.RUNNING  # what a stale copy says
    won = _move(name, stale)
    stored = type(job).objects.get(pk=job.pk)
    assert won == (start in ALLOWED_FROM[name])
    assert stored.status == (TARGET[name] if won else start)
    assert stale.status == stored.status and stale.error == stored.error  # reloaded, won or lost
    if not won:
        assert stored.error == "before" and stored.finished_at is None and stored.started_at is None
    elif name == "claim":
        assert stored.worker_pid == os.getpid() and stored.started_at is not None and stored.finished_at is None
    else:
        assert stored.finished_at is not None


def test_a_claim_that_loses_leaves_the_run_untrained(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("training.services.execution.ensure_training_stack", lambda: None)
    run = TrainingRunFactory.create(status=RunStatus.PENDING, artifacts_path=str(tmp_path))
    TrainingRun.objects.filter(pk=run.pk).update(status=RunStatus.CANCELLED)  # after the worker fetched it
    calls: list[TrainingRun] = []

    def train(run: TrainingRun, on_step: Any) -> TrainOutcome:
        calls.append(run)
        return TrainOutcome(steps=0, final_loss=None)

    returned = run_execute(run=run, train=train)
    assert calls == [] and returned.status == RunStatus.CANCELLED and returned.started_at is None
    assert not (tmp_path / "metrics.jsonl").exists()


@pytest.mark.parametrize("failure", ["training error", "unexpected error", "finishes"])
def test_a_run_cancelled_after_its_last_step_stays_cancelled(
    failure: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from training.engine.sft import TrainingError

    monkeypatch.setattr("training.services.execution.ensure_training_stack", lambda: None)
    run = TrainingRunFactory.create(status=RunStatus.PENDING, artifacts_path=str(tmp_path))

    def train(run: TrainingRun, on_step: Any) -> TrainOutcome:
        on_step(1, {"loss": 2.0})
        training_run_cancel(run=TrainingRun.objects.get(pk=run.pk))
        if failure == "training error":
            raise TrainingError("out of memory")
        if failure == "unexpected error":
            raise KeyError("surprise")
        return TrainOutcome(steps=1, final_loss=2.0)

    if failure == "unexpected error":
        with pytest.raises(KeyError):
            run_execute(run=run, train=train)
    else:
        assert run_execute(run=run, train=train).status == RunStatus.CANCELLED
    stored = TrainingRun.objects.get(pk=run.pk)
    assert stored.status == RunStatus.CANCELLED and stored.error == "" and stored.steps == 1
    assert json.loads((tmp_path / "run_manifest.json").read_text())["status"] == "cancelled"


def test_a_run_reaped_while_it_trains_stops_at_its_next_step(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("training.services.execution.ensure_training_stack", lambda: None)
    run = TrainingRunFactory.create(status=RunStatus.PENDING, artifacts_path=str(tmp_path))
    steps: list[int] = []

    def train(run: TrainingRun, on_step: Any) -> TrainOutcome:
        for step in (1, 2, 3):
            steps.append(step)
            if step == 2:
                assert jobs.job_reap(job=TrainingRun.objects.get(pk=run.pk), message="the worker stopped")
            on_step(step, {"loss": 1.0})
        return TrainOutcome(steps=3, final_loss=1.0)

    returned = run_execute(run=run, train=train)
    assert steps == [1, 2] and returned.status == RunStatus.FAILED and returned.error == "the worker stopped"
    assert json.loads((tmp_path / "run_manifest.json").read_text())["status"] == "failed"


def test_cancel_of_a_run_that_finished_meanwhile_is_refused() -> None:
    run = TrainingRunFactory.create(status=RunStatus.RUNNING)
    TrainingRun.objects.filter(pk=run.pk).update(status=RunStatus.SUCCEEDED)  # the worker, after the fetch
    with pytest.raises(InvalidInput, match=r"has already finished \(succeeded\)"):
        training_run_cancel(run=run)
    assert run.status == RunStatus.SUCCEEDED
    assert TrainingRun.objects.get(pk=run.pk).status == RunStatus.SUCCEEDED


def test_an_evaluation_cancelled_while_it_generates_stores_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    from training.services import evaluation_cancel, evaluation_execute

    evaluation = EvaluationRunFactory.create(status=RunStatus.PENDING)
    EvalItemFactory.create(eval_set=evaluation.eval_set)
    sampling = types.ModuleType("training.engine.sampling")

    def generate(*, prompts: list[str], **kw: Any) -> list[str]:
        evaluation_cancel(evaluation=EvaluationRun.objects.get(pk=evaluation.pk))
        return ["<answer>1</answer>"] * len(prompts)

    sampling.generate = generate  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "training.engine.sampling", sampling)
    monkeypatch.setattr("training.services.execution.ensure_training_stack", lambda: None)
    monkeypatch.setattr("training.services.evaluations.run_config", lambda run: types.SimpleNamespace(
        eval=types.SimpleNamespace(max_new_tokens=8, batch_size=1), mesh=None))  # fmt: skip
    returned = evaluation_execute(evaluation=evaluation)
    assert returned.status == RunStatus.CANCELLED and returned.accuracy is None
    assert not EvaluationResult.objects.filter(evaluation=evaluation).exists()


requires_shared_database = pytest.mark.skipif(
    settings.DATABASES["default"]["ENGINE"] != "tunix_rt.db.postgresql",
    reason="two processes need one committed database; the SQLite test database lives in memory (CI runs PostgreSQL)",
)
ROUNDS = 50


def _database_url() -> str:
    db = connection.settings_dict
    password = f":{quote(db['PASSWORD'])}" if db.get("PASSWORD") else ""
    host = f"{db.get('HOST') or 'localhost'}:{db.get('PORT') or 5432}"
    return f"postgres://{quote(db['USER'])}{password}@{host}/{quote(db['NAME'])}"


def _race(roles: list[str], job_ids: list[str]) -> list[tuple[str, list[dict[str, Any]]]]:
    """Runs one process per role, in step on every job; returns each seat's role and reports."""
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(len(roles))
    queue = context.Queue()
    env = {"DATABASE_URL": _database_url(), "ARTIFACTS_DIR": str(settings.ARTIFACTS_DIR)}
    processes = [
        context.Process(target=job_race.race_process, args=(role, seat, env, job_ids, barrier, queue))
        for seat, role in enumerate(roles)
    ]
    for process in processes:
        process.start()
    try:
        done = dict((seat, (role, reports)) for seat, role, reports in (queue.get(timeout=300) for _ in roles))
    finally:
        for process in processes:
            process.join(timeout=30)
    errors = [reports for role, reports in done.values() if role == "error"]
    assert not errors, errors[0]
    return [done[seat] for seat in range(len(roles))]


def _pending_runs(tmp_path: Path) -> list[str]:
    runs = [TrainingRunFactory.create(status=RunStatus.PENDING) for _ in range(ROUNDS)]
    for run in runs:
        run.artifacts_path = str(tmp_path / str(run.run_id))
        Path(run.artifacts_path).mkdir()
        run.save(update_fields=["artifacts_path"])
    return [str(run.run_id) for run in runs]


@requires_shared_database
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("worker", ["execute", "execute_failing"])
def test_cancel_at_pickup_racing_two_workers(worker: str, tmp_path: Path) -> None:
    job_ids = _pending_runs(tmp_path)
    (_, first), (_, second), (_, cancels) = _race([worker, worker, "cancel"], job_ids)
    outcome = "succeeded" if worker == "execute" else "failed"
    for n, job_id in enumerate(job_ids):
        run = TrainingRun.objects.get(pk=job_id)
        cancel, trained = cancels[n], [first[n]["trained"], second[n]["trained"]]
        assert trained.count(True) <= 1, (job_id, "two workers ran one job")
        assert run.status in ("cancelled", outcome), (job_id, run.status)
        if cancel["acknowledged"]:
            assert run.status == "cancelled" and cancel["status"] == "cancelled", (job_id, run.status)
            if run.started_at is None:
                assert trained == [False, False], (job_id, "a run cancelled before its claim was trained")
        else:
            assert cancel["refusal"].endswith(f"has already finished ({outcome}).") and run.status == outcome
        if run.status == outcome:
            assert trained.count(True) == 1 and not cancel["acknowledged"]
        manifest = json.loads((Path(run.artifacts_path) / "run_manifest.json").read_text())
        assert manifest["status"] == run.status, (job_id, manifest["status"], run.status)


@requires_shared_database
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("end", ["fail", "finish"])
def test_ending_a_running_job_races_cancel_and_exactly_one_wins(end: str, tmp_path: Path) -> None:
    job_ids = _pending_runs(tmp_path)
    TrainingRun.objects.filter(pk__in=job_ids).update(status=RunStatus.RUNNING, started_at=timezone.now())
    (_, ends), (_, cancels) = _race([end, "cancel"], job_ids)
    target = "failed" if end == "fail" else "succeeded"
    for n, job_id in enumerate(job_ids):
        run = TrainingRun.objects.get(pk=job_id)
        assert ends[n]["won"] != cancels[n]["acknowledged"], (job_id, ends[n], cancels[n])
        assert run.status == (target if ends[n]["won"] else "cancelled"), (job_id, run.status)
        assert ends[n]["status"] == cancels[n]["status"] == run.status
        assert run.error == ("the worker's failure" if run.status == "failed" else "")
