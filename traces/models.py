"""Reasoning traces and their scores."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone
from uuid_utils.compat import uuid7

from traces.similarity import BANDS
from tunix_rt.db.fields import FastJSONField


class TraceStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    APPROVED = "approved", "Approved"
    REJECTED = "rejected", "Rejected"


class Tag(models.Model):
    name = models.CharField(max_length=64, unique=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Trace(models.Model):
    """A prompt, its numbered reasoning steps and a final answer; the content is immutable.

    ``content_hash``, ``source``, ``step_count`` and ``content_chars`` are derived at write time
    by the services so lists, duplicate checks and dataset stats never read the step contents.
    """

    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(default=timezone.now)
    trace_version = models.CharField(max_length=64)
    prompt = models.TextField()
    final_answer = models.TextField()
    steps = FastJSONField()
    meta = FastJSONField(null=True, blank=True)
    step_count = models.PositiveIntegerField(default=0)
    # Characters of the prompt, the final answer and every step's content: a dataset's stats
    # sum it instead of taking every trace's steps apart.
    content_chars = models.PositiveIntegerField(default=0, editable=False)
    content_hash = models.CharField(max_length=64, editable=False)
    source = models.CharField(max_length=255, blank=True, default="")
    status = models.CharField(max_length=16, choices=TraceStatus.choices, default=TraceStatus.PENDING)
    tags = models.ManyToManyField(Tag, related_name="traces", blank=True)
    notes = models.TextField(blank=True, default="")
    # Deleting a user keeps their traces: Django sets this to NULL first (SET_NULL), and the
    # database refuses a reference to a user that does not exist.
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", editable=False
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        # Plain B-trees only: ``db_index`` on a CharField adds a second, ``varchar_pattern_ops``
        # index on PostgreSQL that no query here uses and every insert pays for. The newest-first
        # index also serves ``created_at`` ranges.
        indexes = [
            models.Index(fields=["-created_at", "-id"], name="trace_newest_idx"),
            models.Index(fields=["content_hash"], name="trace_content_hash_idx"),
            models.Index(fields=["source"], name="trace_source_idx"),
            models.Index(fields=["status"], name="trace_status_idx"),
        ]

    def __str__(self) -> str:
        # Lists annotate ``prompt_excerpt`` and defer ``prompt``; use it to avoid a query per row.
        text = getattr(self, "prompt_excerpt", None)
        if text is None:
            text = self.prompt
        return text[:60] + ("…" if len(text) > 60 else "")


class Score(models.Model):
    trace = models.ForeignKey(Trace, on_delete=models.CASCADE, related_name="scores")
    criteria = models.CharField(max_length=64, db_index=True)
    score = models.FloatField()
    details = models.JSONField(default=dict)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["trace", "criteria", "-created_at"], name="score_latest_idx")]

    def __str__(self) -> str:
        return f"{self.criteria}={self.score} for {self.trace_id}"


BAND_COLUMNS = tuple(f"band_{n}" for n in range(BANDS))


class TraceSignature(models.Model):
    """The MinHash signature of a trace's prompt (``traces.similarity``) and its LSH band keys, written
    with the trace.

    Band ``n`` has its own column; a key can only match the same band of another trace (the band
    number is hashed into it), so "shares a band" is "the two rows' keys overlap". The index that
    answers it is made by migration ``0009`` for each database: on PostgreSQL ONE GIN index over
    ``ARRAY[band_0, …, band_15]``, on SQLite one B-tree per band. The row is written in the trace's
    own statement or transaction and deleted with its trace.
    """

    trace = models.OneToOneField(Trace, on_delete=models.CASCADE, primary_key=True, related_name="signature")
    minhash = models.BinaryField()

    def __str__(self) -> str:
        return f"signature of {self.trace_id}"

    def band_keys(self) -> list[int]:
        return [getattr(self, name) for name in BAND_COLUMNS]


for _name in BAND_COLUMNS:
    models.BigIntegerField(null=True).contribute_to_class(TraceSignature, _name)


class Preference(models.Model):
    """Two answers to one prompt and which one is better: the unit of preference training (DPO).

    Written only through ``traces.preferences.preference_create``, which checks that the two
    traces differ and answer the same prompt (``traces.prompts.prompt_key``). A pair is stored
    once: mining and the API refuse a second (chosen, rejected) row.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    created_at = models.DateTimeField(default=timezone.now, db_index=True, editable=False)
    prompt = models.TextField()
    chosen = models.ForeignKey(Trace, on_delete=models.CASCADE, related_name="preferred_in")
    rejected = models.ForeignKey(Trace, on_delete=models.CASCADE, related_name="dispreferred_in")
    reason = models.TextField(blank=True, default="")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", editable=False
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["chosen", "rejected"], name="preference_pair_unique"),
            models.CheckConstraint(condition=~models.Q(chosen=models.F("rejected")), name="preference_sides_differ"),
        ]

    def __str__(self) -> str:
        return f"{self.chosen_id} over {self.rejected_id}"
