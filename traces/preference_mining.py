"""Mining preference pairs from the verifiers' verdicts: per prompt, a better-scored trace over a worse one."""

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

MINING_CRITERIA = ("answer_match", "format_match", "step_match")
MINE_LIMIT_MAX = 10_000
PER_PROMPT_MAX = 16
_COLUMNS = ("id", "created_at", "prompt", "final_answer", "steps", "meta", "source")


@dataclass(frozen=True)
class MinedPair:
    prompt: str
    chosen_id: uuid.UUID
    rejected_id: uuid.UUID
    chosen_score: float = 1.0
    rejected_score: float = 0.0


@dataclass
class MineSummary:
    scanned: int = 0
    unverifiable: int = 0
    existing: int = 0
    pairs: list[MinedPair] = field(default_factory=list)


_Entry = tuple[float, int, uuid.UUID, str]  # score, arrival order, trace id, the trace's own prompt


@dataclass
class _Candidates:
    """One prompt's best and worst traces so far, at most ``keep`` of each."""

    keep: int
    best: list[_Entry] = field(default_factory=list)
    worst: list[_Entry] = field(default_factory=list)

    def offer_chosen(self, entry: _Entry) -> None:
        self.best = sorted([*self.best, entry], key=lambda e: (-e[0], e[1]))[: self.keep]  # oldest first on ties

    def offer_rejected(self, entry: _Entry) -> None:
        self.worst = sorted([*self.worst, entry], key=lambda e: (e[0], e[1]))[: self.keep]


def _reason(criteria: str, pair: MinedPair) -> str:
    if criteria == "step_match":
        return f"mined: step_match scores the chosen trace {pair.chosen_score:g} and the other {pair.rejected_score:g}"
    return f"mined: {criteria} accepts the chosen trace and rejects the other"


def preferences_mine(
    *,
    criteria: str = "answer_match",
    limit: int = 1_000,
    rejected_source: str | None = None,
    chosen_source: str | None = None,
    per_prompt: int = 1,
    min_gap: float = 1.0,
    evaluation_id: str | None = None,
    dry_run: bool = False,
    chunk_size: int = 500,
    actor: object = None,
) -> MineSummary:
    """Pairs, per prompt (``prompt_key``), the trace the verifier scores highest with the one it
    scores lowest, when the chosen one's score is at least ``min_gap`` higher; the oldest wins a tie.
    A pair's prompt is the chosen trace's.

    With the pass/fail verifiers (``answer_match``, ``format_match``) and the default gap of 1 that
    is an accepted trace (score 1) over a rejected one (score 0). ``step_match`` grades a reasoning
    by the share of its steps that are right, so a smaller gap pairs the model's better attempt at
    a question with its worse one even when neither answer is right. ``chosen_source`` and
    ``rejected_source`` keep only traces with that ``meta.source`` on each side (``model``: the
    model's own generations). With ``per_prompt`` above 1, the n-th best is paired with the n-th
    worst, up to that many pairs a prompt while the gap holds; no trace is in two pairs.
    ``evaluation_id`` keeps only the generations one evaluation stored (``meta.evaluation_run_id``),
    so a round of pairs comes from one model's samples.

    Reads traces in chunks, keeping at most ``per_prompt`` traces of each side per prompt; a trace
    the verifier cannot judge is counted and skipped. A pair already stored is skipped, so running
    again adds nothing new for the same traces. At most ``limit`` new pairs, written in one
    transaction (audited).
    """
    if criteria not in MINING_CRITERIA:
        raise InvalidInput(f"criteria must be one of {', '.join(MINING_CRITERIA)}.", field="criteria")
    if not 1 <= limit <= MINE_LIMIT_MAX:
        raise InvalidInput(f"limit must be between 1 and {MINE_LIMIT_MAX}.", field="limit")
    if not 1 <= per_prompt <= PER_PROMPT_MAX:
        raise InvalidInput(f"per_prompt must be between 1 and {PER_PROMPT_MAX}.", field="per_prompt")
    if not 0.0 < min_gap <= 1.0:
        raise InvalidInput("min_gap must be above 0 and at most 1.", field="min_gap")
    scorer = get_scorer(criteria)
    summary = MineSummary()
    candidates: dict[str, _Candidates] = defaultdict(lambda: _Candidates(keep=per_prompt))
    traces = Trace.objects.only(*_COLUMNS).order_by("created_at", "id")
    if evaluation_id is not None:
        traces = traces.filter(meta__evaluation_run_id=_evaluation_key(evaluation_id))
    for arrival, trace in enumerate(traces.iterator(chunk_size=chunk_size)):
        summary.scanned += 1
        try:
            score = float(scorer(trace).score)
        except CannotVerify:
            summary.unverifiable += 1
            continue
        key = prompt_key(trace.prompt)
        entry = (score, arrival, trace.pk, trace.prompt)
        if chosen_source is None or trace.source == chosen_source:
            candidates[key].offer_chosen(entry)
        if rejected_source is None or trace.source == rejected_source:
            candidates[key].offer_rejected(entry)
    pairs = [
        MinedPair(prompt=hi[3], chosen_id=hi[2], rejected_id=lo[2], chosen_score=hi[0], rejected_score=lo[0])
        for found in candidates.values()
        for hi, lo in _matched(found, min_gap=min_gap)
    ]
    stored = _stored_pairs(pairs)
    fresh = [p for p in pairs if (p.chosen_id, p.rejected_id) not in stored]
    summary.existing = len(pairs) - len(fresh)
    summary.pairs = fresh[:limit]
    if not dry_run and summary.pairs:
        _store(summary.pairs, criteria=criteria, actor=actor)
    return summary


def _evaluation_key(value: str) -> str:
    """An evaluation id as its generations' ``meta.evaluation_run_id`` holds it."""
    try:
        return str(uuid.UUID(value))
    except (ValueError, AttributeError, TypeError):
        raise InvalidInput(f"{value!r} is not an evaluation id (a UUID).", field="evaluation") from None


def _matched(found: _Candidates, *, min_gap: float) -> list[tuple[_Entry, _Entry]]:
    """The n-th best with the n-th worst while the gap holds (a gap above 0 keeps a trace in one pair)."""
    matched = []
    for hi, lo in zip(found.best, found.worst, strict=False):
        if hi[0] - lo[0] < min_gap - 1e-9:
            break
        matched.append((hi, lo))
    return matched


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
        Preference(prompt=p.prompt, chosen_id=p.chosen_id, rejected_id=p.rejected_id, reason=_reason(criteria, p),
                   created_by=user)
        for p in pairs
    ]  # fmt: skip
    Preference.objects.bulk_create(rows, batch_size=500)
    audit_record_many(
        actor=actor, action=AuditAction.CREATE, object_type=AuditObjectType.PREFERENCE, object_ids=[r.id for r in rows]
    )
