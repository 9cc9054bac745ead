"""Write a trained run of a pretrained model back as a Hugging Face directory."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from training.engine.stack import TrainingStackMissing, ensure_training_stack
from training.models import CheckpointChoice
from training.selectors import training_run_get
from training.services import training_run_export
from tunix_rt.commands import domain_errors


class Command(BaseCommand):
    help = (
        "Write RUN's weights (LoRA merged in) as a Hugging Face directory: model.safetensors, config.json and "
        "the tokenizer files of its base model, for transformers, vLLM or model.mode: pretrained. "
        "Last line: exported=<DIR>"
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("run", help="training run id (SFT, GRPO or DPO) of a model.mode: pretrained run")
        parser.add_argument("--output", required=True, help="directory to write; must be absent or empty")
        parser.add_argument("--checkpoint", choices=CheckpointChoice.values, default=CheckpointChoice.FINAL)
        parser.add_argument(
            "--adapter-only",
            action="store_true",
            help="write the LoRA adapters alone (adapter_model.safetensors, adapter_config.json: PEFT's layout)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            ensure_training_stack()
        except TrainingStackMissing as exc:
            raise CommandError(str(exc)) from None
        with domain_errors():
            run = training_run_get(run_id=options["run"])
            out = training_run_export(
                run=run,
                output=options["output"],
                checkpoint=options["checkpoint"],
                adapter_only=options["adapter_only"],
            )
        self.stdout.write(f"exported={out}")
