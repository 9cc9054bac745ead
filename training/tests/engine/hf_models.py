"""Tiny random Hugging Face model directories, made on the fly in the layout the Hub's checkpoints use.

The config is written by the ``transformers`` config class of the family, the tokenizer by
``tokenizers`` (a byte-level BPE fitted on the test's text, with the family's special tokens
and a chat template in the family's turn format) and ``PreTrainedTokenizerFast.save_pretrained``,
and the weights by ``safetensors.numpy`` under the tensor names ``transformers`` gives the family.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

FAMILIES = ("qwen3", "llama3", "gemma3")

_SPECIALS: dict[str, dict[str, Any]] = {
    "qwen3": {
        "tokens": ["<|endoftext|>", "<|im_start|>", "<|im_end|>"],
        "bos": None,
        "eos": "<|im_end|>",
        "pad": "<|endoftext|>",
        "template": (
            "{% for m in messages %}<|im_start|>{{ m.role }}\n{{ m.content }}<|im_end|>\n{% endfor %}"
            "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
        ),
    },
    "llama3": {
        "tokens": ["<|begin_of_text|>", "<|end_of_text|>", "<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>"],
        "bos": "<|begin_of_text|>",
        "eos": "<|end_of_text|>",
        "pad": None,
        "template": (
            "{{ bos_token }}{% for m in messages %}<|start_header_id|>{{ m.role }}<|end_header_id|>\n\n"
            "{{ m.content }}<|eot_id|>{% endfor %}"
            "{% if add_generation_prompt %}<|start_header_id|>assistant<|end_header_id|>\n\n{% endif %}"
        ),
        "generation_eos": ["<|end_of_text|>", "<|eot_id|>"],
    },
    "gemma3": {
        "tokens": ["<pad>", "<eos>", "<bos>", "<unk>", "<start_of_turn>", "<end_of_turn>"],
        "bos": "<bos>",
        "eos": "<eos>",
        "pad": "<pad>",
        "template": (
            "{{ bos_token }}{% for m in messages %}<start_of_turn>"
            "{{ 'model' if m.role == 'assistant' else m.role }}\n{{ m.content }}<end_of_turn>\n{% endfor %}"
            "{% if add_generation_prompt %}<start_of_turn>model\n{% endif %}"
        ),
    },
}

HIDDEN, INTERMEDIATE, LAYERS, HEADS, KV_HEADS, HEAD_DIM = 32, 64, 2, 4, 2, 8


def write_tokenizer(root: Path, family: str, texts: Sequence[str], vocab_size: int = 320) -> Any:
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    spec = _SPECIALS[family]
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=spec["tokens"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(list(texts), trainer=trainer)
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok,
        bos_token=spec["bos"],
        eos_token=spec["eos"],
        pad_token=spec["pad"],
    )
    fast.chat_template = spec["template"]
    fast.save_pretrained(str(root))
    return fast


def _rope(theta: float) -> Any:
    return {"rope_type": "default", "rope_theta": theta}


def _config(family: str, vocab: int, ids: dict[str, int | None]) -> Any:
    from transformers import Gemma3TextConfig, LlamaConfig, Qwen3Config

    sizes = {
        "vocab_size": vocab,
        "hidden_size": HIDDEN,
        "intermediate_size": INTERMEDIATE,
        "num_hidden_layers": LAYERS,
        "num_attention_heads": HEADS,
        "num_key_value_heads": KV_HEADS,
        "head_dim": HEAD_DIM,
        **ids,
    }
    if family == "qwen3":
        return Qwen3Config(**sizes, tie_word_embeddings=True, rope_parameters=_rope(1_000_000.0))
    if family == "llama3":
        return LlamaConfig(**sizes, tie_word_embeddings=False, rope_parameters=_rope(500_000.0))
    return Gemma3TextConfig(**sizes, query_pre_attn_scalar=HEAD_DIM, sliding_window=64)


def _tensor_shapes(family: str, vocab: int, tied: bool) -> dict[str, tuple[int, ...]]:
    shapes: dict[str, tuple[int, ...]] = {"model.embed_tokens.weight": (vocab, HIDDEN), "model.norm.weight": (HIDDEN,)}
    if not tied:
        shapes["lm_head.weight"] = (vocab, HIDDEN)
    for i in range(LAYERS):
        p = f"model.layers.{i}."
        shapes |= {
            p + "input_layernorm.weight": (HIDDEN,),
            p + "post_attention_layernorm.weight": (HIDDEN,),
            p + "self_attn.q_proj.weight": (HEADS * HEAD_DIM, HIDDEN),
            p + "self_attn.k_proj.weight": (KV_HEADS * HEAD_DIM, HIDDEN),
            p + "self_attn.v_proj.weight": (KV_HEADS * HEAD_DIM, HIDDEN),
            p + "self_attn.o_proj.weight": (HIDDEN, HEADS * HEAD_DIM),
            p + "mlp.gate_proj.weight": (INTERMEDIATE, HIDDEN),
            p + "mlp.up_proj.weight": (INTERMEDIATE, HIDDEN),
            p + "mlp.down_proj.weight": (HIDDEN, INTERMEDIATE),
        }
        if family in ("qwen3", "gemma3"):
            shapes |= {p + "self_attn.q_norm.weight": (HEAD_DIM,), p + "self_attn.k_norm.weight": (HEAD_DIM,)}
        if family == "gemma3":
            shapes |= {
                p + "pre_feedforward_layernorm.weight": (HIDDEN,),
                p + "post_feedforward_layernorm.weight": (HIDDEN,),
            }
    return shapes


def write_hf_model(root: Path, family: str, texts: Sequence[str], *, seed: int = 0) -> Path:
    """A complete tiny ``family`` model directory under ``root``: config, weights, tokenizer, generation config."""
    import numpy as np
    import safetensors.numpy as safe_np
    from transformers import GenerationConfig

    root.mkdir(parents=True, exist_ok=True)
    spec = _SPECIALS[family]
    tokenizer = write_tokenizer(root, family, texts)
    vocab = -(-len(tokenizer) // 16) * 16
    ids = {
        "bos_token_id": tokenizer.bos_token_id,
        "eos_token_id": tokenizer.eos_token_id,
        "pad_token_id": tokenizer.pad_token_id,
    }
    config = _config(family, vocab, ids)
    config.save_pretrained(str(root))
    eos = [tokenizer.convert_tokens_to_ids(t) for t in spec.get("generation_eos", [spec["eos"]])]
    GenerationConfig(
        bos_token_id=ids["bos_token_id"], eos_token_id=eos, pad_token_id=ids["pad_token_id"]
    ).save_pretrained(str(root))
    rng = np.random.default_rng(seed)
    tensors = {}
    for name, shape in _tensor_shapes(family, vocab, bool(config.tie_word_embeddings)).items():
        if name.endswith("norm.weight"):
            base = 0.0 if family == "gemma3" else 1.0  # Gemma's RMSNorm scales by 1 + weight
            tensors[name] = (base + 0.1 * rng.standard_normal(shape)).astype(np.float32)
        else:
            tensors[name] = (0.2 * rng.standard_normal(shape)).astype(np.float32)
    safe_np.save_file(tensors, str(root / "model.safetensors"), metadata={"format": "pt"})
    return root
