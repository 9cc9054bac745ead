"""Records of GRPO and DPO runs: the pre-flight checks Tunix would not make, and the batches.

GRPO records are ``{"id", "prompt", "completion", "answer"}`` (the ``prompt_completion`` export
of a trace plus its expected answer); DPO records are the ``dpo`` export (``prompt``,
``chosen``, ``rejected``). No JAX here: NumPy and the tokenizer only.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from traces.gemma import END_OF_TURN, MODEL_TURN, USER_TURN
from traces.verifiers import rewards as reward_fns
from training.engine.config import DPORunConfig, GRPORunConfig
from training.engine.data import DataError, batch_indices

if TYPE_CHECKING:
    import sentencepiece as spm


def reward_functions(names: Sequence[str]) -> list[reward_fns.RewardFunction]:
    """The verifiers' reward functions by name, in the config's order."""
    by_name = {fn.__name__: fn for fn in reward_fns.GRPO_REWARD_FUNCTIONS}
    return [by_name[name] for name in names]


def _label(record: Mapping[str, Any], index: int) -> str:
    rid = record.get("id")
    return f"{index} (id {rid})" if rid is not None else str(index)


def _reply(completion: str) -> str:
    """The model's reply as the rollout returns it: without the closing ``<end_of_turn>``."""
    return completion[: -len(END_OF_TURN)] if completion.endswith(END_OF_TURN) else completion


# The rewards that judge a completion against the record's answer or the problem's own steps,
# with the score a right completion gets: the trace's own completion must get it.
_FULL_MARKS: dict[reward_fns.RewardFunction, float] = {
    reward_fns.check_answer: 3.0,
    reward_fns.check_numbers: 1.5,
    reward_fns.check_steps: 3.0,
}
_ANSWER_CHECKS = (reward_fns.check_answer, reward_fns.check_numbers)


def check_grpo_config(config: GRPORunConfig) -> None:
    """Refuse settings Tunix accepts but mis-runs."""
    g = config.grpo
    micro = g.micro_batch_size or config.training.batch_size
    if micro < g.num_generations:
        raise DataError(
            f"grpo.micro_batch_size ({micro}) is smaller than grpo.num_generations ({g.num_generations}): "
            "a group of generations would be split across micro-batches and its advantages computed apart"
        )


def check_grpo_records(*, records: Sequence[Mapping[str, Any]], config: GRPORunConfig) -> None:
    """Every record has a prompt, a reference completion and an expected answer, and every reward
    that checks answers or steps (``check_answer``, ``check_numbers``, ``check_steps``) gives the
    reference completion full marks.

    A reward that cannot verify the dataset's own traces would train on noise: refused, naming the record.
    """
    if not records:
        raise DataError("no training records: the dataset exports none")
    fns = reward_functions(config.grpo.rewards)
    verify = [fn for fn in fns if fn in _FULL_MARKS]
    for i, record in enumerate(records):
        for key in ("prompt", "completion", "answer"):
            if not isinstance(record.get(key), str) or not record[key]:
                raise DataError(
                    f"record {_label(record, i)} has no {key!r}: GRPO needs the expected answer of every trace"
                )
        reply = _reply(record["completion"])
        for fn in verify:
            score = fn([record["prompt"]], [reply], answer=[record["answer"]])[0]
            best = _FULL_MARKS[fn]
            if score < best:
                raise DataError(
                    f"reward {fn.__name__} cannot verify record {_label(record, i)}: it gives {score} to the "
                    f"trace's own completion for the expected answer {record['answer']!r} (full marks: {best})"
                )
    if not any(fn in verify for fn in _ANSWER_CHECKS):
        raise DataError("grpo.rewards must include check_answer or check_numbers: no other reward checks the answer")


def check_grpo_budgets(
    *, records: Sequence[Mapping[str, Any]], processor: spm.SentencePieceProcessor, config: GRPORunConfig
) -> dict[str, int]:
    """The longest prompt (with bos) and reference reply (with its end token) must fit the budgets."""
    g = config.grpo
    longest_prompt = longest_reply = 0
    for i, record in enumerate(records):
        prompt_len = len(processor.EncodeAsIds(record["prompt"])) + 1
        reply_len = len(processor.EncodeAsIds(record["completion"]))
        if prompt_len > g.max_prompt_len:
            raise DataError(
                f"record {_label(record, i)} has a prompt of {prompt_len} tokens, more than grpo.max_prompt_len="
                f"{g.max_prompt_len}: Tunix would cut it"
            )
        if reply_len > g.max_new_tokens:
            raise DataError(
                f"record {_label(record, i)} has a completion of {reply_len} tokens, more than grpo.max_new_tokens="
                f"{g.max_new_tokens}: a correct answer could not be generated in time"
            )
        longest_prompt, longest_reply = max(longest_prompt, prompt_len), max(longest_reply, reply_len)
    return {"longest_prompt": longest_prompt, "longest_completion": longest_reply}


def grpo_batches(*, records: Sequence[Mapping[str, Any]], config: GRPORunConfig) -> Iterator[dict[str, np.ndarray]]:
    """``max_steps`` batches of ``batch_size`` prompts in a seeded order, every column a NumPy array.

    Tunix repeats each column once per generation; a Python list of strings would reach the
    tokenizer as array reprs, so prompts and answers are NumPy string arrays.
    """
    t = config.training
    order = batch_indices(num_records=len(records), batch_size=t.batch_size, num_batches=t.max_steps, seed=t.seed)
    prompts = np.array([r["prompt"] for r in records])
    answers = np.array([r["answer"] for r in records])
    for idx in order:
        yield {"prompts": prompts[idx], "answer": answers[idx]}


