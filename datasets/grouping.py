"""Grouping strategies for splits: each maps trace ids to a group key, and whole groups go to one split.

A strategy is a function of the stored data only (never of row order or the machine), so the
same traces always fall into the same groups. The registry is filled here; ``near_duplicate``
stands in for the near-duplicate index until that index exists on this installation.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable, Sequence

from traces import selectors as trace_selectors
from traces.near_duplicates import near_duplicate_groups
from traces.prompts import prompt_key
from tunix_rt.errors import InvalidInput

Grouping = Callable[[Sequence[uuid.UUID]], dict[uuid.UUID, str]]

DEFAULT_GROUPING = "prompt"


def group_by_prompt(trace_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, str]:
    """Traces group when their normalized prompts are equal; the key is that text's SHA-256 (short, stable)."""
    return {
        trace_id: hashlib.sha256(prompt_key(prompt).encode("utf-8")).hexdigest()
        for trace_id, prompt in trace_selectors.trace_prompts(trace_ids=trace_ids)
    }


def group_by_near_duplicate(trace_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, str]:
    """The LSH clusters of the near-duplicate index: traces sharing a band key of their prompt's
    MinHash group together (transitively); a trace without index rows is a group of its own.
    The key is the group's smallest trace id, the same on every database for the same traces."""
    groups = near_duplicate_groups(trace_ids=trace_ids)
    return {trace_id: str(groups.get(trace_id, trace_id)) for trace_id in trace_ids}


GROUPINGS: dict[str, Grouping] = {
    "prompt": group_by_prompt,
    "near_duplicate": group_by_near_duplicate,
}


def grouping_names() -> list[str]:
    return list(GROUPINGS)


def get_grouping(name: str) -> Grouping:
    """The strategy called ``name``; an unknown name is ``InvalidInput`` listing the valid ones."""
    try:
        return GROUPINGS[name]
    except KeyError:
        valid = ", ".join(GROUPINGS)
        raise InvalidInput(f"Unknown split_group {name!r}; choose one of: {valid}.", field="split_group") from None
