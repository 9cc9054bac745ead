"""Supervised fine-tuning with Tunix on a dataset's prompt_completion export."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from training.engine.stack import TrainingStackMissing, ensure_training_stack
from training.models import RunStatus, TrainingRun
from training.services import training_run_create, training_run_dry_run, training_run_execute
from tunix_rt.commands import add_user_argument, command_user, domain_errors


def summary_line(run: TrainingRun) -> str:
    """The last line; a run that computed no loss (a dry run) prints none rather than ``nan``."""
    line = f"run={run.run_id} status={run.status} steps={run.steps}"
    return line if run.final_loss is None else f"{line} final_loss={run.final_loss}"


class Command(BaseCommand):
    help = (
        "Train with Tunix's PeftTrainer on dataset KEY using a YAML config. --dry-run checks config and "
        "dataset and writes the run manifest without importing JAX. The last line is "
        "'run=<id> status=<status> steps=<n> final_loss=<float>' (no final_loss on a dry run)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--dataset", required=True, help="dataset key, e.g. arith-1.0")
        parser.add_argument("--config", required=True, help="YAML config, e.g. training/configs/sft_tiny.yaml")
        parser.add_argument("--split", help="train on this split of the dataset only (e.g. train)")
        parser.add_argument("--dry-run", action="store_true", help="check everything, train nothing")
        add_user_argument(parser)

    def _progress(self, step: int, metrics: dict[str, float]) -> None:
        loss = metrics.get("loss")
        self.stdout.write(f"  step {step}: loss {loss if loss is not None else 'n/a'}")
        self.stdout.flush()

    def handle(self, *args: Any, **options: Any) -> None:
        if not options["dry_run"]:
            try:
                ensure_training_stack()
            except TrainingStackMissing as exc:
                raise CommandError(str(exc)) from None
        with domain_errors():
            run = training_run_create(
                dataset_key=options["dataset"],
                config_path=options["config"],
                dry_run=options["dry_run"],
                split=options["split"],
                actor=command_user(options),
            )
            self.stdout.write(f"Run directory: {run.artifacts_path}")
            if options["dry_run"]:
                run = training_run_dry_run(run=run)
                self.stdout.write(
                    f"Dry run OK: config valid ({run.recipe}), dataset {run.dataset_key} exports "
                    f"{run.record_count} record(s); manifest written. JAX was not imported."
                )
            else:
                self.stdout.write(f"Training {run.recipe} on {run.dataset_key} (seed {run.seed})…")
                run = training_run_execute(run=run, progress=self._progress)
        self.stdout.write(summary_line(run))
        if run.status != RunStatus.SUCCEEDED:
            raise CommandError(f"Training {run.status}: {run.error}")