def _whole_pair(record: Mapping[str, Any]) -> tuple[str, dict[str, tuple[str, bool]]]:
    return record["prompt"], {"chosen": (record["chosen"], True), "rejected": (record["rejected"], True)}


def step_pair(record: Mapping[str, Any]) -> tuple[str, dict[str, tuple[str, bool]]]:
    """A pair cut at its first differing line: the shared lines join the prompt, and each side
    is that one line (with its newline, and an end token only when it is the side's last line).

    A pair where one side's lines all begin the other is kept whole.
    """
    chosen, rejected = record["chosen"].split("\n"), record["rejected"].split("\n")
    n = next((k for k, (a, b) in enumerate(zip(chosen, rejected, strict=False)) if a != b), None)
    if n is None:
        return _whole_pair(record)
    prefix = "".join(line + "\n" for line in chosen[:n])

    def side(lines: list[str]) -> tuple[str, bool]:
        last = n + 1 == len(lines)
        return lines[n] + ("" if last else "\n"), last

    return record["prompt"] + prefix, {"chosen": side(chosen), "rejected": side(rejected)}


def template_preferences(records: Sequence[Mapping[str, Any]], processor: Any) -> list[dict[str, Any]]:
    """Pairs as the model's chat template renders them (only for a tokenizer with its own template).

    A pair in the export's Gemma turns is re-rendered: one prompt, and each side as the reply
    the template writes after it. A pair already rendered (``--template-from``) is kept.
    """
    if not getattr(processor, "templated", False):
        return [dict(r) for r in records]
    out = []
    for record in records:
        prompt, chosen, rejected = (str(record.get(k, "")) for k in ("prompt", "chosen", "rejected"))
        gemma = prompt.startswith(USER_TURN) and prompt.endswith(MODEL_TURN)
        if gemma and chosen.endswith(END_OF_TURN) and rejected.endswith(END_OF_TURN):
            user = prompt[len(USER_TURN) : -len(MODEL_TURN)]
            prompt, chosen = processor.chat_pair(user, chosen[: -len(END_OF_TURN)])
            _, rejected = processor.chat_pair(user, rejected[: -len(END_OF_TURN)])
        out.append({**record, "prompt": prompt, "chosen": chosen, "rejected": rejected})
    return out


def encode_preferences(
    *, records: Sequence[Mapping[str, Any]], processor: spm.SentencePieceProcessor, config: DPORunConfig
) -> dict[str, np.ndarray]:
    """Tokenised pairs for Tunix's DPO ``TrainingInput``: prompts left-padded with bos, both
    responses right-padded (with eos where a response ends the completion); a record over a
    budget is refused by name (never cut). ``dpo.granularity: step`` cuts each pair first
    (``step_pair``)."""
    d = config.dpo
    if not records:
        raise DataError("no preference pairs to train on")
    cut = step_pair if d.granularity == "step" else _whole_pair
    pad, bos, eos = processor.pad_id(), processor.bos_id(), processor.eos_id()
    # A chat template writes the begin-of-text and end-of-turn tokens into the text itself.
    templated = getattr(processor, "templated", False)
    n = len(records)
    prompt_ids = np.full((n, d.max_prompt_len), pad, dtype=np.int32)
    chosen = np.full((n, d.max_response_len), pad, dtype=np.int32)
    rejected = np.full((n, d.max_response_len), pad, dtype=np.int32)
    for i, record in enumerate(records):
        for key in ("prompt", "chosen", "rejected"):
            if not isinstance(record.get(key), str) or not record[key]:
                raise DataError(f"preference {_label(record, i)} has no non-empty {key!r}")
        if record["chosen"] == record["rejected"]:
            raise DataError(f"preference {_label(record, i)} has the same chosen and rejected completion")
        prompt, sides = cut(record)
        p = [*([] if templated else [bos]), *processor.EncodeAsIds(prompt)]
        if len(p) > d.max_prompt_len:
            raise DataError(
                f"preference {_label(record, i)} has a prompt of {len(p)} tokens, more than dpo.max_prompt_len="
                f"{d.max_prompt_len}"
            )
        prompt_ids[i, d.max_prompt_len - len(p) :] = p
        for key, out in (("chosen", chosen), ("rejected", rejected)):
            text, ends = sides[key]
            ids = [*processor.EncodeAsIds(text), *([eos] if ends and not templated else [])]
            if len(ids) > d.max_response_len:
                raise DataError(
                    f"preference {_label(record, i)} has a {key} completion of {len(ids)} tokens, more than "
                    f"dpo.max_response_len={d.max_response_len}"
                )
            out[i, : len(ids)] = ids
    return {
        "prompt_ids": prompt_ids,
        "prompt_mask": (prompt_ids != pad).astype(np.int32),
        "chosen_ids": chosen,
        "chosen_mask": (chosen != pad).astype(np.int32),
        "rejected_ids": rejected,
        "rejected_mask": (rejected != pad).astype(np.int32),
    }


def preference_batches(*, arrays: dict[str, np.ndarray], config: DPORunConfig) -> Iterator[dict[str, np.ndarray]]:
    """``max_steps`` batches of ``batch_size`` pairs in a seeded order (each epoch reshuffled)."""
    t = config.training
    count = len(arrays["prompt_ids"])
    order = batch_indices(num_records=count, batch_size=t.batch_size, num_batches=t.max_steps, seed=t.seed)
    for idx in order:
        yield {key: value[idx] for key, value in arrays.items()}
