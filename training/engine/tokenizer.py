"""The run's tokenizer, saved with the run: a SentencePiece model fitted offline on the run's own
text, or a pretrained model's Hugging Face tokenizer with its chat template."""

from __future__ import annotations

import io
import shutil
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

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
HF_TOKENIZER_FILE = "tokenizer.json"
# Everything a Hugging Face tokenizer (and its chat template and stop ids) is loaded from.
HF_TOKENIZER_FILES = (
    "tokenizer.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
    "chat_template.jinja",
    "chat_template.json",
    "generation_config.json",
)
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


class HFTokenizer:
    """A Hugging Face tokenizer behind the SentencePiece-style calls the engine and Tunix's sampler make.

    Texts are rendered by the model's own chat template, which writes any begin-of-text token
    itself, so ``encode`` adds no special tokens and ``bos_id`` is None: training and sampling
    tokenize exactly the same text.
    """

    templated = True

    def __init__(self, tokenizer: Any, *, path: Path, generation_eos: list[int] | None = None) -> None:
        self.tokenizer = tokenizer
        self.path = path
        self._generation_eos = generation_eos or []
        if not tokenizer.chat_template:
            raise TokenizerError(
                f"tokenizer in {path} has no chat template (tokenizer_config.json or chat_template.jinja)"
            )
        if tokenizer.eos_token_id is None:
            raise TokenizerError(f"tokenizer in {path} has no eos token (tokenizer_config.json)")

    def encode(self, text: str, **_: Any) -> list[int]:
        return list(self.tokenizer.encode(text, add_special_tokens=False))

    def EncodeAsIds(self, text: str) -> list[int]:  # noqa: N802 - the SentencePiece name the engine calls
        return self.encode(text)

    def decode(self, ids: list[int], **_: Any) -> str:
        return str(self.tokenizer.decode(list(ids), skip_special_tokens=False))

    def bos_id(self) -> None:
        return None

    def eos_id(self) -> int:
        return int(self.tokenizer.eos_token_id)

    def pad_id(self) -> int:
        pad = self.tokenizer.pad_token_id
        return int(pad if pad is not None else self.tokenizer.eos_token_id)

    def get_piece_size(self) -> int:
        return len(self.tokenizer)

    def chat_prompt(self, text: str) -> str:
        """A user turn holding ``text`` and the opening of the assistant's turn, in the model's template."""
        return str(
            self.tokenizer.apply_chat_template(
                [{"role": "user", "content": text}], tokenize=False, add_generation_prompt=True
            )
        )

    def chat_pair(self, text: str, reply: str) -> tuple[str, str]:
        """(prompt, completion): the template's rendering of a user turn and a reply, split where the reply starts."""
        prompt = self.chat_prompt(text)
        full = str(
            self.tokenizer.apply_chat_template(
                [{"role": "user", "content": text}, {"role": "assistant", "content": reply}], tokenize=False
            )
        )
        if not full.startswith(prompt):
            raise TokenizerError(
                f"the chat template in {self.path} does not render a reply after its generation prompt"
            )
        return prompt, full[len(prompt) :]

    def stop_ids(self) -> list[int]:
        """eos, the generation config's eos ids and the special token that closes a reply in the template."""
        ids = [self.eos_id(), *self._generation_eos]
        probe = "x"
        _, completion = self.chat_pair("y", probe)
        special = set(self.tokenizer.all_special_ids) | set(self.tokenizer.added_tokens_decoder)
        for token in self.encode(completion[completion.index(probe) + len(probe) :]):
            if token in special:
                ids.append(token)
                break
        return list(dict.fromkeys(ids))


def load_hf_tokenizer(*, path: Path) -> HFTokenizer:
    """A pretrained model's tokenizer from its own files; an error names the file at fault."""
    import json

    from transformers import AutoTokenizer

    if not (path / HF_TOKENIZER_FILE).is_file():
        raise TokenizerError(f"tokenizer file not found: {path / HF_TOKENIZER_FILE}")
    try:
        tokenizer = AutoTokenizer.from_pretrained(str(path), local_files_only=True)
    except (OSError, ValueError, TypeError) as exc:
        raise TokenizerError(f"cannot load the tokenizer in {path}: {exc}") from exc
    generation_eos: list[int] = []
    generation = path / "generation_config.json"
    if generation.is_file():
        try:
            eos = json.loads(generation.read_text(encoding="utf-8")).get("eos_token_id")
        except ValueError as exc:
            raise TokenizerError(f"cannot read {generation}: {exc}") from exc
        generation_eos = [eos] if isinstance(eos, int) else [i for i in eos or [] if isinstance(i, int)]
    return HFTokenizer(tokenizer, path=path, generation_eos=generation_eos)


def copy_hf_tokenizer(*, source: Path, out_dir: Path) -> HFTokenizer:
    """Copy a pretrained model's tokenizer files into the run so the run is self-contained."""
    out_dir.mkdir(parents=True, exist_ok=True)
    for name in HF_TOKENIZER_FILES:
        if (source / name).is_file():
            shutil.copyfile(source / name, out_dir / name)
    return load_hf_tokenizer(path=out_dir)


def load_run_tokenizer(*, tokenizer_dir: Path) -> Any:
    """The tokenizer a run saved: its SentencePiece model, or a pretrained model's Hugging Face files."""
    if (tokenizer_dir / TOKENIZER_FILE).is_file():
        return load_tokenizer(path=tokenizer_dir / TOKENIZER_FILE)
    if (tokenizer_dir / HF_TOKENIZER_FILE).is_file():
        return load_hf_tokenizer(path=tokenizer_dir)
    raise TokenizerError(f"no tokenizer in {tokenizer_dir} ({TOKENIZER_FILE} or {HF_TOKENIZER_FILE})")


def run_stop_ids(processor: Any) -> list[int]:
    """The ids that end a generated turn, for either kind of tokenizer."""
    if isinstance(processor, HFTokenizer):
        return processor.stop_ids()
    return stop_token_ids(processor)
