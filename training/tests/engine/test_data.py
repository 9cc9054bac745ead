from __future__ import annotations

from pathlib import Path

import pytest

from training.tests.engine.conftest import addition_records

pytestmark = pytest.mark.training


class CharProcessor:
    """Stand-in tokenizer: one id per character, so expected arrays can be written out."""

    ids = {"a": 10, "b": 11, "c": 12, "d": 13, "e": 14}

    def pad_id(self) -> int:
        return 0

    def bos_id(self) -> int:
        return 1

    def eos_id(self) -> int:
        return 2

    def EncodeAsIds(self, text: str) -> list[int]:  # noqa: N802 - SentencePiece's name
        return [self.ids[c] for c in text]


def test_mask_layout_hand_written() -> None:
    from training.engine.data import encode_records

    records = [{"prompt": "ab", "completion": "cde"}, {"prompt": "a", "completion": "b"}]
    tokens, mask = encode_records(records=records, processor=CharProcessor(), max_seq_len=8)
    assert tokens.tolist() == [
        [1, 10, 11, 12, 13, 14, 2, 0],
        [1, 10, 11, 2, 0, 0, 0, 0],
    ]
    assert mask.tolist() == [
        [0, 0, 0, 1, 1, 1, 1, 0],
        [0, 0, 1, 1, 0, 0, 0, 0],
    ]
    assert str(tokens.dtype) == "int32"


def test_too_long_record_is_named() -> None:
    from training.engine.data import DataError, encode_records

    records = [{"prompt": "ab", "completion": "c"}, {"id": "t-9", "prompt": "abc", "completion": "de"}]
    with pytest.raises(DataError, match=r"record 1 \(id t-9\) is 7 tokens long, more than training.max_seq_len=6"):
        encode_records(records=records, processor=CharProcessor(), max_seq_len=6)


def test_completion_over_the_generation_budget_is_named() -> None:
    from training.engine.data import DataError, encode_records

    records = [{"prompt": "a", "completion": "bc"}, {"id": "t-7", "prompt": "a", "completion": "bcd"}]
    tokens, _ = encode_records(records=records[:1], processor=CharProcessor(), max_seq_len=8, max_completion_len=2)
    assert tokens.shape == (1, 8)
    with pytest.raises(
        DataError,
        match=r"record 1 \(id t-7\) has a completion of 3 tokens, more than the generation budget "
        r"eval.max_new_tokens=2",
    ):
        encode_records(records=records, processor=CharProcessor(), max_seq_len=8, max_completion_len=2)


def test_batches_are_padded_to_their_longest_record_rounded_up() -> None:
    from training.engine.data import batch_width, encode_records, iter_training_inputs, record_lengths

    records = [{"prompt": "a", "completion": "b"}, {"prompt": "abcde", "completion": "abcde"}]
    tokens, mask = encode_records(records=records, processor=CharProcessor(), max_seq_len=16)
    assert record_lengths(mask).tolist() == [4, 12]
    assert batch_width(lengths=record_lengths(mask)[:1], multiple=4, max_seq_len=16) == 4
    assert batch_width(lengths=record_lengths(mask)[:1], multiple=3, max_seq_len=16) == 6
    assert batch_width(lengths=record_lengths(mask), multiple=8, max_seq_len=16) == 16
    assert batch_width(lengths=record_lengths(mask), multiple=32, max_seq_len=16) == 16
    assert batch_width(lengths=record_lengths(mask)[:1], multiple=None, max_seq_len=16) == 16
    short = list(iter_training_inputs(tokens=tokens[:1], mask=mask[:1], batch_size=2, num_batches=1, seed=0,
                                      pad_multiple=8))  # fmt: skip
    assert short[0].input_tokens.tolist() == [[1, 10, 11, 2, 0, 0, 0, 0]] * 2
    assert short[0].input_mask.tolist() == [[0, 0, 1, 1, 0, 0, 0, 0]] * 2
    widths = {
        batch.input_tokens.shape[1]
        for batch in iter_training_inputs(tokens=tokens, mask=mask, batch_size=1, num_batches=6, seed=0, pad_multiple=8)
    }
    assert widths == {8, 16}


def test_empty_and_malformed_records() -> None:
    from training.engine.data import DataError, encode_records

    with pytest.raises(DataError, match="no training records"):
        encode_records(records=[], processor=CharProcessor(), max_seq_len=8)
    with pytest.raises(DataError, match="record 0 has no non-empty string 'completion'"):
        encode_records(records=[{"prompt": "a"}], processor=CharProcessor(), max_seq_len=8)


def test_batch_order_is_seeded_and_covers_every_record() -> None:
    from training.engine.data import batch_indices

    a = batch_indices(num_records=10, batch_size=4, num_batches=5, seed=3)
    b = batch_indices(num_records=10, batch_size=4, num_batches=5, seed=3)
    c = batch_indices(num_records=10, batch_size=4, num_batches=5, seed=4)
    assert a.tolist() == b.tolist()
    assert a.tolist() != c.tolist()
    assert sorted(a.reshape(-1)[:10].tolist()) == list(range(10))
    small = batch_indices(num_records=3, batch_size=8, num_batches=2, seed=0)
    assert small.shape == (2, 8)


def test_training_inputs_with_fitted_tokenizer(tmp_path: Path) -> None:
    from tunix.sft.peft_trainer import TrainingInput

    from training.engine.data import encode_records, iter_training_inputs, record_texts
    from training.engine.tokenizer import fit_tokenizer, load_tokenizer

    records = addition_records(20)
    processor = load_tokenizer(path=fit_tokenizer(texts=record_texts(records), out_dir=tmp_path, vocab_size=96))
    tokens, mask = encode_records(records=records, processor=processor, max_seq_len=96)
    row = tokens[0].tolist()
    completion_ids = [t for t, m in zip(row, mask[0].tolist(), strict=True) if m]
    assert completion_ids[-1] == processor.eos_id()
    assert processor.DecodeIds(completion_ids[:-1]) == records[0]["completion"]
    assert row[0] == processor.bos_id()
    batches = list(iter_training_inputs(tokens=tokens, mask=mask, batch_size=8, num_batches=3, seed=0))
    assert len(batches) == 3
    assert isinstance(batches[0], TrainingInput)
    assert batches[0].input_tokens.shape == (8, 96)
