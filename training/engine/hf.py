"""Pretrained models from a local Hugging Face directory: inspect it; ``hf_load`` loads it with Tunix and
``export`` writes it back.

``inspect_checkpoint`` reads only ``config.json`` and the safetensors headers (no JAX), so a bad
directory is refused before anything trains; loading and LoRA merging use Tunix's own loaders
and savers, and a fully fine-tuned model is written back through the inverse of Tunix's key map.
"""

from __future__ import annotations

import json
import logging
import re
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from training.engine.config import ConfigError

if TYPE_CHECKING:
    pass

# Hugging Face ``model_type`` -> the Tunix model family that loads it.
FAMILIES = {"qwen3": "qwen3", "llama": "llama3", "gemma3_text": "gemma3"}
REQUIRED_FILES = ("config.json", "tokenizer.json", "tokenizer_config.json")
_HEADER_LIMIT = 100 * 1024 * 1024
# Tunix 0.1.7's Qwen 3 and Llama 3 attention apply RoPE with this base whatever the config says.
TUNIX_ROPE_THETA = 1_000_000
logger = logging.getLogger(__name__)


class CheckpointError(ConfigError):
    """A pretrained model directory is missing a file, is of an unsupported family or disagrees with itself."""


@dataclass(frozen=True)
class HFCheckpoint:
    path: Path
    family: str
    config: dict[str, Any]
    weight_files: tuple[Path, ...]

    @property
    def head_dim(self) -> int:
        c = self.config
        return int(c.get("head_dim") or c["hidden_size"] // c["num_attention_heads"])

    @property
    def tied(self) -> bool:
        return bool(self.config.get("tie_word_embeddings", self.family == "gemma3"))


def read_config(path: Path) -> dict[str, Any]:
    """``config.json`` of a model directory as a mapping; an error names the file."""
    config_file = path / "config.json"
    try:
        data = json.loads(config_file.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise CheckpointError(f"cannot read {config_file}: {exc}") from exc
    if not isinstance(data, dict):
        raise CheckpointError(f"{config_file} must hold a JSON object")
    return data


def family_of(config: dict[str, Any], config_file: Path) -> str:
    model_type = config.get("model_type")
    if model_type not in FAMILIES:
        supported = ", ".join(sorted(FAMILIES))
        raise CheckpointError(f"{config_file}: model_type {model_type!r} is not supported (supported: {supported})")
    return FAMILIES[str(model_type)]


def safetensors_header(path: Path) -> dict[str, Any]:
    """The tensor names, dtypes and shapes of a safetensors file, read from its header only."""
    try:
        with path.open("rb") as f:
            raw = f.read(8)
            if len(raw) != 8:
                raise CheckpointError(f"{path} is not a safetensors file (too short)")
            (length,) = struct.unpack("<Q", raw)
            if length > _HEADER_LIMIT:
                raise CheckpointError(f"{path} is not a safetensors file (header of {length} bytes)")
            header = json.loads(f.read(length))
    except OSError as exc:
        raise CheckpointError(f"cannot read {path}: {exc}") from exc
    except ValueError as exc:
        raise CheckpointError(f"{path} is not a safetensors file: {exc}") from exc
    if not isinstance(header, dict):
        raise CheckpointError(f"{path} is not a safetensors file")
    header.pop("__metadata__", None)
    return header


def inspect_checkpoint(path: str | Path) -> HFCheckpoint:
    """Check a Hugging Face directory before anything loads: the files, the family and the weight shapes.

    Every error is a ``CheckpointError`` naming the file at fault.
    """
    root = Path(path)
    if not root.is_dir():
        raise CheckpointError(f"model directory not found: {root}")
    for name in REQUIRED_FILES:
        if not (root / name).is_file():
            raise CheckpointError(f"{root / name} not found: a Hugging Face model directory needs {name}")
    config = read_config(root)
    family = family_of(config, root / "config.json")
    for key in ("vocab_size", "hidden_size", "intermediate_size", "num_hidden_layers", "num_attention_heads"):
        value = config.get(key)
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise CheckpointError(f"{root / 'config.json'}: {key} must be a positive integer, got {value!r}")
    _check_architecture(config, family, root / "config.json")
    files = tuple(sorted(root.glob("*.safetensors")))
    if not files:
        raise CheckpointError(f"no *.safetensors weights in {root}")
    checkpoint = HFCheckpoint(path=root, family=family, config=config, weight_files=files)
    _check_shapes(checkpoint)
    _check_tokenizer_ids(root / "tokenizer.json", config["vocab_size"])
    _check_chat_template(root)
    return checkpoint


def _check_chat_template(root: Path) -> None:
    """Every prompt is rendered by the model's chat template: it must have one."""
    if (root / "chat_template.jinja").is_file() or (root / "chat_template.json").is_file():
        return
    try:
        data = json.loads((root / "tokenizer_config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise CheckpointError(f"cannot read {root / 'tokenizer_config.json'}: {exc}") from exc
    if not (isinstance(data, dict) and data.get("chat_template")):
        raise CheckpointError(
            f"{root / 'tokenizer_config.json'} has no chat_template (nor is there a chat_template.jinja): "
            "prompts are rendered with the model's own chat template"
        )


def _check_architecture(config: dict[str, Any], family: str, config_file: Path) -> None:
    """Refuse what Tunix's model would silently drop: biases, an untied Gemma head, another layer pattern."""
    for key in ("attention_bias", "mlp_bias"):
        if config.get(key):
            raise CheckpointError(f"{config_file}: {key}=true is not supported by Tunix's {family} model")
    if family != "gemma3":
        return
    if config.get("tie_word_embeddings") is False:
        raise CheckpointError(f"{config_file}: tie_word_embeddings=false is not supported by Tunix's gemma3 model")
    pattern = ["sliding_attention"] * 5 + ["full_attention"]
    layer_types = config.get("layer_types")
    if layer_types is not None and list(layer_types) != [pattern[i % 6] for i in range(len(layer_types))]:
        raise CheckpointError(
            f"{config_file}: layer_types must repeat five sliding_attention layers and one full_attention "
            "(Tunix's Gemma 3 pattern)"
        )
    for key in ("final_logit_softcapping", "attn_logit_softcapping"):
        if config.get(key) is not None:
            raise CheckpointError(f"{config_file}: {key} is not supported by Tunix's gemma3 model")


def _check_tokenizer_ids(tokenizer_file: Path, vocab_size: int) -> None:
    """Every token id of ``tokenizer.json`` must have a row in the embedding."""
    try:
        data = json.loads(tokenizer_file.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise CheckpointError(f"cannot read {tokenizer_file}: {exc}") from exc
    vocab = (data.get("model") or {}).get("vocab") if isinstance(data, dict) else None
    if isinstance(vocab, dict):
        ids = [i for i in vocab.values() if isinstance(i, int)]
    elif isinstance(vocab, list):
        ids = [len(vocab) - 1] if vocab else []
    else:
        raise CheckpointError(f"{tokenizer_file} has no model.vocab: not a Hugging Face tokenizers file")
    ids += [t["id"] for t in data.get("added_tokens") or [] if isinstance(t, dict) and isinstance(t.get("id"), int)]
    if ids and max(ids) >= vocab_size:
        raise CheckpointError(
            f"{tokenizer_file} has token id {max(ids)}, beyond the vocab_size={vocab_size} of config.json"
        )


def _expected_shapes(ckpt: HFCheckpoint) -> dict[str, tuple[int, ...]]:
    c = ckpt.config
    hidden, heads, head_dim = c["hidden_size"], c["num_attention_heads"], ckpt.head_dim
    kv = int(c.get("num_key_value_heads") or heads)
    shapes: dict[str, tuple[int, ...]] = {"model.embed_tokens.weight": (c["vocab_size"], hidden)}
    if not ckpt.tied:
        shapes["lm_head.weight"] = (c["vocab_size"], hidden)
    for i in range(c["num_hidden_layers"]):
        p = f"model.layers.{i}."
        shapes[p + "self_attn.q_proj.weight"] = (heads * head_dim, hidden)
        shapes[p + "self_attn.k_proj.weight"] = (kv * head_dim, hidden)
        shapes[p + "self_attn.v_proj.weight"] = (kv * head_dim, hidden)
        shapes[p + "self_attn.o_proj.weight"] = (hidden, heads * head_dim)
        shapes[p + "mlp.gate_proj.weight"] = (c["intermediate_size"], hidden)
        shapes[p + "mlp.up_proj.weight"] = (c["intermediate_size"], hidden)
        shapes[p + "mlp.down_proj.weight"] = (hidden, c["intermediate_size"])
    return shapes


_LAYER = re.compile(r"model\.layers\.([0-9]+)\.")


def _check_shapes(ckpt: HFCheckpoint) -> None:
    found: dict[str, tuple[tuple[int, ...], Path]] = {}
    for file in ckpt.weight_files:
        for name, info in safetensors_header(file).items():
            shape = info.get("shape") if isinstance(info, dict) else None
            if not isinstance(shape, list):
                raise CheckpointError(f"{file}: tensor {name} has no shape in the header")
            found[name] = (tuple(shape), file)
            layer = _LAYER.match(name)
            if layer and int(layer.group(1)) >= ckpt.config["num_hidden_layers"]:
                raise CheckpointError(
                    f"{file}: tensor {name} is beyond num_hidden_layers={ckpt.config['num_hidden_layers']} "
                    f"of {ckpt.path / 'config.json'}"
                )
    for name, want in _expected_shapes(ckpt).items():
        if name not in found:
            raise CheckpointError(f"tensor {name} is missing from the weights in {ckpt.path}")
        shape, file = found[name]
        if shape != want:
            raise CheckpointError(
                f"{file}: tensor {name} has shape {list(shape)}, but {ckpt.path / 'config.json'} implies {list(want)}"
            )
