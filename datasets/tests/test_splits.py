from __future__ import annotations

import datetime as dt
import hashlib
import uuid
from collections import defaultdict
from typing import Any

import pytest

from datasets import selectors
from datasets.models import Dataset, DatasetItem
from datasets.services.splits import group_counts, splits_check
from datasets.tests.factories import build
from traces.prompts import prompt_key as normalized_prompt
from traces.tests.factories import TraceFactory
from tunix_rt.errors import InvalidInput

pytestmark = pytest.mark.django_db

BASE = dt.datetime(2025, 3, 1, tzinfo=dt.UTC)


def repeated_prompts(groups: int, per_group: int = 3) -> list[Any]:
    """``groups`` prompts, each asked ``per_group`` times with different steps and spelling of spaces/case."""
    traces = []
    for g in range(groups):
        for k in range(per_group):
            prompt = f"Question {g}: what is {g} + {g}?"
            if k == 1:
                prompt = "  " + prompt.upper().replace(" ", "\t ")
            traces.append(
                TraceFactory.create(
                    prompt=prompt,
                    steps=[{"i": 0, "type": "think", "content": f"attempt {k} of {g}"}],
                    created_at=BASE + dt.timedelta(minutes=g * per_group + k),
                )
            )
    return traces


def split_members(dataset: Dataset) -> dict[str, list[uuid.UUID]]:
    members: dict[str, list[uuid.UUID]] = defaultdict(list)
    for item in DatasetItem.objects.filter(dataset=dataset).order_by("position"):
        members[item.split].append(item.trace_id)
    return members


@pytest.mark.parametrize(
    ("fractions", "groups", "expected"),
    [
        ([0.8, 0.2], 10, [8, 2]),
        ([0.7, 0.2, 0.1], 7, [5, 1, 1]),  # 4.9, 1.4, 0.7: floors 4, 1, 0, then the two largest remainders
        ([0.5, 0.5], 3, [2, 1]),  # a tie goes to the split named first
        ([0.34, 0.33, 0.33], 100, [34, 33, 33]),
        ([0.29, 0.71], 100, [29, 71]),  # exact decimals: 0.29 * 100 is 29, not 28.999...
        ([0.6, 0.2, 0.2], 2, [1, 1, 0]),
        ([1.0], 5, [5]),
        ([0.5, 0.5], 0, [0, 0]),
    ],
)
def test_group_counts_are_largest_remainder_shares(fractions: list[float], groups: int, expected: list[int]) -> None:
    named = [(f"s{n}", f) for n, f in enumerate(fractions)]
    assert group_counts(fractions=named, groups=groups) == expected


@pytest.mark.parametrize(
    ("splits", "message"),
    [
        ({}, "non-empty object"),
        ([], "non-empty object"),
        ("train", "non-empty object"),
        ([["train"]], "non-empty object"),
        ([{"name": "train"}], "non-empty object"),
        ([["train", 0.5], ["train", 0.5]], "named twice"),
        ({"train": 0.8, "test": 0.1}, "sum to 1; they sum to 0.9"),
        ({"train": 0.8, "test": 0.3}, "sum to 1"),
        ({"train": 1.2, "test": -0.2}, "greater than 0"),
        ({"train": 1.0, "test": 0}, "greater than 0"),
        ({"train": "0.5", "test": 0.5}, "must be a number"),
        ({"train": True}, "must be a number"),
        ({"train": float("nan")}, "must be a number"),
        ({"Train": 1.0}, "must match"),
        ({"9lives": 1.0}, "must match"),
        ({"a" * 33: 1.0}, "must match"),
        ({"with-dash": 1.0}, "must match"),
        ({f"s{n}": 1 / 17 for n in range(17)}, "At most 16"),
    ],
)
def test_splits_check_refuses_bad_splits(splits: Any, message: str) -> None:
    with pytest.raises(InvalidInput, match=message) as caught:
        splits_check(splits)
    assert caught.value.field == "splits"


