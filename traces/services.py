"""Writes on traces: ingestion, curation and scoring.

Every function here takes validated input (see ``traces.serializers``) and owns its
transaction; callers are the API, the admin, management commands and generators.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple

import orjson
from django.db import DEFAULT_DB_ALIAS, transaction
from django.db.models import QuerySet
from django.utils import timezone
from uuid_utils.compat import uuid7

from traces.holders import Holding, trace_holdings
from traces.models import Score, Tag, Trace, TraceStatus
from traces.near_duplicates import trace_index_insert, trace_index_rows
from traces.scoring import CannotVerify, get_scorer
from traces.types import TracePayload
from tunix_rt.accounts import user_or_none
from tunix_rt.audit import audit_operation, audit_record, audit_record_many, audit_record_selection, audit_rows
from tunix_rt.db.rows import insert_rows, insert_together
from tunix_rt.models import AuditAction, AuditObjectType

UNSET: Any = object()


def trace_content_hash(*, prompt: str, steps: Sequence[Any], final_answer: str) -> str:
    """SHA-256 of the canonical JSON (sorted keys, no spaces, UTF-8) of the reasoning content.

    orjson writes these bytes exactly as ``json.dumps(..., sort_keys=True, separators=(",", ":"),
    ensure_ascii=False)`` does for text and integers, which is all the content holds (a test holds
    the two equal); the standard encoder remains for an integer beyond 64 bits.
    """
    content = {"prompt": prompt, "steps": list(steps), "final_answer": final_answer}
    try:
        canonical = orjson.dumps(content, option=orjson.OPT_SORT_KEYS)
    except orjson.JSONEncodeError:
        canonical = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    return hashlib.sha256(canonical).hexdigest()


def trace_content_chars(*, prompt: str, steps: Sequence[Any], final_answer: str) -> int:
    """Characters (code points, as the databases' ``LENGTH`` counts) of the prompt, the answer and
    every step's content: ``Trace.content_chars``."""
    return len(prompt) + len(final_answer) + sum(len(step["content"]) for step in steps)


def _source_of(meta: dict[str, Any] | None) -> str:
    value = (meta or {}).get("source")
    return value if isinstance(value, str) else ""


def clean_steps(payload: TracePayload) -> list[dict[str, Any]]:
    return [{"i": s["i"], "type": s["type"], "content": s["content"]} for s in payload["steps"]]


PENDING = TraceStatus.PENDING.value  # an enum member's .value costs microseconds on every read
TRACE_COLUMNS = (
    "id", "created_at", "updated_at", "trace_version", "prompt", "final_answer", "steps", "meta", "step_count",
    "content_chars", "content_hash", "source", "status", "notes", "created_by",
)  # fmt: skip


def _trace_row(payload: TracePayload, now: Any, user: Any, pk: uuid.UUID | None = None) -> tuple[Any, ...]:
    """A new trace's values in ``TRACE_COLUMNS`` order (a new UUIDv7 unless ``pk`` is given)."""
    steps = clean_steps(payload)
    prompt, final_answer, meta = payload["prompt"], payload["final_answer"], payload.get("meta")
    chars = trace_content_chars(prompt=prompt, steps=steps, final_answer=final_answer)
    content_hash = trace_content_hash(prompt=prompt, steps=steps, final_answer=final_answer)
    return (
        pk or uuid7(), now, now, payload["trace_version"], prompt, final_answer, steps, meta, len(steps), chars,
        content_hash, _source_of(meta), PENDING, "", user.pk if user is not None else None,
    )  # fmt: skip


def trace_create(*, payload: TracePayload, actor: Any = None) -> Trace:
    """Stores one trace made by ``actor`` (a user, or None for a command run without one), its
    near-duplicate index row and its audit entry, all or nothing.

    On PostgreSQL that is ONE statement (``insert_together``), so outside a transaction a create
    costs one round trip to the database.
    """
    user = user_or_none(actor)
    row = _trace_row(payload, timezone.now(), user)
    trace = Trace(**{**dict(zip(TRACE_COLUMNS, row, strict=True)), "created_by": user})
    trace._state.adding, trace._state.db = False, DEFAULT_DB_ALIAS
    insert_together([
        (Trace, TRACE_COLUMNS, [row]),
        trace_index_rows(prompts={trace.pk: trace.prompt}),
        audit_rows(actor=actor, action=AuditAction.CREATE, object_type=AuditObjectType.TRACE, object_ids=[trace.pk]),
    ])  # fmt: skip
    return trace


class StoredTrace(NamedTuple):
    """What a batch import answers per trace, read back from the database."""

    id: uuid.UUID
    created_at: datetime
    trace_version: str
    content_hash: str


@transaction.atomic
def traces_import_batch(*, payloads: Sequence[TracePayload], actor: Any = None) -> list[StoredTrace]:
    """Stores all payloads or none, in four statements whatever the batch size.

    One insert of the traces (COPY on PostgreSQL, ``tunix_rt.db.rows``), one of their
    near-duplicate index rows, one of their audit entries, then ONE ``filter(id__in=...)``
    re-fetch; the result keeps the input order.
    """
    if not payloads:
        return []
    now, user = timezone.now(), user_or_none(actor)
    ids = [uuid7() for _ in payloads]
    # Each row is made as COPY sends it, so PostgreSQL stores the first rows while the last are made.
    rows = (_trace_row(p, now, user, pk) for pk, p in zip(ids, payloads, strict=True))
    insert_rows(Trace, TRACE_COLUMNS, rows, count=len(ids))
    trace_index_insert(trace_index_rows(prompts={pk: p["prompt"] for pk, p in zip(ids, payloads, strict=True)}))
    audit_record_many(actor=actor, action=AuditAction.CREATE, object_type=AuditObjectType.TRACE, object_ids=ids)
    fetched = (
        Trace.objects.filter(id__in=ids).order_by().values_list("id", "created_at", "trace_version", "content_hash")
    )
    stored = {row[0]: StoredTrace(*row) for row in fetched}
    return [stored[pk] for pk in ids]


def traces_existing_hashes(*, hashes: Iterable[str]) -> set[str]:
    """Which of ``hashes`` are already stored (one query per call)."""
    return set(Trace.objects.filter(content_hash__in=list(hashes)).values_list("content_hash", flat=True))


def tags_for(names: Iterable[str]) -> list[Tag]:
    """The Tag rows of ``names``, creating missing ones (two queries)."""
    wanted = sorted(set(names))
    Tag.objects.bulk_create([Tag(name=n) for n in wanted], ignore_conflicts=True)
    return list(Tag.objects.filter(name__in=wanted))


@transaction.atomic
def trace_update_curation(
    *, trace: Trace, status: str = UNSET, tags: list[str] = UNSET, notes: str = UNSET, actor: Any = None
) -> Trace:
    """Changes only curation fields; the reasoning content stays as it was stored.

    What really changed is audited as ``{field: [old, new]}`` (nothing when nothing changed).
    """
    changes: dict[str, list[Any]] = {}
    fields = ["updated_at"]
    if status is not UNSET and status != trace.status:
        changes["status"] = [trace.status, str(status)]
        trace.status = TraceStatus(status)
        fields.append("status")
    if notes is not UNSET and notes != trace.notes:
        changes["notes"] = [trace.notes, notes]
        trace.notes = notes
        fields.append("notes")
    if tags is not UNSET:
        old_tags = sorted(tag.name for tag in trace.tags.all())
        new_tags = sorted(set(tags))
        if old_tags != new_tags:
            trace.tags.set(tags_for(new_tags))
            changes["tags"] = [old_tags, new_tags]
    trace.updated_at = timezone.now()
    trace.save(update_fields=fields)
    if changes:
        audit_record(
            actor=actor,
            action=AuditAction.UPDATE,
            object_type=AuditObjectType.TRACE,
            object_id=trace.id,
            changes=changes,
        )
    return trace


@transaction.atomic
def trace_delete(*, trace: Trace, actor: Any = None) -> list[Holding]:
    """Deletes the trace and its scores, audited; returns who held it (datasets keep its id, their exports skip it)."""
    holdings = trace_holdings(trace_ids=[trace.id])
    trace_id = trace.id
    trace.delete()
    audit_record(actor=actor, action=AuditAction.DELETE, object_type=AuditObjectType.TRACE, object_id=trace_id)
    return holdings


@transaction.atomic
def traces_delete(*, traces: QuerySet[Trace], actor: Any = None) -> int:
    """Deletes every trace of ``traces``, each audited, in a constant number of queries."""
    doomed = Trace.objects.filter(pk__in=traces.values("pk"))
    audit_record_selection(actor=actor, action=AuditAction.DELETE, object_type=AuditObjectType.TRACE, queryset=doomed)
    deleted, _ = doomed.delete()
    return deleted


def trace_compute_score(*, trace: Trace, criteria: str = "baseline") -> tuple[float, dict[str, Any]]:
    """Scores without storing; the details name the criteria and the time of scoring."""
    result = get_scorer(criteria)(trace)
    details = {**result.details, "criteria": criteria, "scored_at": timezone.now().isoformat()}
    return result.score, details


@transaction.atomic
def trace_score(*, trace: Trace, criteria: str = "baseline", actor: Any = None) -> Score:
    """Stores a new score; audited as ``score`` with ``{criteria: [None, score]}``."""
    score, details = trace_compute_score(trace=trace, criteria=criteria)
    row = Score.objects.create(trace=trace, criteria=criteria, score=score, details=details)
    audit_record(
        actor=actor,
        action=AuditAction.SCORE,
        object_type=AuditObjectType.TRACE,
        object_id=trace.id,
        changes={criteria: [None, score]},
    )
    return row


SKIPPED_KEPT = 10


@dataclass(frozen=True)
class ScoreSummary:
    """How many traces were scored and skipped, with the first ``SKIPPED_KEPT`` skipped ``(id, reason)``."""

    scored: int
    skipped: int
    first_skipped: tuple[tuple[Any, str], ...] = ()


SCORED_COLUMNS = ("id", "prompt", "final_answer", "steps", "meta")


@audit_operation()
def traces_score(
    *, traces: QuerySet[Trace], criteria: str = "baseline", chunk_size: int = 500, actor: Any = None
) -> ScoreSummary:
    """Scores every trace in ``traces``, committing one chunk at a time so progress is kept.

    A trace the criteria cannot verify is skipped, not an error: it is counted in ``skipped``, and
    the first few are kept with the verifier's reason.
    """
    get_scorer(criteria)  # fail before any work on an unknown criteria
    scored = skipped = 0
    first_skipped: list[tuple[Any, str]] = []
    batch: list[Score] = []
    for trace in traces.only(*SCORED_COLUMNS).iterator(chunk_size=chunk_size):
        try:
            score, details = trace_compute_score(trace=trace, criteria=criteria)
        except CannotVerify as exc:
            skipped += 1
            if len(first_skipped) < SKIPPED_KEPT:
                first_skipped.append((trace.id, exc.message.removeprefix("cannot verify: ")))
            continue
        batch.append(Score(trace_id=trace.id, criteria=criteria, score=score, details=details))
        if len(batch) >= chunk_size:
            scored += _store_scores(batch, actor)
            batch = []
    if batch:
        scored += _store_scores(batch, actor)
    return ScoreSummary(scored=scored, skipped=skipped, first_skipped=tuple(first_skipped))


@transaction.atomic
def _store_scores(scores: list[Score], actor: Any) -> int:
    Score.objects.bulk_create(scores)
    audit_record_many(
        actor=actor,
        action=AuditAction.SCORE,
        object_type=AuditObjectType.TRACE,
        object_ids=[score.trace_id for score in scores],
        changes_each=[{score.criteria: [None, score.score]} for score in scores],
    )
    return len(scores)
