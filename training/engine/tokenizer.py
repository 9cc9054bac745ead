"""SentencePiece tokenizer fitted offline on a run's own text and saved with the run."""

from __future__ import annotations

import io
import shutil
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from traces.gemma import END_OF_TURN, START_OF_TURN

if TYPE_CHECKING:
    import sentencepiece as spm

TURN_TAGS = (
    START_OF_TURN,
    END_OF_TURN,
    "<reasoning>",
    "</reasoning>",
    "<answer>",
    "</answer>",
)
TOKENIZER_FILE = "tokenizer.model"
PAD_ID, BOS_ID, EOS_ID, UNK_ID = 0, 1, 2, 3


class TokenizerError(ValueError):
    """The tokenizer cannot be fitted or loaded, or lacks an id the engine needs."""


def fit_tokenizer(*, texts: Iterable[str], out_dir: Path, vocab_size: int) -> Path:
    """Fit a small BPE model on `texts` and write `out_dir/tokenizer.model`.

    The settings keep text byte-exact (no dummy prefix, identity normalisation,
    whitespace and newlines preserved) so decoded samples match the training targets.
    `vocab_size` is a soft limit: a corpus with few distinct pieces gets fewer.
    """
    import sentencepiece as spm

    sentences = [t for t in texts if t]
    if not sentences:
        raise TokenizerError("cannot fit a tokenizer on no text")
    out_dir.mkdir(parents=True, exist_ok=True)
    model = io.BytesIO()
    try:
        spm.SentencePieceTrainer.train(
            sentence_iterator=iter(sentences),
            model_writer=model,
            model_type="bpe",
            vocab_size=vocab_size,
            hard_vocab_limit=False,
            split_digits=True,
            user_defined_symbols=list(TURN_TAGS),
            add_dummy_prefix=False,
            normalization_rule_name="identity",
            remove_extra_whitespaces=False,
            character_coverage=1.0,
            max_sentence_length=1 << 20,
            num_threads=1,
            pad_id=PAD_ID,
            bos_id=BOS_ID,
            eos_id=EOS_ID,
            unk_id=UNK_ID,
            minloglevel=2,
        )
    except RuntimeError as exc:
        raise TokenizerError(f"SentencePiece training failed: {exc}") from exc
    path = out_dir / TOKENIZER_FILE
    path.write_bytes(model.getvalue())
    return path


def copy_tokenizer(*, source: Path, out_dir: Path) -> Path:
    """Copy a base model's tokenizer into the run so the run is self-contained."""
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / TOKENIZER_FILE
    shutil.copyfile(source, path)
    load_tokenizer(path=path)
    return path


def load_tokenizer(*, path: Path) -> spm.SentencePieceProcessor:
    """Load a SentencePiece model and check it defines pad, bos and eos ids."""
    import sentencepiece as spm

    if not path.is_file():
        raise TokenizerError(f"tokenizer file not found: {path}")
    processor = spm.SentencePieceProcessor()
    try:
        processor.LoadFromSerializedProto(path.read_bytes())
    except (RuntimeError, OSError) as exc:
        raise TokenizerError(f"cannot load tokenizer {path}: {exc}") from exc
    for name in ("pad_id", "bos_id", "eos_id"):
        if getattr(processor, name)() < 0:
            raise TokenizerError(f"tokenizer {path} has no {name.removesuffix('_id')} token")
    return processor


def stop_token_ids(processor: spm.SentencePieceProcessor) -> list[int]:
    """Ids that end a generated turn: eos and `<end_of_turn>` when the vocab has it."""
    ids = [processor.eos_id()]
    end_of_turn = processor.piece_to_id(END_OF_TURN)
    if end_of_turn != processor.unk_id() and end_of_turn not in ids:
        ids.append(end_of_turn)
    return ids
