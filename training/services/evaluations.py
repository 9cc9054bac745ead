"""Evaluation runs: contamination checks, generation with Tunix's Sampler (greedy or sampled), scoring
and aggregates.

Generation imports JAX lazily through ``training.engine.sampling``; everything else needs no training stack.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from django.db import transaction

from datasets.selectors import dataset_get, dataset_iter_traces
from traces.prompts import prompt_key
from traces.verifiers.answers import answers_match, extract_answer, format_ok
from training import jobs
from training.manifest import record_reaped_job, run_config
from training.models import (
    CheckpointChoice,
    EvalItem,
    EvalSet,
    EvaluationResult,
    EvaluationRun,
    RunKind,
    RunStatus,
    StoreTraces,
    TrainingRun,
)
from training.services.eval_traces import evaluation_store_traces
from training.services.execution import training_stack_ready
from training.services.rl_runs import run_preference_pairs
from training.splits import check_not_trained_on
from training.worker import heartbeat
from tunix_rt.accounts import user_or_none
from tunix_rt.audit import audit_record
from tunix_rt.errors import InvalidInput
from tunix_rt.models import AuditAction, AuditObjectType

SHOWN_SHARED = 5
EVALUATION_OPTIONS = ("checkpoint", "store_traces", "samples", "temperature", "seed", "trained_prompts")
SAMPLES_MAX = 16
TEMPERATURE_MAX = 2.0
SEED_MAX = 2**31 - 1
SAMPLED_GENERATIONS_MAX = 20_000


def shared_prompts(*, eval_prompts: Iterable[str], dataset_key: str, split: str | None = None) -> list[str]:
    """Eval prompts that also appear in the dataset, or in one split of it (streamed, so memory holds
    only the eval set)."""
    wanted = {prompt_key(p): p for p in eval_prompts}
    shared: dict[str, str] = {}
    for trace in dataset_iter_traces(dataset=dataset_get(key=dataset_key), split=split):
        key = prompt_key(trace.prompt)
        if key in wanted:
            shared[key] = wanted[key]
    return sorted(shared.values())


MAX_LINEAGE = 50


def run_lineage(run: TrainingRun) -> list[TrainingRun]:
    """The run, its parent, the parent's parent…: every model whose training data the weights saw."""
    chain = [run]
    while chain[-1].parent_id is not None and len(chain) < MAX_LINEAGE:
        chain.append(TrainingRun.objects.get(pk=chain[-1].parent_id))
    return chain


def _check_no_shared_prompts(*, run: TrainingRun, eval_set: EvalSet) -> None:
    """The eval set must share no prompt with the run's dataset (or split), nor, for a DPO run on all
    pairs or one evaluation's, with the pairs' prompts."""
    prompts = eval_set.items.values_list("prompt", flat=True)
    sources: list[tuple[str, list[str]]] = []
    if run.dataset_key:
        shared = shared_prompts(eval_prompts=prompts, dataset_key=run.dataset_key, split=run.split or None)
        sources.append((f"dataset {run.dataset_key!r}", shared))
    trained_pairs = run_preference_pairs(run) if run.kind == RunKind.DPO else None
    if trained_pairs is not None:
        wanted = {prompt_key(p): p for p in prompts}
        pairs = trained_pairs.order_by().values_list("prompt", flat=True).iterator(chunk_size=2000)
        sources.append(("the preference pairs", sorted({wanted[k] for p in pairs if (k := prompt_key(p)) in wanted})))
    for label, shared in sources:
        if shared:
            shown = "; ".join(repr(p) for p in shared[:SHOWN_SHARED])
            more = f" and {len(shared) - SHOWN_SHARED} more" if len(shared) > SHOWN_SHARED else ""
            trained = "" if run.parent_id is None and run.kind == "sft" else f" (run {run.run_id} trained on it)"
            raise InvalidInput(
                f"Contamination: eval set {eval_set.name!r} shares {len(shared)} prompt(s) with {label}{trained}: "
                f"{shown}{more}.",
                field="eval_set",
            )


