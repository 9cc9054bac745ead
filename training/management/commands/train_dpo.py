"""DPO with Tunix's DPOTrainer from a run's final weights, on stored preference pairs."""

from __future__ import annotations

from typing import Any

from django.core.management.base import CommandParser

from training.rl_command import RLCommand


class Command(RLCommand):
    kind = "dpo"
    help = (
        "DPO from run RUN's final weights on preference pairs: 'all' of them, or those between the traces of a "
        "dataset KEY. Records the reward margin and preference accuracy per step. The last line is "
        "'run=<id> status=<status> steps=<n> final_reward=<float>' (final_reward: the last margin)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--preferences",
            required=True,
            help="'all'; a dataset key (pairs between its traces); or evaluation:<id> (pairs between the "
            "generations that evaluation stored)",
        )
        self.add_common_arguments(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        self.run_command(options, preferences=options["preferences"])