def test_splits_check_keeps_the_request_order() -> None:
    expected = [("train", 0.7), ("dev", 0.2), ("test", 0.1)]
    assert splits_check({"train": 0.7, "dev": 0.2, "test": 0.1}) == expected
    assert splits_check([["train", 0.7], ["dev", 0.2], ["test", 0.1]]) == expected
    assert splits_check([{"name": n, "fraction": f} for n, f in expected]) == expected
    assert splits_check({"a" + "b" * 31: 1}) == [("a" + "b" * 31, 1.0)]


def test_normalized_prompt_folds_case_and_collapses_whitespace() -> None:
    assert normalized_prompt("  What IS\t2 +\n 2? ") == "what is 2 + 2?"
    assert normalized_prompt("Straße") == normalized_prompt("STRASSE")


def test_whole_groups_go_to_one_split_in_exact_shares() -> None:
    repeated_prompts(10)
    dataset = build(limit=1000, splits={"train": 0.8, "test": 0.2})
    members = split_members(dataset)
    prompts = {t.id: normalized_prompt(t.prompt) for t in TraceFactory._meta.model.objects.all()}
    groups = {name: {prompts[i] for i in ids} for name, ids in members.items()}
    assert len(groups["train"]) == 8 and len(groups["test"]) == 2
    assert not groups["train"] & groups["test"]
    assert len(members["train"]) == 24 and len(members["test"]) == 6
    assert dataset.split_group == "prompt" and dataset.shared_groups == 0
    manifest = selectors.dataset_manifest(dataset=dataset)
    assert list(manifest["splits"]) == ["train", "test"]
    assert manifest["splits"]["train"]["count"] == 24 and manifest["splits"]["train"]["group_count"] == 8
    assert manifest["splits"]["test"] == {
        "count": 6,
        "group_count": 2,
        "sha256": hashlib.sha256("".join(f"{i}\n" for i in members["test"]).encode()).hexdigest(),
    }
    assert manifest["split_fractions"] == {"train": 0.8, "test": 0.2}
    assert manifest["leakage"] == {"split_group": "prompt", "shared_groups": 0}
    assert [str(i) for i in members["train"]] == [i for i in manifest["trace_ids"] if uuid.UUID(i) in members["train"]]


def test_same_seed_same_splits_other_seed_other_splits() -> None:
    repeated_prompts(12, per_group=2)
    first = build(version="1", limit=1000, seed=5, splits={"train": 0.5, "dev": 0.25, "test": 0.25})
    again = build(version="2", limit=1000, seed=5, splits={"train": 0.5, "dev": 0.25, "test": 0.25})
    other = build(version="3", limit=1000, seed=6, splits={"train": 0.5, "dev": 0.25, "test": 0.25})
    assert first.splits == again.splits
    assert split_members(first) == split_members(again)
    assert [e["group_count"] for e in other.splits] == [6, 3, 3]
    assert split_members(first) != split_members(other)


GOLDEN_IDS = [uuid.UUID(int=n + 1) for n in range(8)]


def test_assignment_is_a_pure_function_of_the_data_and_seed() -> None:
    """The expected splits are written out: they must come out the same on SQLite, PostgreSQL and any machine."""
    for n, trace_id in enumerate(GOLDEN_IDS):
        TraceFactory.create(id=trace_id, prompt=f"Golden prompt {n % 4}", created_at=BASE + dt.timedelta(minutes=n))
    dataset = build(limit=100, seed=42, splits={"train": 0.5, "test": 0.5})
    members = split_members(dataset)
    assert {name: sorted(i.int for i in ids) for name, ids in members.items()} == GOLDEN_SPLITS
    assert {e["name"]: e["sha256"] for e in dataset.splits} == GOLDEN_SHA256


# Group keys are sha256("golden prompt N"); ranked by sha256("42:" + key) the prompts come as 0, 2, 3, 1,
# so train takes prompts 0 and 2 (ids 1, 5 and 3, 7) and test prompts 3 and 1.
GOLDEN_SPLITS = {"train": [1, 3, 5, 7], "test": [2, 4, 6, 8]}
GOLDEN_SHA256 = {
    "train": "1233d15dfc835537b6f120f10bf1a3b3c57800642bc74c4f4aa2d9ca4ef26e21",
    "test": "269d1e23d92fbcc9167fb269e38d60d183855706d6a7377ef727acbb97085457",
}


