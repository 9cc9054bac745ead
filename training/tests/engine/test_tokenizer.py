from __future__ import annotations

from pathlib import Path

import pytest

from training.tests.engine.conftest import addition_records

pytestmark = pytest.mark.training


def test_fit_save_load_round_trip(tmp_path: Path) -> None:
    from training.engine.data import record_texts
    from training.engine.tokenizer import TURN_TAGS, fit_tokenizer, load_tokenizer, stop_token_ids

    texts = record_texts(addition_records(30))
    path = fit_tokenizer(texts=texts, out_dir=tmp_path / "tokenizer", vocab_size=96)
    assert path == tmp_path / "tokenizer" / "tokenizer.model"
    sp = load_tokenizer(path=path)
    assert (sp.pad_id(), sp.bos_id(), sp.eos_id()) == (0, 1, 2)
    for tag in TURN_TAGS:
        assert sp.EncodeAsIds(tag) == [sp.piece_to_id(tag)]
    sample = texts[0] + "\n\n  Tens  Ones"
    assert sp.DecodeIds(sp.EncodeAsIds(sample)) == sample
    assert sp.EncodeAsIds("12") == [sp.piece_to_id("1"), sp.piece_to_id("2")]
    assert stop_token_ids(sp) == [2, sp.piece_to_id("<end_of_turn>")]


def test_load_tokenizer_errors(tmp_path: Path) -> None:
    from training.engine.tokenizer import TokenizerError, fit_tokenizer, load_tokenizer

    with pytest.raises(TokenizerError, match="not found"):
        load_tokenizer(path=tmp_path / "none.model")
    with pytest.raises(TokenizerError, match="no text"):
        fit_tokenizer(texts=[], out_dir=tmp_path, vocab_size=96)
