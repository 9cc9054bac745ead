"""Services that turn the built-in generators (and optional UNGAR) into stored traces."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, cast
from uuid import UUID

from django.conf import settings
from django.db import transaction

from traces import ungar
from traces.generators import (
    InvalidGeneratorOption,
    NotEnoughDistinctPrompts,
    UnknownGenerator,
    distinct_prompts,
    generate,
    get_generator,
)
from traces.services import traces_import_batch
from traces.types import TracePayload
from tunix_rt.audit import audit_operation
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
@audit_operation()
def traces_persist(*, payloads: Sequence[dict[str, Any]], actor: Any = None) -> list[UUID]:
    """Stores generated payloads in batches of ``TRACE_BATCH_MAX``, all in one transaction."""
    size = settings.TRACE_BATCH_MAX
    ids: list[UUID] = []
    for start in range(0, len(payloads), size):
        chunk = cast(list[TracePayload], list(payloads[start : start + size]))
        ids += [trace.id for trace in traces_import_batch(payloads=chunk, actor=actor)]
    return ids


def _unique_payloads(*, name: str, count: int, seed: int, level: str | None) -> list[dict[str, Any]]:
    """``count`` payloads with distinct content (a generator's content follows from its prompt)."""
    generator = get_generator(name)
    space = generator.prompt_space_size(level=level)
    if count > space:
        label = f"{name!r} level {level or generator.options['default_level']!r}"
        raise InvalidInput(
            f"{label} holds {space} distinct traces; {count} requested (unique: false allows repeats).",
            field="count",
        )
    try:
        return distinct_prompts(name=name, count=count, seed=seed, level=level)
    except NotEnoughDistinctPrompts as exc:
        raise InvalidInput(str(exc), field="count") from None


def traces_generate(
    *,
    name: str,
    count: int,
    seed: int,
    level: str | None = None,
    persist: bool = True,
    unique: bool = True,
    actor: Any = None,
) -> GenerationResult:
    """The same name, count, seed, level and ``unique`` always give the same payloads; ``persist`` stores them.

    With ``unique`` (the default) one call never emits the same content twice: the stream is
    read past repeats, and a count above what the level holds is ``InvalidInput`` naming it.
    """
    try:
        if unique:
            payloads = _unique_payloads(name=name, count=count, seed=seed, level=level)
        else:
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
