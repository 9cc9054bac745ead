"""Grouped splits at build time: whole groups go to one split, in shares fixed by a seeded hash."""

from __future__ import annotations

import hashlib
import math
import re
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from datasets.grouping import get_grouping
from tunix_rt.errors import InvalidInput

SPLIT_NAME = re.compile(r"^[a-z][a-z0-9_]{0,31}$")
MAX_SPLITS = 16
SUM_TOLERANCE = 1e-9
DEFAULT_SPLIT_SEED = 0


@dataclass(frozen=True)
class SplitAssignment:
    """The split of each selected id, the per-split summary (request order) and the leakage count."""

    split_of: dict[uuid.UUID, str]
    summary: list[dict[str, Any]]
    shared_groups: int


SHAPE_HINT = 'Give splits as a non-empty object of name -> fraction, e.g. {"train": 0.8, "test": 0.2}.'


def _entries(splits: Any) -> list[tuple[Any, Any]]:
    """``{name: fraction}``, or a list of ``{"name", "fraction"}`` objects or ``[name, fraction]`` pairs."""
    if isinstance(splits, Mapping):
        return list(splits.items())
    if not isinstance(splits, list):
        raise InvalidInput(SHAPE_HINT, field="splits")
    entries: list[tuple[Any, Any]] = []
    for entry in splits:
        if isinstance(entry, Mapping) and set(entry) == {"name", "fraction"}:
            entries.append((entry["name"], entry["fraction"]))
        elif isinstance(entry, list) and len(entry) == 2:
            entries.append((entry[0], entry[1]))
        else:
            raise InvalidInput(SHAPE_HINT, field="splits")
    return entries


def splits_check(splits: Any) -> list[tuple[str, float]]:
    """The splits as ordered ``(name, fraction)`` pairs; names ``[a-z][a-z0-9_]{0,31}`` and unique,
    fractions > 0 summing to 1."""
    entries = _entries(splits)
    if not entries:
        raise InvalidInput(SHAPE_HINT, field="splits")
    if len(entries) > MAX_SPLITS:
        raise InvalidInput(f"At most {MAX_SPLITS} splits.", field="splits")
    pairs: list[tuple[str, float]] = []
    for name, fraction in entries:
        if not isinstance(name, str) or not SPLIT_NAME.match(name):
            raise InvalidInput(f"Split name {name!r} must match [a-z][a-z0-9_]{{0,31}}.", field="splits")
        if isinstance(fraction, bool) or not isinstance(fraction, int | float) or not math.isfinite(fraction):
            raise InvalidInput(f"The fraction of split {name!r} must be a number.", field="splits")
        if fraction <= 0:
            raise InvalidInput(f"The fraction of split {name!r} must be greater than 0.", field="splits")
        if any(name == seen for seen, _ in pairs):
            raise InvalidInput(f"Split {name!r} is named twice.", field="splits")
        pairs.append((name, float(fraction)))
    total = math.fsum(fraction for _, fraction in pairs)
    if abs(total - 1) > SUM_TOLERANCE:
        raise InvalidInput(f"Split fractions must sum to 1; they sum to {total:g}.", field="splits")
    return pairs


def group_counts(*, fractions: Sequence[tuple[str, float]], groups: int) -> list[int]:
    """Groups per split by largest remainder: floors of each exact share, then one more to the largest
    remainders (ties to the split named first). Fractions are read as their shortest decimals."""
    exact = [Fraction(repr(fraction)) for _, fraction in fractions]
    total = sum(exact)
    shares = [groups * share / total for share in exact]
    counts = [math.floor(share) for share in shares]
    by_remainder = sorted(range(len(shares)), key=lambda n: (-(shares[n] - counts[n]), n))
    for n in by_remainder[: groups - sum(counts)]:
        counts[n] += 1
    return counts


def _seeded_group_rank(seed: int, key: str) -> bytes:
    return hashlib.sha256(f"{seed}:{key}".encode()).digest()


def ids_sha256(ids: Sequence[uuid.UUID]) -> str:
    """SHA-256 of the ids as text, one per line, each line ending in a newline (empty for no ids)."""
    return hashlib.sha256("".join(f"{trace_id}\n" for trace_id in ids).encode("ascii")).hexdigest()


def splits_assign(
    *, selected: Sequence[uuid.UUID], fractions: Sequence[tuple[str, float]], split_group: str, seed: int | None
) -> SplitAssignment:
    """Groups ``selected`` with the ``split_group`` strategy and deals whole groups to the splits.

    Groups are ranked by SHA-256 of ``"{seed}:{group key}"`` (seed 0 when none is given) and the
    splits take consecutive runs of that ranking, in request order, sized by ``group_counts``: the
    result depends only on the data and the seed, never on the database or the machine.
    """
    found = get_grouping(split_group)(selected)
    group_of = {trace_id: found.get(trace_id, f"id:{trace_id}") for trace_id in selected}
    rank_seed = DEFAULT_SPLIT_SEED if seed is None else seed
    keys = sorted(set(group_of.values()), key=lambda key: _seeded_group_rank(rank_seed, key))
    counts = group_counts(fractions=fractions, groups=len(keys))
    split_of_group: dict[str, str] = {}
    start = 0
    for (name, _), count in zip(fractions, counts, strict=True):
        for key in keys[start : start + count]:
            split_of_group[key] = name
        start += count
    split_of = {trace_id: split_of_group[group_of[trace_id]] for trace_id in selected}
    splits_per_group: dict[str, set[str]] = {}
    for trace_id, name in split_of.items():
        splits_per_group.setdefault(group_of[trace_id], set()).add(name)
    summary = []
    for (name, fraction), count in zip(fractions, counts, strict=True):
        ids = [trace_id for trace_id in selected if split_of[trace_id] == name]
        summary.append(
            {"name": name, "fraction": fraction, "count": len(ids), "group_count": count, "sha256": ids_sha256(ids)}
        )
    shared = sum(1 for names in splits_per_group.values() if len(names) > 1)
    return SplitAssignment(split_of=split_of, summary=summary, shared_groups=shared)
