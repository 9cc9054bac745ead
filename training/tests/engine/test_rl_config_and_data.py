"""GRPO/DPO configs and the pre-flight checks on their data: pure Python, no JAX."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from traces.verifiers.rewards import REWARD_FUNCTIONS
from training.engine.config import ConfigError, DPORunConfig, GRPORunConfig, load_run_config, parse_run_config
from training.engine.data import DataError
from training.engine.rl_data import (
    check_grpo_config,
    check_grpo_records,
    encode_preferences,
    grpo_batches,
    preference_batches,
    step_pair,
)

GOOD = "<reasoning>2 plus 2 is 4</reasoning>\n<answer>4</answer><end_of_turn>"


def test_presets_parse_to_their_kind() -> None:
    grpo = load_run_config("training/configs/grpo_tiny.yaml")
    dpo = load_run_config("training/configs/dpo_tiny.yaml")
    assert isinstance(grpo, GRPORunConfig) and grpo.grpo.num_generations == 4 and grpo.grpo.beta == 0.04
    assert isinstance(dpo, DPORunConfig) and dpo.dpo.beta == 0.1
    steps: Any = load_run_config("training/configs/grpo_steps.yaml")
    assert steps.grpo.rewards == ("match_format_exactly", "check_answer", "check_steps")
    sft: Any = load_run_config("training/configs/sft_hard.yaml")
    assert sft.training.max_seq_len == 224


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"kind": "grpo", "grpo": {"num_generations": 1}}, "grpo.num_generations must be >= 2"),
        ({"kind": "grpo", "grpo": {"rewards": ["check_answer", "vibes"]}}, "unknown reward(s) ['vibes']"),
        ({"kind": "grpo", "grpo": {"rewards": []}}, "non-empty list"),
        ({"kind": "grpo", "grpo": {"micro_batch_size": 3}}, "grpo.micro_batch_size (3) must divide"),
        ({"kind": "grpo", "model": {}}, "unknown config key(s): model"),
        ({"kind": "grpo", "training": {"learning_rate": {"peak": "1e-5"}}}, "write 3.0e-3"),
        ({"kind": "dpo", "dpo": {"beta": 0}}, "dpo.beta must be > 0.0"),
        ({"kind": "dpo", "grpo": {}}, "unknown config key(s): grpo"),
        ({"kind": "ppo"}, "kind must be one of sft, grpo, dpo"),
        ({"kind": "sft", "training": {"max_steps": 0}}, "training.max_steps must be >= 1"),
    ],
)
def test_bad_rl_configs_are_refused_by_key(data: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_run_config(data)
    assert message in str(caught.value)


def test_grpo_config_check_refuses_micro_batches_smaller_than_a_group() -> None:
    check_grpo_config(parse_run_config({"kind": "grpo", "training": {"batch_size": 8}}))  # type: ignore[arg-type]
    config = parse_run_config({"kind": "grpo", "training": {"batch_size": 8}, "grpo": {"micro_batch_size": 2}})
    with pytest.raises(DataError, match=r"micro_batch_size \(2\) is smaller than grpo.num_generations \(4\)"):
        check_grpo_config(config)  # type: ignore[arg-type]


def test_grpo_records_need_answers_the_rewards_can_verify() -> None:
    config: Any = parse_run_config({"kind": "grpo"})
    record = {"id": "a", "prompt": "What is 2 + 2?", "completion": GOOD, "answer": "4"}
    check_grpo_records(records=[record], config=config)
    with pytest.raises(DataError, match=r"record 1 \(id b\) has no 'answer'"):
        check_grpo_records(records=[record, {**record, "id": "b", "answer": ""}], config=config)
    with pytest.raises(
        DataError, match=r"reward check_answer cannot verify record 0 \(id a\): it gives 0.25 to the trace"
    ):
        check_grpo_records(records=[{**record, "answer": "5"}], config=config)
    only_format: Any = parse_run_config({"kind": "grpo", "grpo": {"rewards": ["match_format_exactly"]}})
    with pytest.raises(DataError, match="must include check_answer or check_numbers"):
        check_grpo_records(records=[record], config=only_format)
    with pytest.raises(DataError, match="no training records"):
        check_grpo_records(records=[], config=config)


def test_grpo_records_must_get_full_marks_from_check_steps_when_it_is_chosen() -> None:
    config: Any = parse_run_config(
        {"kind": "grpo", "grpo": {"rewards": ["match_format_exactly", "check_answer", "check_steps"]}}
    )
    assert config.grpo.rewards[-1] == "check_steps"
    steps = (
        "<reasoning>1. Ones: 2 + 3 = 5, no carry.\n2. Tens: 1 + 2 = 3.\n"
        "3. Combine: 3 tens and 5 ones, so 12 + 23 = 35.</reasoning>\n<answer>35</answer><end_of_turn>"
    )
    record = {"id": "a", "prompt": "What is 12 + 23?", "completion": steps, "answer": "35"}
    check_grpo_records(records=[record], config=config)
    with pytest.raises(DataError, match=r"reward check_steps cannot verify record 0 \(id a\): it gives 0.0 to"):
        check_grpo_records(records=[{**record, "prompt": "Add twelve and twenty-three."}], config=config)
    default: Any = parse_run_config({"kind": "grpo"})
    assert default.grpo.rewards == tuple(fn.__name__ for fn in REWARD_FUNCTIONS)  # what tunix_reward sums


def test_grpo_batches_are_numpy_columns_in_a_seeded_order() -> None:
    config: Any = parse_run_config({"kind": "grpo", "training": {"batch_size": 4, "max_steps": 5, "seed": 3}})
    records = [{"prompt": f"p{i}", "answer": str(i)} for i in range(6)]
    batches = list(grpo_batches(records=records, config=config))
    again = list(grpo_batches(records=records, config=config))
    assert len(batches) == 5 and all(isinstance(b["prompts"], np.ndarray) for b in batches)
    assert [list(b["prompts"]) for b in batches] == [list(b["prompts"]) for b in again]
    for batch in batches:
        assert [f"p{a}" for a in batch["answer"]] == list(batch["prompts"])


class CharTokenizer:
    """One id per character (ids from 3), with pad 0, bos 1, eos 2: enough to check padding and budgets."""

    def EncodeAsIds(self, text: str) -> list[int]:  # noqa: N802 - SentencePiece's name
        return [3 + (ord(c) % 50) for c in text]

    def pad_id(self) -> int:
        return 0

    def bos_id(self) -> int:
        return 1

    def eos_id(self) -> int:
        return 2


def test_preferences_are_left_padded_prompts_and_right_padded_answers_within_budget() -> None:
    config: Any = parse_run_config({"kind": "dpo", "dpo": {"max_prompt_len": 6, "max_response_len": 5},
                                    "training": {"batch_size": 2, "max_steps": 3}})  # fmt: skip
    arrays = encode_preferences(
        records=[{"prompt": "abc", "chosen": "xy", "rejected": "zzzz"}], processor=CharTokenizer(), config=config
    )
    assert arrays["prompt_mask"].tolist() == [[0, 0, 1, 1, 1, 1]] and arrays["prompt_ids"][0, 2] == 1
    assert arrays["chosen_mask"].tolist() == [[1, 1, 1, 0, 0]] and arrays["chosen_ids"][0, 2] == 2
    assert arrays["rejected_mask"].tolist() == [[1, 1, 1, 1, 1]]
    batches = list(preference_batches(arrays=arrays, config=config))
    assert len(batches) == 3 and batches[0]["chosen_ids"].shape == (2, 5)
    for bad, message in (
        ({"prompt": "abcdef", "chosen": "x", "rejected": "y"}, "prompt of 7 tokens, more than dpo.max_prompt_len=6"),
        ({"prompt": "a", "chosen": "xxxxx", "rejected": "y"}, "chosen completion of 6 tokens"),
        ({"prompt": "a", "chosen": "x", "rejected": "x"}, "the same chosen and rejected"),
        ({"prompt": "a", "chosen": "", "rejected": "x"}, "no non-empty 'chosen'"),
    ):
        with pytest.raises(DataError, match=message):
            encode_preferences(records=[{"id": "p", **bad}], processor=CharTokenizer(), config=config)
    with pytest.raises(DataError, match="no preference pairs"):
        encode_preferences(records=[], processor=CharTokenizer(), config=config)


def test_step_pairs_move_the_shared_lines_into_the_prompt() -> None:
    record = {"prompt": "Q\n", "chosen": "1. a\n2. b\n3. c", "rejected": "1. a\n2. x\n3. y"}
    assert step_pair(record) == ("Q\n1. a\n", {"chosen": ("2. b\n", False), "rejected": ("2. x\n", False)})
    last = {"prompt": "Q\n", "chosen": "1. a\n<answer>5</answer>", "rejected": "1. a\n<answer>6</answer>"}
    assert step_pair(last)[1] == {"chosen": ("<answer>5</answer>", True), "rejected": ("<answer>6</answer>", True)}
    uneven = {"prompt": "Q\n", "chosen": "1. a\n2. b", "rejected": "1. a\n2. b\n3. c"}
    assert step_pair(uneven) == ("Q\n", {"chosen": ("1. a\n2. b", True), "rejected": ("1. a\n2. b\n3. c", True)})


def test_step_granularity_encodes_the_first_differing_line_without_an_end_token() -> None:
    config: Any = parse_run_config(
        {"kind": "dpo", "dpo": {"granularity": "step", "max_prompt_len": 8, "max_response_len": 4}}
    )
    record = {"prompt": "Q", "chosen": "ab\ncd\nef", "rejected": "ab\nce\nxy"}
    arrays = encode_preferences(records=[record], processor=CharTokenizer(), config=config)
    assert arrays["prompt_mask"].tolist() == [[0, 0, 0, 1, 1, 1, 1, 1]]  # bos, "Q", "ab\n"
    assert arrays["chosen_mask"].tolist() == [[1, 1, 1, 0]]  # "cd\n", no end token
    whole: Any = parse_run_config({"kind": "dpo", "dpo": {"max_prompt_len": 8, "max_response_len": 4}})
    with pytest.raises(DataError, match="chosen completion of 9 tokens"):
        encode_preferences(records=[record], processor=CharTokenizer(), config=whole)
    with pytest.raises(ConfigError, match="dpo.granularity must be one of response, step, got 'token'"):
        parse_run_config({"kind": "dpo", "dpo": {"granularity": "token"}})


def test_dpo_algorithm_is_dpo_or_orpo() -> None:
    orpo: Any = parse_run_config({"kind": "dpo", "dpo": {"algorithm": "orpo", "lambda_orpo": 0.5}})
    assert (orpo.dpo.algorithm, orpo.dpo.lambda_orpo) == ("orpo", 0.5)
    assert parse_run_config({"kind": "dpo"}).dpo.algorithm == "dpo"  # type: ignore[union-attr]
    with pytest.raises(ConfigError, match="dpo.algorithm must be one of dpo, orpo, got 'ipo'"):
        parse_run_config({"kind": "dpo", "dpo": {"algorithm": "ipo"}})
    with pytest.raises(ConfigError, match="dpo.lambda_orpo"):
        parse_run_config({"kind": "dpo", "dpo": {"algorithm": "orpo", "lambda_orpo": 0}})


def test_step_metrics_keep_finite_scalars_and_stop_on_a_diverged_one() -> None:
    from training.engine.rl_common import StepMetrics
    from training.engine.sft import TrainingError

    seen: list[tuple[int, dict[str, float]]] = []
    metrics = StepMetrics(rename={"dpo/train/loss": ("loss", 0)}, on_step=lambda s, m: seen.append((s, m)),
                          log_every=1, max_steps=5)  # fmt: skip
    for step in (1, 2, 3):
        metrics._listen("dpo/train/loss", 1.0 / step, step=step)
    metrics._listen("dpo/train/other", float("nan"), step=3)  # not kept: ignored whatever its value
    assert seen == [(1, {"loss": 1.0})]
    with pytest.raises(TrainingError, match="loss is nan at step 4: training diverged"):
        metrics._listen("dpo/train/loss", float("nan"), step=4)
    metrics.flush()
    assert [s for s, _ in seen] == [1, 2, 3] and metrics.last("loss") == pytest.approx(1 / 3)
