"""Datasets: immutable, versioned selections of traces (see docs/api.md, Datasets)."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone


class SelectionStrategy(models.TextChoices):
    LATEST = "latest", "Latest"
    RANDOM = "random", "Random (seeded)"


class Dataset(models.Model):
    """A frozen selection of traces; every field is written once by ``dataset_build``.

    The manifest is derived from these rows and the ordered ``items``; nothing here
    changes after the build, except that recorded export digests are added.
    """

    key = models.CharField(max_length=200, unique=True, editable=False)
    name = models.CharField(max_length=128, editable=False)
    version = models.CharField(max_length=64, editable=False)
    build_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    created_at = models.DateTimeField(default=timezone.now, db_index=True, editable=False)
    filters = models.JSONField(default=dict, blank=True, editable=False)
    status_filter = models.CharField(max_length=16, blank=True, default="", editable=False)
    tag_filter = models.JSONField(default=list, blank=True, editable=False)
    explicit_selection = models.BooleanField(default=False, editable=False)
    selection_strategy = models.CharField(
        max_length=16, choices=SelectionStrategy.choices, default=SelectionStrategy.LATEST, editable=False
    )
    seed = models.BigIntegerField(null=True, blank=True, editable=False)
    limit = models.PositiveIntegerField(editable=False)
    trace_count = models.PositiveIntegerField(default=0, editable=False)
    stats = models.JSONField(default=dict, blank=True, editable=False)
    session_id = models.CharField(max_length=255, null=True, blank=True, editable=False)
    parent_dataset = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="children", editable=False
    )
    training_run_id = models.CharField(max_length=255, null=True, blank=True, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", editable=False
    )
    split_group = models.CharField(
        max_length=32, blank=True, default="", editable=False, help_text="How traces were grouped for the splits."
    )
    splits = models.JSONField(
        default=list,
        blank=True,
        editable=False,
        help_text='In request order: [{"name", "fraction", "count", "group_count", "sha256"}, ...].',
    )
    shared_groups = models.PositiveIntegerField(
        null=True, blank=True, editable=False, help_text="Groups found in more than one split (0 when sound)."
    )

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.key

    @property
    def split_names(self) -> list[str]:
        return [entry["name"] for entry in self.splits]


class DatasetItem(models.Model):
    """One member of a dataset; ``trace_id`` is a plain UUID so it outlives the trace.

    Items are written only by the build, in the transaction that creates their dataset, never
    change, and are deleted with their dataset. ``dataset`` has no index of its own: both unique
    constraints start with it. The split index holds only items dealt to a split: a build without
    splits (the usual one) writes nothing into it, and a split's rows are still found through it.
    """

    dataset = models.ForeignKey(Dataset, on_delete=models.CASCADE, related_name="items", db_index=False)
    trace_id = models.UUIDField(db_index=True)
    position = models.PositiveIntegerField()
    split = models.CharField(max_length=32, blank=True, default="")

    class Meta:
        ordering = ["dataset", "position"]
        indexes = [
            models.Index(
                fields=["dataset", "split", "position"], name="dataset_item_split_idx", condition=~models.Q(split="")
            )
        ]
        constraints = [
            models.UniqueConstraint(fields=["dataset", "position"], name="dataset_item_position_uniq"),
            models.UniqueConstraint(fields=["dataset", "trace_id"], name="dataset_item_trace_uniq"),
        ]

    def __str__(self) -> str:
        return f"{self.dataset_id}#{self.position}: {self.trace_id}"


class ExportFile(models.TextChoices):
    JSONL = "jsonl", "JSON Lines"
    PARQUET = "parquet", "Apache Parquet"


class DatasetExport(models.Model):
    """The SHA-256 and record count of one (format, options, split, file) export, recorded when first computed."""

    dataset = models.ForeignKey(Dataset, on_delete=models.CASCADE, related_name="exports")
    format = models.CharField(max_length=64)
    options_key = models.CharField(max_length=64, help_text="SHA-256 of the canonical JSON of the options.")
    options = models.JSONField(default=dict, blank=True)
    split = models.CharField(max_length=32, blank=True, default="", help_text="Empty for the whole dataset.")
    file_format = models.CharField(max_length=16, choices=ExportFile.choices, default=ExportFile.JSONL)
    sha256 = models.CharField(max_length=64)
    line_count = models.PositiveIntegerField()
    computed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["format", "options_key", "split", "file_format"]
        constraints = [
            models.UniqueConstraint(
                fields=["dataset", "format", "options_key", "split", "file_format"], name="dataset_export_uniq"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.dataset_id} {self.format}: {self.sha256[:12]}"
