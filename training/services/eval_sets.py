"""Eval sets: imported items, items drawn from a dataset split, or prompts from a generator."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db import IntegrityError, transaction

from datasets.selectors import dataset_get, dataset_iter_traces
from training.models import EvalItem, EvalSet
from training.splits import eval_items_from_split
from tunix_rt.accounts import user_or_none
from tunix_rt.audit import audit_record
from tunix_rt.errors import Conflict, InvalidInput
from tunix_rt.models import AuditAction, AuditObjectType

SHOWN_REPEATED = 5


@transaction.atomic
def eval_set_import(
    *,
    name: str,
    items: Sequence[dict[str, Any]],
    description: str = "",
    source_dataset_key: str = "",
    source_split: str = "",
    actor: Any = None,
) -> EvalSet:
    """Stores a validated eval set whole, or nothing; a name that exists is a 409."""
    if EvalSet.objects.filter(name=name).exists():
        raise Conflict(f"Eval set {name!r} already exists; eval sets are immutable, choose a new name.")
    if not items:
        raise InvalidInput("An eval set needs at least one item.", field="items")
    ids = [item["id"] for item in items]
    repeated = sorted({i for i in ids if ids.count(i) > 1}) if len(set(ids)) != len(ids) else []
    if repeated:
        raise InvalidInput(f"Item ids must be unique; repeated: {', '.join(repeated[:SHOWN_REPEATED])}.", field="items")
    try:
        eval_set = EvalSet.objects.create(
            name=name,
            description=description,
            item_count=len(items),
            source_dataset_key=source_dataset_key,
            source_split=source_split,
            created_by=user_or_none(actor),
        )
    except IntegrityError:
        raise Conflict(f"Eval set {name!r} already exists.") from None
    EvalItem.objects.bulk_create(
        EvalItem(
            eval_set=eval_set,
            position=n,
            example_id=item["id"],
            prompt=item["prompt"],
            expected_answer=item["expected_answer"],
            category=item.get("category") or "",
            difficulty=item.get("difficulty") or "",
        )
        for n, item in enumerate(items)
    )
    audit_record(actor=actor, action=AuditAction.CREATE, object_type=AuditObjectType.EVAL_SET, object_id=name)
    return eval_set


@transaction.atomic
def eval_set_from_split(
    *, name: str, dataset_key: str, split: str, description: str = "", actor: Any = None
) -> EvalSet:
    """An eval set of one split of a dataset, remembering which; all or nothing, 409 on a name clash."""
    if EvalSet.objects.filter(name=name).exists():
        raise Conflict(f"Eval set {name!r} already exists; eval sets are immutable, choose a new name.")
    items = eval_items_from_split(dataset_key=dataset_key, split=split)
    if not items:
        raise InvalidInput(f"Split {split!r} of {dataset_key} has no stored traces.", field="split")
    return eval_set_import(
        name=name,
        items=items,
        description=description or f"Split {split} of dataset {dataset_key}.",
        source_dataset_key=dataset_key,
        source_split=split,
        actor=actor,
    )


def _category_of(payload: dict[str, Any]) -> str:
    meta = payload.get("meta") or {}
    operators = meta.get("operators")
    if meta.get("generator") == "arithmetic" and operators:
        if len(operators) > 1:
            return "chained"
        return "addition" if operators[0] == "+" else "subtraction"
    return str(meta.get("generator") or "generated")


def eval_items_from_generator(
    *, name: str, count: int, seed: int, level: str | None, exclude_dataset_key: str
) -> list[dict[str, Any]]:
    """``count`` eval items whose prompts are distinct and absent from the dataset; never repeats a prompt."""
    from traces.generators import (
        InvalidGeneratorOption,
        NotEnoughDistinctPrompts,
        UnknownGenerator,
        distinct_prompts,
        get_generator,
    )

    dataset = dataset_get(key=exclude_dataset_key)
    seen = {trace.prompt for trace in dataset_iter_traces(dataset=dataset)}
    try:
        generator = get_generator(name)
        payloads = distinct_prompts(name=name, count=count, seed=seed, level=level, exclude=seen)
    except UnknownGenerator as exc:
        raise InvalidInput(str(exc), field="name") from None
    except (NotEnoughDistinctPrompts, InvalidGeneratorOption) as exc:
        raise InvalidInput(str(exc), field="count") from None
    difficulty = level or str(generator.options.get("default_level") or "")
    return [
        {
            "id": f"{name}-{difficulty or 'default'}-s{seed}-{n:05d}",
            "prompt": payload["prompt"],
            "expected_answer": generator.expected_answer(payload),
            "category": _category_of(payload),
            "difficulty": difficulty,
        }
        for n, payload in enumerate(payloads)
    ]
