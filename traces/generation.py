"""Services that turn the built-in generators (and optional UNGAR) into stored traces."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, cast
from uuid import UUID

from django.conf import settings
from django.db import transaction

from traces import ungar
from traces.generators import InvalidGeneratorOption, UnknownGenerator, generate, get_generator
from traces.services import traces_import_batch
from traces.types import TracePayload
from tunix_rt.errors import InvalidInput, NotFound

PREVIEW_SIZE = 5


@dataclass(frozen=True)
class GenerationResult:
    trace_ids: list[UUID]
    preview: list[dict[str, Any]]


def generator_options(*, name: str) -> dict[str, Any]:
    """The options a generator accepts; ``NotFound`` names the available generators."""
    try:
        return dict(get_generator(name).options)
    except UnknownGenerator as exc:
        raise NotFound(str(exc)) from None


@transaction.atomic
def traces_persist(*, payloads: Sequence[dict[str, Any]], actor: Any = None) -> list[UUID]:
    """Stores generated payloads in batches of ``TRACE_BATCH_MAX``, all in one transaction."""
    size = settings.TRACE_BATCH_MAX
    ids: list[UUID] = []
    for start in range(0, len(payloads), size):
        chunk = cast(list[TracePayload], list(payloads[start : start + size]))
        ids += [trace.id for trace in traces_import_batch(payloads=chunk, actor=actor)]
    return ids


def traces_generate(
    *, name: str, count: int, seed: int, level: str | None = None, persist: bool = True, actor: Any = None
) -> GenerationResult:
    """The same name, count, seed and level always give the same payloads; ``persist`` stores them."""
    try:
        payloads = generate(name=name, count=count, seed=seed, level=level)
    except UnknownGenerator as exc:
        raise NotFound(str(exc)) from None
    except InvalidGeneratorOption as exc:
        raise InvalidInput(str(exc), field="level" if "level" in str(exc) else "seed") from None
    ids = traces_persist(payloads=payloads, actor=actor) if persist else []
    return GenerationResult(trace_ids=ids, preview=payloads[:PREVIEW_SIZE])


def ungar_generate(*, count: int, seed: int, persist: bool = True, actor: Any = None) -> GenerationResult:
    """High Card Duel episodes played by the optional UNGAR engine (501 when it is absent)."""
    payloads = ungar.high_card_duel_payloads(count=count, seed=seed)
    ids = traces_persist(payloads=payloads, actor=actor) if persist else []
    return GenerationResult(trace_ids=ids, preview=payloads[:PREVIEW_SIZE])
