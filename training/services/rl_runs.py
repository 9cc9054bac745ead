"""GRPO and DPO runs: fine-tune a succeeded run's final weights; the only caller of the RL engines.

A GRPO run trains on a dataset's prompts (``prompt_completion`` records plus each trace's
expected answer from ``traces.verifiers.expected``); a DPO run on preference pairs, all of
them, the pairs between one dataset's traces or those between one evaluation's stored
generations (an on-policy round), in the ``dpo`` export format. JAX is
imported only when a run really trains.
"""

from __future__ import annotations

import dataclasses
import json
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from django.db import transaction
from django.db.models import QuerySet

from datasets.selectors import dataset_check_split, dataset_get, dataset_iter_traces
from datasets.services.preferences import preferences_export_lines, preferences_for_export
from traces.models import Preference
from traces.preferences import preference_list, preference_list_of_generations
from traces.verifiers.expected import NoExpectedAnswer, expected_answer
from training import jobs
from training.engine.config import GRPORunConfig
from training.engine.data import DataError
from training.engine.rl_data import check_grpo_config
from training.errors import TrainingConfigInvalid
from training.manifest import git_sha, run_config, run_directory, write_manifest, write_manifest_on_commit
from training.models import EvaluationRun, RunKind, RunStatus, TrainingRun
from training.selectors import training_run_get
from training.services.configs import preset_path, rl_config_load
from training.services.execution import Progress, StepCallback, TrainOutcome, run_execute, run_fail
from training.services.runs import training_records
from tunix_rt.accounts import user_or_none
from tunix_rt.audit import audit_record
from tunix_rt.errors import InvalidInput, NotFound
from tunix_rt.models import AuditAction, AuditObjectType

ALL_PREFERENCES = "all"
EVALUATION_PREFERENCES = "evaluation:"
RL_KINDS = (RunKind.GRPO, RunKind.DPO)


def _parent(run_id: Any) -> TrainingRun:
    try:
        parent = training_run_get(run_id=run_id)
    except NotFound as exc:
        raise InvalidInput(exc.message, field="from_run") from None
    if parent.status != RunStatus.SUCCEEDED or parent.dry_run:
        state = "a dry run" if parent.dry_run else parent.status
        raise InvalidInput(
            f"Training run {parent.run_id} is {state}: GRPO and DPO start from a run that trained and succeeded.",
            field="from_run",
        )
    return parent


def _preferences_source(value: str | None) -> tuple[str, Any]:
    """``all``; a dataset key whose traces the pairs must both belong to (returned with it); or
    ``evaluation:<id>``, the pairs between the generations one evaluation stored."""
    if not value:
        raise InvalidInput("Name the preference pairs: 'all', a dataset key or evaluation:<id>.", field="preferences")
    if value == ALL_PREFERENCES:
        return value, None
    if value.startswith(EVALUATION_PREFERENCES):
        return f"{EVALUATION_PREFERENCES}{_evaluation_id(value)}", None
    try:
        return value, dataset_get(key=value)
    except NotFound as exc:
        raise InvalidInput(exc.message, field="preferences") from None


def _evaluation_id(value: str) -> str:
    given = value.removeprefix(EVALUATION_PREFERENCES)
    try:
        key = uuid.UUID(given)
    except ValueError:
        key = None
    if key is None or not EvaluationRun.objects.filter(pk=key).exists():
        raise InvalidInput(
            f"No evaluation {given!r}: give evaluation:<id> of an evaluation that stored its generations.",
            field="preferences",
        )
    return str(key)


def run_preference_pairs(run: TrainingRun) -> QuerySet[Preference] | None:
    """The pairs a DPO run trains on, or None when they are a dataset's (``run.dataset_key``)."""
    if run.preferences == ALL_PREFERENCES:
        return preference_list()
    if run.preferences.startswith(EVALUATION_PREFERENCES):
        return preference_list_of_generations(evaluation_id=run.preferences.removeprefix(EVALUATION_PREFERENCES))
    return None


def rl_run_create(
    *,
    kind: str,
    from_run: Any,
    config_path: str = "",
    config: dict[str, Any] | None = None,
    dataset_key: str | None = None,
    split: str | None = None,
    preferences: str | None = None,
    dry_run: bool = False,
    actor: Any = None,
) -> TrainingRun:
    """Validates parent, config and data source; records a pending GRPO or DPO run, audited as ``start``,
    in one transaction whose commit writes the run's manifest."""
    if kind not in RL_KINDS:
        raise InvalidInput(f"kind must be one of {', '.join(RL_KINDS)}.", field="kind")
    commit = git_sha()
    with transaction.atomic():
        parent = _parent(from_run)
        parsed = rl_config_load(kind=kind, path=config_path, data=config if config is not None else None)
        if isinstance(parsed, GRPORunConfig):
            try:
                check_grpo_config(parsed)
            except DataError as exc:
                raise TrainingConfigInvalid(str(exc), field="config") from None
        run = TrainingRun(
            kind=kind,
            parent=parent,
            training_config=dataclasses.asdict(parsed),
            config_path=str(Path(config_path).resolve()) if config is None and config_path else "",
            recipe=kind,
            seed=parsed.training.seed,
            git_sha=commit,
            dry_run=dry_run,
            created_by=user_or_none(actor),
        )
        _set_data_source(run, dataset_key=dataset_key, split=split, preferences=preferences)
        run.artifacts_path = str(run_directory(run))
        run.save(force_insert=True)
        audit_record(
            actor=actor, action=AuditAction.START, object_type=AuditObjectType.TRAINING_RUN, object_id=run.run_id
        )
        write_manifest_on_commit(run)
    return run


