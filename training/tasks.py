"""Task entry points for the background worker (``python manage.py db_worker``).

They fetch by id and call a service; they hold no logic of their own.
"""

from __future__ import annotations

from django_tasks import task


@task()
def train(run_id: str) -> str:
    from training.models import RunKind
    from training.selectors import training_run_get
    from training.services import rl_run_execute, training_run_execute

    run = training_run_get(run_id=run_id)
    execute = training_run_execute if run.kind == RunKind.SFT else rl_run_execute
    return str(execute(run=run).status)


@task()
def evaluate(evaluation_id: str) -> str:
    from training.selectors import evaluation_get
    from training.services import evaluation_execute

    return str(evaluation_execute(evaluation=evaluation_get(evaluation_id=evaluation_id)).status)
