"""The shape of a training run's config: frozen dataclasses whose defaults are the ``sft_tiny`` preset."""

from __future__ import annotations

from dataclasses import dataclass

# Upper bounds of the numeric fields (docs/training.md#configuration): generous for a real
# Gemma checkpoint, yet no config can ask for a model or a run that no machine here could hold.
LIMITS = {
    "num_layers": 64,
    "width": 32_768,
    "heads": 128,
    "head_dim": 1_024,
    "seq_len": 32_768,
    "vocab_size": 262_144,
    "lora_rank": 1_024,
    "max_steps": 1_000_000,
    "batch_size": 1_024,
    "max_to_keep": 100,
    "eval_tokens": 4_096,
    "mesh_axis": 1_024,
}


class ConfigError(ValueError):
    """A config value is missing, unknown, of the wrong type or out of range."""


@dataclass(frozen=True)
class TinyModelConfig:
    num_layers: int = 2
    embed_dim: int = 128
    hidden_dim: int = 512
    num_heads: int = 4
    head_dim: int = 32
    num_kv_heads: int = 1
    sliding_window_size: int = 512


@dataclass(frozen=True)
class LoraConfig:
    enabled: bool = True
    rank: int = 8
    alpha: float = 16.0
    # Gemma 3's attention einsums, Qwen 3's and Llama 3's projections, and every family's MLP.
    module_path: str = (
        ".*q_einsum|.*kv_einsum|.*attn_vec_einsum|.*q_proj|.*k_proj|.*v_proj|.*o_proj|.*gate_proj|.*up_proj|.*down_proj"
    )


@dataclass(frozen=True)
class ModelConfig:
    mode: str = "tiny"
    tiny: TinyModelConfig = TinyModelConfig()
    checkpoint_path: str | None = None
    model_config_path: str | None = None
    tokenizer_path: str | None = None
    # mode "pretrained": a local Hugging Face directory (config.json, *.safetensors, tokenizer files).
    path: str | None = None
    dtype: str = "float32"
    lora: LoraConfig = LoraConfig()


@dataclass(frozen=True)
class MeshConfig:
    """The device mesh of a run: ``fsdp`` devices shard the batch and the weights, ``tp`` the heads."""

    fsdp: int = 1
    tp: int = 1

    @property
    def devices(self) -> int:
        return self.fsdp * self.tp


@dataclass(frozen=True)
class TokenizerConfig:
    vocab_size: int = 96


@dataclass(frozen=True)
class LearningRateConfig:
    peak: float = 3e-3
    end: float = 1.5e-4


@dataclass(frozen=True)
class CheckpointPolicy:
    save_every_steps: int | None = None
    max_to_keep: int = 1


@dataclass(frozen=True)
class TrainingConfig:
    seed: int = 0
    batch_size: int = 16
    max_steps: int = 1600
    max_seq_len: int = 128
    learning_rate: LearningRateConfig = LearningRateConfig()
    warmup_steps: int = 50
    weight_decay: float = 0.01
    b2: float = 0.99
    grad_clip: float = 1.0
    log_every: int = 1
    checkpoint: CheckpointPolicy = CheckpointPolicy()
    pad_multiple: int | None = None
    check_generation_budget: bool = False


@dataclass(frozen=True)
class EvalConfig:
    max_new_tokens: int = 64
    batch_size: int = 50


@dataclass(frozen=True)
class SFTConfig:
    model: ModelConfig = ModelConfig()
    tokenizer: TokenizerConfig = TokenizerConfig()
    training: TrainingConfig = TrainingConfig()
    eval: EvalConfig = EvalConfig()
    mesh: MeshConfig = MeshConfig()
