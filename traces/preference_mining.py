"""Mining preference pairs from the verifiers' verdicts: per prompt, an accepted trace over a rejected one."""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass, field

from django.db import transaction

from traces.models import Preference, Trace
from traces.prompts import prompt_key
from traces.scoring import CannotVerify, get_scorer
from tunix_rt.accounts import user_or_none
from tunix_rt.audit import audit_record_many
from tunix_rt.errors import InvalidInput
from tunix_rt.models import AuditAction, AuditObjectType

MINING_CRITERIA = ("answer_match", "format_match")
MINE_LIMIT_MAX = 10_000
PER_PROMPT_MAX = 16
_COLUMNS = ("id", "created_at", "prompt", "final_answer", "steps", "meta", "source")


@dataclass(frozen=True)
class MinedPair:
    prompt: str
    chosen_id: uuid.UUID
    rejected_id: uuid.UUID


@dataclass
class MineSummary:
    scanned: int = 0
    unverifiable: int = 0
    existing: int = 0
    pairs: list[MinedPair] = field(default_factory=list)


def _reason(criteria: str) -> str:
    return f"mined: {criteria} accepts the chosen trace and rejects the other"


def preferences_mine(
    *,
    criteria: str = "answer_match",
    limit: int = 1_000,
    rejected_source: str | None = None,
    chosen_source: str | None = None,
    per_prompt: int = 1,
    dry_run: bool = False,
    chunk_size: int = 500,
    actor: object = None,
) -> MineSummary:
    """Pairs, per prompt (``prompt_key``), the oldest trace the verifier accepts (score 1) with the
    oldest it rejects (score 0), optionally only rejected traces from ``rejected_source`` and chosen
    ones from ``chosen_source``. With ``per_prompt`` above 1, the n-th oldest accepted trace of a
    prompt is paired with its n-th oldest rejected one, up to that many pairs a prompt, so no trace
    is in two pairs (the model's own right and wrong samples of one prompt, for on-policy DPO).

    Reads traces in chunks, keeping at most ``per_prompt`` ids of each side per prompt; a trace the
    verifier cannot judge is counted and skipped. A pair already stored is skipped, so running again
    adds nothing new for the same traces. At most ``limit`` new pairs, written in one transaction
    (audited).
    """
    if criteria not in MINING_CRITERIA:
        raise InvalidInput(f"criteria must be one of {', '.join(MINING_CRITERIA)}.", field="criteria")
    if not 1 <= limit <= MINE_LIMIT_MAX:
        raise InvalidInput(f"limit must be between 1 and {MINE_LIMIT_MAX}.", field="limit")
    if not 1 <= per_prompt <= PER_PROMPT_MAX:
        raise InvalidInput(f"per_prompt must be between 1 and {PER_PROMPT_MAX}.", field="per_prompt")
    scorer = get_scorer(criteria)
    summary = MineSummary()
    prompts: dict[str, str] = {}
    accepted: dict[str, list[uuid.UUID]] = defaultdict(list)
    rejected: dict[str, list[uuid.UUID]] = defaultdict(list)
    traces = Trace.objects.only(*_COLUMNS).order_by("created_at", "id")
    for trace in traces.iterator(chunk_size=chunk_size):
        summary.scanned += 1
        try:
            score = scorer(trace).score
        except CannotVerify:
            summary.unverifiable += 1
            continue
        key = prompt_key(trace.prompt)
        if score >= 1.0 and (chosen_source is None or trace.source == chosen_source):
            side = accepted[key]
        elif score <= 0.0 and (rejected_source is None or trace.source == rejected_source):
            side = rejected[key]
        else:
            continue
        if len(side) < per_prompt:
            side.append(trace.pk)
            prompts.setdefault(key, trace.prompt)
    candidates = [
        MinedPair(prompt=prompts[key], chosen_id=chosen_id, rejected_id=rejected_id)
        for key, rejected_ids in rejected.items()
        for chosen_id, rejected_id in zip(accepted.get(key, ()), rejected_ids, strict=False)
    ]
    stored = _stored_pairs(candidates)
    fresh = [p for p in candidates if (p.chosen_id, p.rejected_id) not in stored]
    summary.existing = len(candidates) - len(fresh)
    summary.pairs = fresh[:limit]
    if not dry_run and summary.pairs:
        _store(summary.pairs, criteria=criteria, actor=actor)
    return summary


def _stored_pairs(candidates: list[MinedPair], chunk: int = 500) -> set[tuple[uuid.UUID, uuid.UUID]]:
    found: set[tuple[uuid.UUID, uuid.UUID]] = set()
    for start in range(0, len(candidates), chunk):
        chosen = [p.chosen_id for p in candidates[start : start + chunk]]
        found |= set(Preference.objects.filter(chosen_id__in=chosen).values_list("chosen_id", "rejected_id"))
    return found


@transaction.atomic
def _store(pairs: list[MinedPair], *, criteria: str, actor: object) -> None:
    user = user_or_none(actor)
    rows = [
        Preference(prompt=p.prompt, chosen_id=p.chosen_id, rejected_id=p.rejected_id, reason=_reason(criteria),
                   created_by=user)
        for p in pairs
    ]  # fmt: skip
    Preference.objects.bulk_create(rows, batch_size=500)
    audit_record_many(
        actor=actor, action=AuditAction.CREATE, object_type=AuditObjectType.PREFERENCE, object_ids=[r.id for r in rows]
    )
