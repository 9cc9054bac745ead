"""Finds stored JSON values nested deeper than ``JSON_MAX_DEPTH``: rows written before the limit held.

Every door refuses such values now and every reader copes with them, so they are reported, never
changed: what a curator stored is theirs to fix.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import orjson
from django.apps import apps
from django.db import models
from django.db.models.functions import Cast

from tunix_rt.validation import JSON_MAX_DEPTH, json_depth

CHUNK_ROWS = 2_000
PARSER_DEPTH = 1_024  # orjson reads this many levels; deeper text is reported as deeper than it


@dataclass(frozen=True)
class DeepValue:
    model: str
    pk: Any
    field: str
    depth: int  # PARSER_DEPTH + 1 stands for "deeper than the parser reads"


def json_fields() -> Iterator[tuple[type[models.Model], list[str]]]:
    """Every installed model with its concrete JSON columns."""
    for model in apps.get_models():
        names = [f.name for f in model._meta.concrete_fields if isinstance(f, models.JSONField)]
        if names:
            yield model, names


def text_depth(text: str | bytes) -> int:
    """Levels of objects and arrays in stored JSON text, read as text so no decoder recursion runs."""
    try:
        return json_depth(orjson.loads(text))
    except orjson.JSONDecodeError as exc:
        if str(exc).startswith("depth limit exceeded"):
            return PARSER_DEPTH + 1
        raise


def stored_json_too_deep(*, limit: int = JSON_MAX_DEPTH) -> Iterator[DeepValue]:
    """Each stored JSON value nested deeper than ``limit``, model by model, in primary-key order.

    One query per ``CHUNK_ROWS`` rows and model; the values are read as text so a value of any depth is
    measured rather than decoded by Django.
    """
    for model, names in json_fields():
        label = model._meta.label
        aliases = {f"_json_{n}": Cast(name, models.TextField()) for n, name in enumerate(names)}
        rows = (
            model._default_manager.annotate(**aliases)
            .order_by("pk")
            .values_list("pk", *aliases)
            .iterator(chunk_size=CHUNK_ROWS)
        )
        for pk, *texts in rows:
            for name, text in zip(names, texts, strict=True):
                if text is None:
                    continue
                depth = text_depth(text)
                if depth > limit:
                    yield DeepValue(model=label, pk=pk, field=name, depth=depth)