def _check_sampling(*, samples: int, temperature: float, seed: int) -> None:
    if not 1 <= samples <= SAMPLES_MAX:
        raise InvalidInput(f"samples must be between 1 and {SAMPLES_MAX}.", field="samples")
    if not 0.0 <= temperature <= TEMPERATURE_MAX:
        raise InvalidInput(f"temperature must be between 0 and {TEMPERATURE_MAX:g}.", field="temperature")
    if samples > 1 and temperature == 0.0:
        raise InvalidInput(
            "samples above 1 need a temperature above 0: greedy generation gives one answer per item.",
            field="temperature",
        )
    if not 0 <= seed <= SEED_MAX:
        raise InvalidInput(f"seed must be between 0 and {SEED_MAX}.", field="seed")


def evaluation_create(
    *,
    training_run: TrainingRun,
    eval_set: EvalSet,
    checkpoint: str,
    store_traces: str = StoreTraces.NONE,
    samples: int = 1,
    temperature: float = 0.0,
    seed: int = 0,
    trained_prompts: bool = False,
    actor: Any = None,
) -> EvaluationRun:
    """Refuses a dry or unfinished run, an eval set drawn from the run's training split, and one that
    shares prompts with the data the run, or any run it started from, trained on.

    ``store_traces`` (``none``, ``wrong``, ``all``): which generations become pending ``model`` traces.
    ``samples`` generations of each item at ``temperature`` (0: one greedy generation), drawn from ``seed``.
    ``trained_prompts`` lifts the contamination checks to collect the run's own generations on
    prompts it trained on (the next on-policy round of preference pairs); such an evaluation must
    store its generations, and its accuracy is no held-out measure.
    """
    if checkpoint not in CheckpointChoice.values:
        raise InvalidInput(f"checkpoint must be one of {', '.join(CheckpointChoice.values)}.", field="checkpoint")
    if store_traces not in StoreTraces.values:
        raise InvalidInput(f"store_traces must be one of {', '.join(StoreTraces.values)}.", field="store_traces")
    _check_sampling(samples=samples, temperature=temperature, seed=seed)
    if samples > 1 and eval_set.item_count * samples > SAMPLED_GENERATIONS_MAX:
        raise InvalidInput(
            f"{eval_set.item_count} item(s) × {samples} samples is {eval_set.item_count * samples} generations; "
            f"a sampled evaluation makes at most {SAMPLED_GENERATIONS_MAX}.",
            field="samples",
        )
    if training_run.dry_run or training_run.status != RunStatus.SUCCEEDED:
        raise InvalidInput(
            f"Training run {training_run.run_id} has no trained checkpoints (status {training_run.status}"
            f"{', dry run' if training_run.dry_run else ''}).",
            field="training_run_id",
        )
    if trained_prompts and store_traces == StoreTraces.NONE:
        raise InvalidInput(
            "An evaluation on the run's training prompts only collects its generations: "
            "store them (store_traces wrong or all).",
            field="store_traces",
        )
    if not trained_prompts:
        for ancestor in run_lineage(training_run):
            check_not_trained_on(training_run=ancestor, eval_set=eval_set)
            _check_no_shared_prompts(run=ancestor, eval_set=eval_set)
    evaluation = EvaluationRun.objects.create(
        training_run=training_run,
        eval_set=eval_set,
        checkpoint=checkpoint,
        store_traces=store_traces,
        samples=samples,
        temperature=temperature,
        seed=seed,
        trained_prompts=trained_prompts,
        example_count=eval_set.item_count * samples,
        created_by=user_or_none(actor),
    )
    audit_record(
        actor=actor, action=AuditAction.START, object_type=AuditObjectType.EVALUATION_RUN, object_id=evaluation.id
    )
    return evaluation


def evaluation_enqueue(
    *, training_run: TrainingRun, eval_set: EvalSet, actor: Any = None, **options: Any
) -> EvaluationRun:
    """``evaluation_create`` (``options``: any of ``EVALUATION_OPTIONS``) and a
    worker job, queued when the transaction commits."""
    from training import tasks

    with transaction.atomic():
        evaluation = evaluation_create(training_run=training_run, eval_set=eval_set, actor=actor, **options)
        evaluation_id = str(evaluation.id)
        transaction.on_commit(lambda: tasks.evaluate.enqueue(evaluation_id=evaluation_id))
    return evaluation


