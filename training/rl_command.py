"""What ``train_grpo`` and ``train_dpo`` share: checks, the dry run, progress and the last line."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from training.engine.stack import TrainingStackMissing, ensure_training_stack
from training.models import RunStatus, TrainingRun
from training.services import rl_run_create, rl_run_dry_run, rl_run_execute
from tunix_rt.commands import add_user_argument, command_user, domain_errors


def rl_summary_line(run: TrainingRun) -> str:
    """``run=<id> status=<status> steps=<n> final_reward=<float>``; a dry run has no reward to print."""
    line = f"run={run.run_id} status={run.status} steps={run.steps}"
    return line if run.final_reward is None else f"{line} final_reward={run.final_reward}"


class RLCommand(BaseCommand):
    kind = ""

    def add_common_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--from-run", required=True, help="the succeeded run whose final weights to start from")
        parser.add_argument("--config", required=True, help=f"YAML config, e.g. training/configs/{self.kind}_tiny.yaml")
        parser.add_argument("--dry-run", action="store_true", help="check everything, train nothing (no JAX)")
        add_user_argument(parser)

    # What a progress line shows of a step, in this order, when the step logged it.
    shown = ("reward", "sampled_correct", "kl", "completion_length", "margin", "preference_accuracy", "loss")

    def _progress(self, step: int, metrics: dict[str, float]) -> None:
        parts = [f"{name} {metrics[name]:.4g}" for name in self.shown if name in metrics]
        self.stdout.write(f"  step {step}: {', '.join(parts) or 'no metrics'}")
        self.stdout.flush()

    def run_command(self, options: dict[str, Any], **source: Any) -> None:
        if not options["dry_run"]:
            try:
                ensure_training_stack()
            except TrainingStackMissing as exc:
                raise CommandError(str(exc)) from None
        with domain_errors():
            run = rl_run_create(
                kind=self.kind,
                from_run=options["from_run"],
                config_path=options["config"],
                dry_run=options["dry_run"],
                actor=command_user(options),
                **source,
            )
            self.stdout.write(f"Run directory: {run.artifacts_path}")
            if options["dry_run"]:
                run = rl_run_dry_run(run=run)
                self.stdout.write(
                    f"Dry run OK: {self.kind} config valid, {run.record_count} record(s) checked from "
                    f"{run.dataset_key or run.preferences}; manifest written. JAX was not imported."
                )
            else:
                self.stdout.write(f"Training {self.kind} from run {run.parent_id} (seed {run.seed})…")
                run = rl_run_execute(run=run, progress=self._progress)
        self.stdout.write(rl_summary_line(run))
        if run.status != RunStatus.SUCCEEDED:
            raise CommandError(f"Training {run.status}: {run.error}")