def test_a_group_cut_by_the_limit_stays_whole_among_the_selected() -> None:
    repeated_prompts(4)
    dataset = build(limit=7, splits={"a": 0.5, "b": 0.5})
    members = split_members(dataset)
    assert sum(len(ids) for ids in members.values()) == 7
    assert sorted(e["group_count"] for e in dataset.splits) == [1, 2]
    assert dataset.shared_groups == 0


def test_more_splits_than_groups_leaves_a_split_empty() -> None:
    repeated_prompts(1)
    dataset = build(splits={"train": 0.8, "dev": 0.1, "test": 0.1})
    assert [(e["name"], e["count"], e["group_count"]) for e in dataset.splits] == [
        ("train", 3, 1),
        ("dev", 0, 0),
        ("test", 0, 0),
    ]
    assert dataset.splits[1]["sha256"] == hashlib.sha256(b"").hexdigest()


def test_near_duplicate_groups_keep_nearly_equal_prompts_in_one_split() -> None:
    from traces.services import traces_import_batch
    from traces.tests.factories import make_payload

    questions = [
        "A farmer keeps 40 sheep in the north meadow and sells a dozen at the autumn fair; how many remain?",
        "Which planet in our solar system has the shortest day, and how long does that day last in hours?",
        "If a train leaves the coastal station at nine and arrives inland at half past eleven, how long was it?",
        "Name the chemical element whose symbol is Fe and say which common alloy is made mostly from it.",
        "A recipe needs three eggs per cake; how many eggs does a bakery use to bake seventeen of those cakes?",
        "What is the capital city of Australia, and why was it chosen over Sydney or Melbourne historically?",
        "Translate the French phrase 'bonne nuit' into English and explain when people usually say it.",
        "How many edges does a cube have, and how many of them meet at each of its eight corners?",
    ]
    payloads = []
    for n, text in enumerate(questions):
        # each question twice: as is, and with its last word changed (a near duplicate, not an exact one)
        payloads.append(make_payload(n, prompt=text))
        payloads.append(make_payload(n + 100, prompt=text[:-1] + " exactly?"))
    traces_import_batch(payloads=payloads)  # type: ignore[arg-type]
    dataset = build(splits={"train": 0.5, "test": 0.5}, split_group="near_duplicate", limit=16, seed=3)
    assert dataset.split_group == "near_duplicate" and dataset.shared_groups == 0
    split_of = {}
    for item in DatasetItem.objects.filter(dataset=dataset):
        trace = TraceFactory._meta.model.objects.get(id=item.trace_id)
        split_of[trace.meta["n"]] = item.split
    assert all(split_of[n] == split_of[n + 100] for n in range(len(questions)))
    assert set(split_of.values()) == {"train", "test"}


def test_split_group_rules() -> None:
    repeated_prompts(2)
    with pytest.raises(InvalidInput, match="choose one of: prompt, near_duplicate"):
        build(splits={"train": 1.0}, split_group="shape")
    with pytest.raises(InvalidInput, match="give splits too"):
        build(split_group="prompt")
    assert Dataset.objects.count() == 0 and DatasetItem.objects.count() == 0


def test_a_build_without_splits_keeps_its_manifest_shape() -> None:
    repeated_prompts(1)
    dataset = build()
    manifest = selectors.dataset_manifest(dataset=dataset)
    assert "splits" not in manifest and "leakage" not in manifest
    assert set(DatasetItem.objects.values_list("split", flat=True)) == {""}


def test_split_trace_ids_and_unknown_split() -> None:
    repeated_prompts(4)
    dataset = build(splits={"train": 0.75, "test": 0.25})
    test_ids = selectors.dataset_trace_ids(dataset=dataset, split="test")
    assert test_ids == split_members(dataset)["test"]
    with pytest.raises(InvalidInput, match="has no split 'dev'; its splits: train, test") as caught:
        selectors.dataset_trace_ids(dataset=dataset, split="dev")
    assert caught.value.field == "split"
    plain = build(version="plain")
    with pytest.raises(InvalidInput, match="built without splits"):
        selectors.dataset_trace_ids(dataset=plain, split="train")