def _set_data_source(run: TrainingRun, *, dataset_key: str | None, split: str | None, preferences: str | None) -> None:
    """A GRPO run's dataset (and split); a DPO run's preference pairs and, when they are a dataset's, that dataset."""
    if run.kind == RunKind.GRPO:
        if not dataset_key:
            raise InvalidInput("A GRPO run needs a dataset of prompts with expected answers.", field="dataset")
        dataset = dataset_get(key=dataset_key)
        dataset_check_split(dataset=dataset, split=split or None)
        run.dataset_key, run.dataset_build_id, run.split = dataset.key, dataset.build_id, split or ""
    else:
        run.preferences, source = _preferences_source(preferences)
        if source is not None:
            run.dataset_key, run.dataset_build_id = source.key, source.build_id


def _grpo_records(run: TrainingRun) -> list[dict[str, Any]]:
    """``prompt_completion`` records of the run's dataset (or split), each with its trace's expected answer."""
    dataset = dataset_get(key=run.dataset_key)
    answers: dict[str, str] = {}
    for trace in dataset_iter_traces(dataset=dataset, split=run.split or None):
        try:
            answers[str(trace.id)] = expected_answer(prompt=trace.prompt, meta=trace.meta).answer
        except NoExpectedAnswer:
            continue
    records = list(training_records(run=run))
    for record in records:
        if record["id"] in answers:
            record["answer"] = answers[record["id"]]
    return records


def _dpo_records(run: TrainingRun) -> list[dict[str, Any]]:
    chosen = run_preference_pairs(run)
    if chosen is None:
        pairs = preferences_for_export(preferences=preference_list(), dataset_key=run.preferences)
    else:
        pairs = preferences_for_export(preferences=chosen)
    return [json.loads(line) for line in preferences_export_lines(preferences=pairs)]


def rl_records(*, run: TrainingRun) -> list[dict[str, Any]]:
    """What the run trains on: GRPO prompts with answers, or DPO pairs."""
    return _grpo_records(run) if run.kind == RunKind.GRPO else _dpo_records(run)


def rl_run_dry_run(*, run: TrainingRun) -> TrainingRun:
    """Checks the data as far as possible without JAX: GRPO's answers and rewards, DPO's pairs."""
    from training.engine.rl_data import check_grpo_records

    records = rl_records(run=run)
    try:
        if run.kind == RunKind.GRPO:
            config = run_config(run)
            check_grpo_records(records=records, config=config)  # type: ignore[arg-type]
        elif not records:
            raise DataError(f"no preference pairs in {run.preferences!r}")
    except DataError as exc:
        run_fail(run=run, message=str(exc))
        raise InvalidInput(str(exc), field="dataset" if run.kind == RunKind.GRPO else "preferences") from None
    jobs.job_finish(job=run, dry_run=True, record_count=len(records))
    write_manifest(run)
    return run


def _train_rl(run: TrainingRun, on_step: StepCallback) -> TrainOutcome:
    records = rl_records(run=run)
    run.record_count = len(records)
    run.save(update_fields=["record_count"])
    from training.engine.sft import TrainingError

    if run.parent is None:
        raise TrainingError(f"{run.kind} run {run.run_id} has no parent run to start from")
    engine: Callable[..., Any]
    if run.kind == RunKind.GRPO:
        from training.engine.grpo import run_grpo as engine
    else:
        from training.engine.dpo import run_dpo as engine
    result = engine(
        records=records,
        config=run_config(run),
        parent_dir=Path(run.parent.artifacts_path),
        run_dir=Path(run.artifacts_path),
        on_step=on_step,
    )
    last = result.history.get(result.steps, {})
    return TrainOutcome(steps=result.steps, final_loss=last.get("loss"), final_reward=result.final_reward)


def rl_run_execute(*, run: TrainingRun, progress: Progress | None = None) -> TrainingRun:
    """Trains a GRPO or DPO run for real; every failure ends as ``failed`` with the reason."""
    return run_execute(run=run, train=_train_rl, progress=progress)


def rl_run_enqueue(
    *,
    kind: str,
    from_run: Any,
    preset: str | None = None,
    config: dict[str, Any] | None = None,
    dataset_key: str | None = None,
    split: str | None = None,
    preferences: str | None = None,
    actor: Any = None,
) -> TrainingRun:
    """Records a pending GRPO or DPO run and queues it for the worker once the run is committed (with the
    caller's transaction, when there is one)."""
    from training import tasks

    if config is not None and not isinstance(config, dict):
        raise TrainingConfigInvalid("config must be a JSON object.", field="config")
    run = rl_run_create(
        kind=kind,
        from_run=from_run,
        config_path=preset_path(preset or f"{kind}_tiny", kind),
        config=config,
        dataset_key=dataset_key,
        split=split,
        preferences=preferences,
        actor=actor,
    )
    run_id = str(run.run_id)
    transaction.on_commit(lambda: tasks.train.enqueue(run_id=run_id))
    return run
