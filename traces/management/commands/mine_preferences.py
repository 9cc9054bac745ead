"""Mine preference pairs: per prompt, a trace the verifier accepts over one it rejects."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from traces.preference_mining import MINE_LIMIT_MAX, MINING_CRITERIA, PER_PROMPT_MAX, preferences_mine
from tunix_rt.commands import add_user_argument, command_user, domain_errors


class Command(BaseCommand):
    help = (
        "Pair, per prompt, the trace the verifier scores highest with the one it scores lowest when the "
        "gap is at least --min-gap (default 1: an accepted trace over a rejected one; the oldest wins a "
        "tie), or with --per-prompt N the n-th best with the n-th worst, up to N pairs; store the pairs as "
        "preferences (skipping pairs already stored). --dry-run lists them and stores nothing."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--criteria", choices=MINING_CRITERIA, default="answer_match", help="the verifier")
        parser.add_argument(
            "--limit", type=int, default=1_000, help=f"at most this many new pairs (1..{MINE_LIMIT_MAX})"
        )
        parser.add_argument(
            "--rejected-source", help="only rejected traces with this meta.source (e.g. model: the model's mistakes)"
        )
        parser.add_argument(
            "--chosen-source",
            help="only chosen traces with this meta.source (e.g. model: the model's own right answers)",
        )
        parser.add_argument(
            "--per-prompt",
            type=int,
            default=1,
            help=f"up to this many pairs a prompt (1..{PER_PROMPT_MAX}), no trace in two of them",
        )
        parser.add_argument(
            "--min-gap",
            type=float,
            default=1.0,
            help="how much higher the chosen trace must score (0 < gap <= 1; default 1: right over wrong); "
            "with step_match, e.g. 0.1 pairs a better attempt with a worse one",
        )
        parser.add_argument(
            "--evaluation",
            help="only the generations this evaluation stored (its id): one model's samples for one round",
        )
        parser.add_argument("--dry-run", action="store_true", help="list the pairs; store nothing")
        add_user_argument(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        with domain_errors():
            summary = preferences_mine(
                criteria=options["criteria"],
                limit=options["limit"],
                rejected_source=options["rejected_source"],
                chosen_source=options["chosen_source"],
                per_prompt=options["per_prompt"],
                min_gap=options["min_gap"],
                evaluation_id=options["evaluation"],
                dry_run=options["dry_run"],
                actor=command_user(options),
            )
        if options["dry_run"]:
            for pair in summary.pairs:
                self.stdout.write(f"{pair.chosen_id} over {pair.rejected_id}: {pair.prompt[:60]}")
        verb = "would store" if options["dry_run"] else "stored"
        self.stdout.write(
            f"scanned={summary.scanned} unverifiable={summary.unverifiable} existing={summary.existing} "
            f"{verb}={len(summary.pairs)}"
        )
