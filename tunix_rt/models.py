"""Core models: the audit trail (written by the services, never edited) and idempotent replays."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone


class AuditAction(models.TextChoices):
    CREATE = "create", "Create"
    UPDATE = "update", "Update"
    DELETE = "delete", "Delete"
    BUILD = "build", "Build"
    START = "start", "Start"
    CANCEL = "cancel", "Cancel"
    SCORE = "score", "Score"


class AuditObjectType(models.TextChoices):
    TRACE = "trace", "Trace"
    DATASET = "dataset", "Dataset"
    EVAL_SET = "eval_set", "Eval set"
    TRAINING_RUN = "training_run", "Training run"
    EVALUATION_RUN = "evaluation_run", "Evaluation run"
    USER = "user", "User"
    PREFERENCE = "preference", "Preference"


class AuditEntry(models.Model):
    """One write. ``actor_name`` keeps the username even after the user is deleted.

    ``object_id`` is the object's public id: a trace, run or evaluation UUID, a dataset key,
    an eval set name or a username. For updates ``changes`` maps each field to ``[old, new]``.
    """

    created_at = models.DateTimeField(default=timezone.now, editable=False)  # audit_newest_idx serves it
    # Deleting a user keeps their entries (``actor_name`` still names them): Django sets this to NULL.
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", editable=False
    )
    actor_name = models.CharField(max_length=150, blank=True, default="", editable=False)
    action = models.CharField(max_length=16, choices=AuditAction.choices, editable=False)
    object_type = models.CharField(max_length=32, choices=AuditObjectType.choices, editable=False)
    object_id = models.CharField(max_length=255, editable=False)
    changes = models.JSONField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "audit entries"
        indexes = [
            models.Index(fields=["object_type", "object_id"], name="audit_object_idx"),
            models.Index(fields=["-created_at", "-id"], name="audit_newest_idx"),
        ]

    def __str__(self) -> str:
        who = self.actor_name or "(system)"
        return f"{who} {self.action} {self.object_type} {self.object_id}"


class IdempotencyRecord(models.Model):
    """The first response to a request sent with an ``Idempotency-Key`` (see ``tunix_rt.idempotency``).

    ``status_code`` is null while the first request is still in flight.
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=255)
    fingerprint = models.CharField(max_length=64, help_text="SHA-256 of the method, path and canonical JSON body.")
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    response_body = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "key"], name="idempotency_key_unique_per_user")]

    def __str__(self) -> str:
        return f"{self.key} ({self.status_code or 'in flight'})"
