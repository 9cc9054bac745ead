"""Build a dataset from the command line with the options of ``POST /api/datasets/build``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from datasets import selectors
from datasets.serializers import DatasetBuildInputSerializer
from datasets.services import dataset_build
from traces.selectors import meta_paths_absent, meta_top_keys
from tunix_rt.commands import add_user_argument, command_user, field_errors_text
from tunix_rt.errors import DomainError, InvalidInput
from tunix_rt.validation import JSONTooDeep, load_json


def _filter_pair(text: str) -> tuple[str, Any]:
    """``KEY=VALUE``; VALUE is read as JSON when it parses (``n=3``, ``ok=true``), else as a string."""
    key, sep, raw = text.partition("=")
    if not sep or not key:
        raise CommandError(f"--filter takes KEY=VALUE, got {text!r}.")
    try:
        return key, load_json(raw)[0]
    except JSONTooDeep as exc:
        raise CommandError(f"--filter {key}: {exc}") from None
    except ValueError:
        return key, raw


def _split_pair(text: str) -> tuple[str, Any]:
    """``NAME=FRACTION``; a FRACTION that is not a number is passed on for the build to refuse."""
    name, sep, raw = text.partition("=")
    if not sep or not name:
        raise CommandError(f"--split takes NAME=FRACTION, got {text!r}.")
    try:
        return name, float(raw)
    except ValueError:
        return name, raw


# The build's input fields as this command spells them, so a refusal names the option to fix.
OPTION_OF_FIELD = {
    "dataset_name": "--name",
    "dataset_version": "--dataset-version",
    "filters": "--filters",
    "limit": "--limit",
    "selection_strategy": "--strategy",
    "seed": "--seed",
    "session_id": "--session-id",
    "parent_dataset_id": "--parent",
    "training_run_id": "--training-run-id",
    "status": "--status",
    "tags": "--tag",
    "trace_ids": "--trace-id",
    "splits": "--split",
    "split_group": "--split-group",
}


def _option(field: str) -> str:
    return OPTION_OF_FIELD.get(field, "")


def _refusal(exc: DomainError, filters: dict[str, Any]) -> str:
    """The service's sentence; when nothing matched and a filter key is in no trace's meta, that key instead."""
    if isinstance(exc, InvalidInput) and exc.field is None and filters:
        absent = meta_paths_absent(paths=list(filters))
        if absent:
            named = ", ".join(repr(path) for path in absent)
            known = ", ".join(meta_top_keys()) or "none, no trace has meta"
            return f"Unknown filter key {named}: no stored trace's meta has it; known keys: {known}."
    return exc.message if exc.field is None else field_errors_text({exc.field: exc.message}, _option)


class Command(BaseCommand):
    help = "Freeze a selection of traces into an immutable dataset NAME-VERSION and write its manifest."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--dataset-name", "--name", dest="dataset_name", required=True)
        parser.add_argument("--dataset-version", dest="dataset_version", required=True)
        parser.add_argument("--filter", action="append", default=[], metavar="KEY=VALUE", help="meta filter, repeat")
        parser.add_argument("--filters", help="meta filters as one JSON object")
        parser.add_argument("--limit", type=int, help="1..10000 (default 100, or the number of --trace-id)")
        parser.add_argument("--selection-strategy", "--strategy", dest="selection_strategy", default="latest")
        parser.add_argument("--seed", type=int)
        parser.add_argument("--session-id")
        parser.add_argument("--parent-dataset-id", "--parent", dest="parent_dataset_id", help="parent dataset key")
        parser.add_argument("--training-run-id")
        parser.add_argument("--status")
        parser.add_argument("--tag", action="append", default=[], help="a tag every trace must carry, repeat")
        parser.add_argument("--trace-id", action="append", dest="trace_ids", help="explicit selection, repeat")
        parser.add_argument("--trace-ids-file", type=Path, help="explicit selection, one id per line")
        parser.add_argument(
            "--split", action="append", default=[], metavar="NAME=FRACTION", help="a split, repeat (e.g. train=0.8)"
        )
        parser.add_argument("--split-group", help="group traces for splits by: prompt (default) or near_duplicate")
        add_user_argument(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        filters: dict[str, Any] = {}
        if options["filters"]:
            try:
                filters = load_json(options["filters"])[0]
            except ValueError as exc:
                raise CommandError(f"--filters is not valid JSON: {exc}") from None
        if isinstance(filters, dict):
            filters.update(_filter_pair(f) for f in options["filter"])
        trace_ids = options["trace_ids"]
        if options["trace_ids_file"] is not None:
            try:
                lines = options["trace_ids_file"].read_text(encoding="utf-8").split()
            except OSError as exc:
                raise CommandError(f"Cannot read {options['trace_ids_file']}: {exc}") from None
            trace_ids = (trace_ids or []) + lines
        pairs = [_split_pair(text) for text in options["split"]]
        if len({name for name, _ in pairs}) != len(pairs):
            raise CommandError("Each --split name may appear once.")
        splits = dict(pairs) or None
        body = {
            "dataset_name": options["dataset_name"],
            "dataset_version": options["dataset_version"],
            "filters": filters,
            "limit": options["limit"],
            "selection_strategy": options["selection_strategy"],
            "seed": options["seed"],
            "session_id": options["session_id"],
            "parent_dataset_id": options["parent_dataset_id"],
            "training_run_id": options["training_run_id"],
            "status": options["status"],
            "tags": options["tag"],
            "trace_ids": trace_ids,
            "splits": splits,
            "split_group": options["split_group"],
        }
        incoming = DatasetBuildInputSerializer(data={k: v for k, v in body.items() if v is not None})
        if not incoming.is_valid():
            raise CommandError(field_errors_text(incoming.errors, _option))
        try:
            dataset = dataset_build(**incoming.validated_data, actor=command_user(options))
        except DomainError as exc:
            raise CommandError(_refusal(exc, incoming.validated_data.get("filters") or {})) from None
        self.stdout.write(
            self.style.SUCCESS(
                f"Built {dataset.key} (build {dataset.build_id}) with {dataset.trace_count} trace(s); "
                f"manifest: {selectors.manifest_path(dataset=dataset)}"
            )
        )
        for entry in dataset.splits:
            self.stdout.write(
                f"  split {entry['name']}: {entry['count']} trace(s) in {entry['group_count']} group(s), "
                f"sha256 {entry['sha256']}"
            )
        if dataset.splits:
            self.stdout.write(f"  leakage ({dataset.split_group}): {dataset.shared_groups} shared group(s)")
