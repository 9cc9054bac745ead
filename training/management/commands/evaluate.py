"""Evaluate a training run's checkpoint on an eval set; the last line is machine-readable."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from training.engine.stack import TrainingStackMissing, ensure_training_stack
from training.models import CheckpointChoice, RunStatus, StoreTraces
from training.selectors import eval_set_get, training_run_get
from training.services import evaluation_create, evaluation_execute
from tunix_rt.commands import add_user_argument, command_user, domain_errors


class Command(BaseCommand):
    help = (
        "Generate from RUN's checkpoint on the eval set (greedily, or --samples draws per item at "
        "--temperature) and score it. "
        "Last line: accuracy=… format_rate=… eval_run=…"
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--run", required=True, help="training run id")
        parser.add_argument("--eval-set", required=True, help="eval set name")
        parser.add_argument("--checkpoint", choices=CheckpointChoice.values, default=CheckpointChoice.FINAL)
        parser.add_argument(
            "--store-traces",
            choices=StoreTraces.values,
            default=StoreTraces.NONE,
            help="store the wrong (or all) generations as pending traces with source 'model', for review",
        )
        parser.add_argument(
            "--samples", type=int, default=1, help="generations per item (1..16; above 1 needs --temperature)"
        )
        parser.add_argument(
            "--temperature", type=float, default=0.0, help="0 generates greedily (the default); above 0 samples"
        )
        parser.add_argument("--seed", type=int, default=0, help="seed of the sampling")
        parser.add_argument(
            "--trained-prompts",
            action="store_true",
            help="allow prompts the run trained on, to collect its own samples for the next round of "
            "preference pairs (needs --store-traces; no held-out measure)",
        )
        add_user_argument(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            ensure_training_stack()
        except TrainingStackMissing as exc:
            raise CommandError(str(exc)) from None
        with domain_errors():
            evaluation = evaluation_create(
                training_run=training_run_get(run_id=options["run"]),
                eval_set=eval_set_get(name=options["eval_set"]),
                checkpoint=options["checkpoint"],
                store_traces=options["store_traces"],
                samples=options["samples"],
                temperature=options["temperature"],
                seed=options["seed"],
                trained_prompts=options["trained_prompts"],
                actor=command_user(options),
            )
            self.stdout.write(
                f"Evaluating {evaluation.example_count} generation(s) with the {evaluation.checkpoint} weights…"
            )
            evaluation = evaluation_execute(evaluation=evaluation)
        if evaluation.status != RunStatus.SUCCEEDED:
            raise CommandError(f"Evaluation {evaluation.id} {evaluation.status}: {evaluation.error}")
        for name, row in evaluation.per_category.items():
            self.stdout.write(
                f"  {name}: accuracy={row['accuracy']:.3f} format_rate={row['format_rate']:.3f} (n={row['count']})"
            )
        if evaluation.stored_trace_count:
            self.stdout.write(f"  stored {evaluation.stored_trace_count} generation(s) as pending model traces")
        self.stdout.write(
            f"accuracy={evaluation.accuracy:.4f} format_rate={evaluation.format_rate:.4f} eval_run={evaluation.id}"
        )
