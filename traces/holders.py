"""Who else holds a trace: a registry that higher apps fill, so a delete can warn about them.

``traces`` never imports the apps that keep trace ids (``datasets`` does, by plain UUID,
so membership outlives the trace). They register a lookup here from their
``AppConfig.ready()``; deletes in the API and the admin ask it before deleting.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

HOLDER_KEYS_MAX = 100


class HolderLookup(Protocol):
    def __call__(self, *, trace_ids: Sequence[uuid.UUID], limit: int) -> tuple[list[str], int]:
        """The first ``limit`` keys (sorted) of the holders of any of ``trace_ids``, and their total."""
        ...


@dataclass(frozen=True)
class Holding:
    """``total`` holders of one kind (e.g. ``datasets``); ``keys`` names the first of them, sorted."""

    kind: str
    keys: list[str]
    total: int

    @property
    def header(self) -> str:
        """The response header that lists the keys, e.g. ``Held-By-Datasets``."""
        return f"Held-By-{self.kind.title()}"

    def describe(self) -> str:
        more = self.total - len(self.keys)
        return f"{self.kind} {', '.join(self.keys)}" + (f" and {more} more" if more > 0 else "")


@dataclass(frozen=True)
class _Holder:
    lookup: HolderLookup
    consequence: str


_HOLDERS: dict[str, _Holder] = {}


def register_trace_holder(kind: str, lookup: HolderLookup, *, consequence: str) -> None:
    """Registers (or replaces) one kind of holder; ``kind`` is a plural noun, ``consequence`` one sentence."""
    _HOLDERS[kind] = _Holder(lookup=lookup, consequence=consequence)


def trace_holdings(*, trace_ids: Sequence[uuid.UUID], limit: int = HOLDER_KEYS_MAX) -> list[Holding]:
    """Every kind of holder that holds at least one of ``trace_ids``, by kind name; one lookup per kind."""
    holdings: list[Holding] = []
    for kind in sorted(_HOLDERS):
        keys, total = _HOLDERS[kind].lookup(trace_ids=trace_ids, limit=limit)
        if total:
            holdings.append(Holding(kind=kind, keys=keys, total=total))
    return holdings


def holdings_warning(holdings: Sequence[Holding], *, many: bool = False, deleted: bool = False) -> str:
    """What a person deleting (or having ``deleted``) held traces should know; "" when nothing holds them."""
    subject = {
        (False, False): "This trace is",
        (True, False): "These traces are",
        (False, True): "The deleted trace was",
        (True, True): "The deleted traces were",
    }[(many, deleted)]
    return " ".join(
        f"{subject} held by {holding.describe()}. {_HOLDERS[holding.kind].consequence}" for holding in holdings
    )