@transaction.atomic
def evaluation_cancel(*, evaluation: EvaluationRun, actor: Any = None) -> EvaluationRun:
    """A pending evaluation is cancelled and never starts; a running one stores nothing and stays cancelled.
    ``InvalidInput`` when it had already finished."""
    jobs.job_cancel(job=evaluation)
    audit_record(
        actor=actor, action=AuditAction.CANCEL, object_type=AuditObjectType.EVALUATION_RUN, object_id=evaluation.id
    )
    return evaluation


def score_example(*, generated: str, expected: str) -> dict[str, Any]:
    correct = answers_match(generated, expected)
    return {
        "predicted_answer": extract_answer(generated),
        "correct": correct,
        "format_ok": format_ok(generated),
        "score": 1.0 if correct else 0.0,
    }


def aggregate(results: Sequence[EvaluationResult]) -> tuple[float, float, dict[str, dict[str, float]]]:
    """Exact-match accuracy and format rate overall and per category."""
    groups: dict[str, list[EvaluationResult]] = defaultdict(list)
    for result in results:
        groups[result.category or "uncategorised"].append(result)

    def rates(rows: Sequence[EvaluationResult]) -> tuple[float, float]:
        if not rows:
            return 0.0, 0.0
        return sum(r.correct for r in rows) / len(rows), sum(r.format_ok for r in rows) / len(rows)

    accuracy, format_rate = rates(results)
    per_category = {
        name: {"count": len(rows), "accuracy": rates(rows)[0], "format_rate": rates(rows)[1]}
        for name, rows in sorted(groups.items())
    }
    return accuracy, format_rate, per_category


def evaluation_execute(*, evaluation: EvaluationRun) -> EvaluationRun:
    """Generates with Tunix's Sampler (greedy, or ``samples`` draws per item), scores every generation,
    stores results and aggregates; an evaluation cancelled before its claim never generates, and one
    cancelled while it generates stores nothing and stays cancelled."""
    if not jobs.job_start(job=evaluation, precondition=training_stack_ready, on_reaped=record_reaped_job):
        return evaluation
    run = evaluation.training_run
    items = list(evaluation.eval_set.items.order_by("position"))
    try:
        from training.engine.sampling import generate

        config = run_config(run)
        with heartbeat(evaluation):
            outputs = generate(
                run_dir=Path(run.artifacts_path),
                checkpoint=evaluation.checkpoint,
                prompts=[item.prompt for item in items],
                max_new_tokens=config.eval.max_new_tokens,
                batch_size=config.eval.batch_size,
                samples=evaluation.samples,
                temperature=evaluation.temperature,
                seed=evaluation.seed,
                mesh=config.mesh,
            )
    except Exception as exc:
        jobs.job_fail(job=evaluation, message=f"{exc.__class__.__name__}: {exc}")
        if isinstance(exc, (RuntimeError, ValueError, OSError, MemoryError)):
            return evaluation
        raise
    return _store_results(evaluation=evaluation, items=items, outputs=outputs)


@transaction.atomic
def _store_results(*, evaluation: EvaluationRun, items: Sequence[EvalItem], outputs: Sequence[str]) -> EvaluationRun:
    """One result per generation, in item order with an item's samples together (``metadata.sample``),
    stored only when the evaluation is still running as it finishes (all in one transaction)."""
    samples = evaluation.samples
    drawn = [(item, s) for item in items for s in range(samples)]
    results = [
        EvaluationResult(
            evaluation=evaluation,
            position=n,
            example_id=item.example_id,
            prompt=item.prompt,
            generated_response=output,
            expected_response=item.expected_answer,
            category=item.category,
            metadata={"category": item.category, "difficulty": item.difficulty}
            | ({"sample": s} if samples > 1 else {}),
            **score_example(generated=output, expected=item.expected_answer),
        )
        for n, ((item, s), output) in enumerate(zip(drawn, outputs, strict=True))
    ]
    accuracy, format_rate, per_category = aggregate(results)
    finished = jobs.job_finish(
        job=evaluation,
        accuracy=accuracy,
        format_rate=format_rate,
        per_category=per_category,
        example_count=len(results),
    )
    if not finished:
        return evaluation
    EvaluationResult.objects.bulk_create(results)
    stored = evaluation_store_traces(evaluation=evaluation, results=results, actor=evaluation.created_by)
    EvaluationRun.objects.filter(pk=evaluation.pk).update(stored_trace_count=stored)
    evaluation.stored_trace_count = stored
    return evaluation
