"""GRPO with Tunix's GRPOLearner from an SFT run's final weights, rewarded by the verifiers."""

from __future__ import annotations

from typing import Any

from django.core.management.base import CommandParser

from training.rl_command import RLCommand


class Command(RLCommand):
    kind = "grpo"
    help = (
        "GRPO from run RUN's final weights on the prompts of dataset KEY, rewarded by the verifiers' reward "
        "functions with each trace's expected answer. --dry-run checks config, answers and rewards without JAX. "
        "The last line is 'run=<id> status=<status> steps=<n> final_reward=<float>'."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--dataset", required=True, help="dataset key whose prompts to train on")
        parser.add_argument("--split", help="that split of the dataset only (e.g. train)")
        self.add_common_arguments(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        self.run_command(options, dataset_key=options["dataset"], split=options["split"])
