"""prompt_completion records to Tunix `TrainingInput` batches with a completion-only mask."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from traces.gemma import END_OF_TURN, MODEL_TURN, USER_TURN, gemma_prompt

if TYPE_CHECKING:
    import sentencepiece as spm
    from tunix.sft.peft_trainer import TrainingInput


class DataError(ValueError):
    """The records cannot be turned into training batches."""


def wrap_prompt(prompt: str, processor: Any = None) -> str:
    """Put a raw user prompt in the model's chat template: a pretrained model's own, else the Gemma
    turn template used by the prompt_completion export."""
    if getattr(processor, "templated", False):
        return str(processor.chat_prompt(prompt))
    return gemma_prompt(prompt)


def template_records(records: Sequence[Mapping[str, Any]], processor: Any) -> list[dict[str, Any]]:
    """Records as the model's chat template renders them, so training sees the text sampling will.

    Only a tokenizer with its own chat template changes anything: a record in the export's Gemma
    turns is re-rendered in that template; one already rendered (``--template-from``) is kept.
    """
    _check_records(records)
    if not getattr(processor, "templated", False):
        return [dict(r) for r in records]
    out = []
    for record in records:
        prompt, completion = str(record["prompt"]), str(record["completion"])
        if prompt.startswith(USER_TURN) and prompt.endswith(MODEL_TURN) and completion.endswith(END_OF_TURN):
            user = prompt[len(USER_TURN) : -len(MODEL_TURN)]
            prompt, completion = processor.chat_pair(user, completion[: -len(END_OF_TURN)])
        out.append({**record, "prompt": prompt, "completion": completion})
    return out


def record_texts(records: Sequence[Mapping[str, Any]]) -> list[str]:
    """Full training text of each record, for fitting a tokenizer on the run's own data."""
    _check_records(records)
    return [str(r["prompt"]) + str(r["completion"]) for r in records]


def encode_records(
    *,
    records: Sequence[Mapping[str, Any]],
    processor: spm.SentencePieceProcessor,
    max_seq_len: int,
    max_completion_len: int | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Return int32 `(tokens, mask)` arrays of shape `[len(records), max_seq_len]`.

    Tokens are `[bos] + prompt + completion + [eos]` right-padded with the pad id;
    the mask is 1 on completion and eos only, so the loss skips prompt and padding.
    Prompt and completion are encoded separately, as the sampler later sees the prompt alone.
    With `max_completion_len` (the generation budget), a completion the sampler could not
    finish within that many tokens is an error naming the record, before anything trains.
    """
    _check_records(records)
    pad, bos, eos = processor.pad_id(), processor.bos_id(), processor.eos_id()
    templated = getattr(processor, "templated", False)
    tokens = np.full((len(records), max_seq_len), pad, dtype=np.int32)
    mask = np.zeros((len(records), max_seq_len), dtype=np.int32)
    for i, record in enumerate(records):
        if templated:
            # The chat template wrote the begin-of-text and end-of-turn tokens into the text itself.
            prompt_ids = list(processor.EncodeAsIds(record["prompt"]))
            completion_ids = list(processor.EncodeAsIds(record["completion"]))
        else:
            prompt_ids = [bos, *processor.EncodeAsIds(record["prompt"])]
            completion_ids = [*processor.EncodeAsIds(record["completion"]), eos]
        length = len(prompt_ids) + len(completion_ids)
        if max_completion_len is not None and len(completion_ids) - 1 > max_completion_len:
            raise DataError(
                f"record {_label(record, i)} has a completion of {len(completion_ids) - 1} tokens, more than "
                f"the generation budget eval.max_new_tokens={max_completion_len}"
            )
        if length > max_seq_len:
            raise DataError(
                f"record {_label(record, i)} is {length} tokens long, more than training.max_seq_len={max_seq_len}"
            )
        tokens[i, :length] = prompt_ids + completion_ids
        mask[i, len(prompt_ids) : length] = 1
    return tokens, mask


def batch_indices(*, num_records: int, batch_size: int, num_batches: int, seed: int) -> np.ndarray:
    """`[num_batches, batch_size]` record indices: seeded reshuffle each epoch, no record dropped."""
    if num_records <= 0:
        raise DataError("no training records")
    rng = np.random.default_rng(seed)
    needed = batch_size * num_batches
    epochs = -(-needed // num_records)
    stream = np.concatenate([rng.permutation(num_records) for _ in range(epochs)])
    return stream[:needed].reshape(num_batches, batch_size)


def record_lengths(mask: np.ndarray) -> np.ndarray:
    """Tokens in each encoded record: every record ends with its eos, the last masked position."""
    return mask.shape[1] - np.argmax(mask[:, ::-1], axis=1)


def batch_width(*, lengths: np.ndarray, multiple: int | None, max_seq_len: int) -> int:
    """The longest record rounded up to `multiple` (at most `max_seq_len`); `None` keeps `max_seq_len`."""
    if multiple is None:
        return max_seq_len
    longest = int(lengths.max()) if lengths.size else 1
    return min(max_seq_len, -(-longest // multiple) * multiple)


def iter_training_inputs(
    *,
    tokens: np.ndarray,
    mask: np.ndarray,
    batch_size: int,
    num_batches: int,
    seed: int,
    pad_multiple: int | None = None,
) -> Iterator[TrainingInput]:
    """Yield exactly `num_batches` Tunix `TrainingInput` batches in a seeded order.

    With `pad_multiple`, a batch is cut to its longest record rounded up to that multiple,
    so short batches do not pay for `max_seq_len` (XLA compiles once per distinct width).
    """
    from tunix.sft.peft_trainer import TrainingInput

    order = batch_indices(num_records=tokens.shape[0], batch_size=batch_size, num_batches=num_batches, seed=seed)
    lengths = record_lengths(mask)
    for idx in order:
        width = batch_width(lengths=lengths[idx], multiple=pad_multiple, max_seq_len=tokens.shape[1])
        yield TrainingInput(input_tokens=tokens[idx, :width], input_mask=mask[idx, :width])


def _check_records(records: Sequence[Mapping[str, Any]]) -> None:
    if len(records) == 0:
        raise DataError("no training records")
    for i, record in enumerate(records):
        if not isinstance(record, Mapping):
            raise DataError(f"record {i} is not an object")
        for key in ("prompt", "completion"):
            if not isinstance(record.get(key), str) or not record[key]:
                raise DataError(f"record {_label(record, i)} has no non-empty string {key!r}")


def _label(record: Mapping[str, Any], index: int) -> str:
    rid = record.get("id")
    return f"{index} (id {rid})" if rid is not None else str(index)
