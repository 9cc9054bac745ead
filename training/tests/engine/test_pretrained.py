"""``model.mode: pretrained``: tiny random Hugging Face directories of every supported family,
trained (LoRA and full), sampled, exported and loaded back by Tunix's loader."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from training.engine.config import parse_config
from training.tests.engine.conftest import addition_records
from training.tests.engine.hf_models import FAMILIES, write_hf_model

pytestmark = pytest.mark.training

RECORDS = addition_records(24)


@pytest.fixture(scope="module")
def hf_dirs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    from training.engine.data import record_texts

    root = tmp_path_factory.mktemp("hf")
    return {family: write_hf_model(root / family, family, record_texts(RECORDS)) for family in FAMILIES}


def pretrained_config(path: Path, *, lora: bool, dtype: str = "float32", **training: Any) -> Any:
    return parse_config(
        {
            "model": {"mode": "pretrained", "path": str(path), "dtype": dtype, "lora": {"enabled": lora, "rank": 4}},
            "training": {
                "batch_size": 4,
                "max_steps": 5,
                "warmup_steps": 1,
                "max_seq_len": 96,
                "learning_rate": {"peak": 1.0e-2, "end": 1.0e-3},
                **training,
            },
            "eval": {"max_new_tokens": 8},
        }
    )


def logits_of(model: Any) -> Any:
    import jax.numpy as jnp
    import numpy as np
    from tunix.sft import utils as sft_utils

    tokens = jnp.array([[5, 9, 30, 41, 7, 12, 3, 60, 2, 17]], dtype=jnp.int32)
    mask = jnp.ones_like(tokens, dtype=bool)
    out = model(tokens, sft_utils.build_positions_from_mask(mask), None, sft_utils.make_causal_attn_mask(mask))
    return np.asarray(out[0], dtype=np.float32)


@pytest.mark.parametrize("family", FAMILIES)
def test_inspect_reads_the_family_from_config_json(hf_dirs: dict[str, Path], family: str) -> None:
    from training.engine.hf import inspect_checkpoint

    checkpoint = inspect_checkpoint(hf_dirs[family])
    assert checkpoint.family == family
    assert checkpoint.weight_files == (hf_dirs[family] / "model.safetensors",)
    assert checkpoint.tied is (family != "llama3")


def broken_copy(source: Path, dest: Path) -> Path:
    shutil.copytree(source, dest)
    return dest


def test_bad_directories_are_refused_naming_the_file(hf_dirs: dict[str, Path], tmp_path: Path) -> None:
    from training.engine.hf import CheckpointError, inspect_checkpoint

    with pytest.raises(CheckpointError, match="model directory not found"):
        inspect_checkpoint(tmp_path / "absent")

    no_tokenizer = broken_copy(hf_dirs["qwen3"], tmp_path / "no_tokenizer")
    (no_tokenizer / "tokenizer.json").unlink()
    with pytest.raises(CheckpointError, match=r"no_tokenizer/tokenizer\.json not found"):
        inspect_checkpoint(no_tokenizer)

    other = broken_copy(hf_dirs["llama3"], tmp_path / "mistral")
    config = json.loads((other / "config.json").read_text())
    (other / "config.json").write_text(json.dumps({**config, "model_type": "mistral"}))
    with pytest.raises(CheckpointError, match=r"mistral/config\.json: model_type 'mistral' is not supported"):
        inspect_checkpoint(other)

    wider = broken_copy(hf_dirs["gemma3"], tmp_path / "wider")
    (wider / "config.json").write_text(
        json.dumps({**json.loads((wider / "config.json").read_text()), "intermediate_size": 96})
    )
    with pytest.raises(
        CheckpointError, match=r"wider/model\.safetensors: tensor model\.layers\.0\.mlp\.gate_proj\.weight"
    ):
        inspect_checkpoint(wider)

    deeper = broken_copy(hf_dirs["qwen3"], tmp_path / "deeper")
    (deeper / "config.json").write_text(
        json.dumps({**json.loads((deeper / "config.json").read_text()), "num_hidden_layers": 3})
    )
    with pytest.raises(CheckpointError, match=r"model\.layers\.2\.self_attn\.q_proj\.weight is missing .*deeper"):
        inspect_checkpoint(deeper)

    no_weights = broken_copy(hf_dirs["qwen3"], tmp_path / "no_weights")
    (no_weights / "model.safetensors").write_bytes(b"\x05")
    with pytest.raises(CheckpointError, match=r"no_weights/model\.safetensors is not a safetensors file"):
        inspect_checkpoint(no_weights)
    (no_weights / "model.safetensors").unlink()
    with pytest.raises(CheckpointError, match=r"no \*\.safetensors weights in .*no_weights"):
        inspect_checkpoint(no_weights)


def edited_config(source: Path, dest: Path, **changes: Any) -> Path:
    broken_copy(source, dest)
    config = json.loads((dest / "config.json").read_text())
    (dest / "config.json").write_text(json.dumps({**config, **changes}))
    return dest


def test_what_tunix_would_silently_drop_is_refused(hf_dirs: dict[str, Path], tmp_path: Path) -> None:
    from training.engine.hf import CheckpointError, inspect_checkpoint

    with pytest.raises(CheckpointError, match=r"biased/config\.json: attention_bias=true is not supported"):
        inspect_checkpoint(edited_config(hf_dirs["llama3"], tmp_path / "biased", attention_bias=True))
    with pytest.raises(CheckpointError, match=r"untied/config\.json: tie_word_embeddings=false"):
        inspect_checkpoint(edited_config(hf_dirs["gemma3"], tmp_path / "untied", tie_word_embeddings=False))
    pattern = edited_config(hf_dirs["gemma3"], tmp_path / "pattern", layer_types=["full_attention"] * 2)
    with pytest.raises(CheckpointError, match=r"pattern/config\.json: layer_types must repeat"):
        inspect_checkpoint(pattern)
    vocab = json.loads((hf_dirs["qwen3"] / "config.json").read_text())["vocab_size"]
    extra = broken_copy(hf_dirs["qwen3"], tmp_path / "extra")
    tokenizer = json.loads((extra / "tokenizer.json").read_text())
    tokenizer["added_tokens"].append({**tokenizer["added_tokens"][-1], "id": vocab, "content": "<extra>"})
    (extra / "tokenizer.json").write_text(json.dumps(tokenizer))
    with pytest.raises(CheckpointError, match=rf"extra/tokenizer\.json has token id {vocab}, beyond the vocab_size"):
        inspect_checkpoint(extra)
    untemplated = broken_copy(hf_dirs["llama3"], tmp_path / "untemplated")
    template = (untemplated / "chat_template.jinja").read_text()
    (untemplated / "chat_template.jinja").unlink()
    with pytest.raises(CheckpointError, match=r"untemplated/tokenizer_config\.json has no chat_template"):
        inspect_checkpoint(untemplated)
    tokenizer_config = json.loads((untemplated / "tokenizer_config.json").read_text())
    (untemplated / "tokenizer_config.json").write_text(json.dumps({**tokenizer_config, "chat_template": template}))
    assert inspect_checkpoint(untemplated).family == "llama3"
    from training.engine.tokenizer import load_hf_tokenizer

    in_config = load_hf_tokenizer(path=untemplated).chat_prompt("hi")
    assert in_config == load_hf_tokenizer(path=hf_dirs["llama3"]).chat_prompt("hi")


def test_a_lora_module_path_matching_nothing_is_refused(hf_dirs: dict[str, Path], tmp_path: Path) -> None:
    from training.engine.models import ModelLoadError
    from training.engine.sft import run_sft

    config = parse_config(
        {
            "model": {"mode": "pretrained", "path": str(hf_dirs["qwen3"]), "lora": {"module_path": ".*no_such"}},
            "training": {"batch_size": 4, "max_steps": 2, "warmup_steps": 1, "max_seq_len": 96},
        }
    )
    with pytest.raises(ModelLoadError, match="'.\\*no_such' matches no module of the model"):
        run_sft(records=RECORDS, config=config, run_dir=tmp_path / "run")


def test_bad_directory_fails_the_run_before_training(hf_dirs: dict[str, Path], tmp_path: Path) -> None:
    from training.engine.sft import TrainingError, run_sft

    broken = broken_copy(hf_dirs["llama3"], tmp_path / "broken")
    (broken / "tokenizer_config.json").unlink()
    with pytest.raises(TrainingError, match=r"broken/tokenizer_config\.json not found"):
        run_sft(records=RECORDS, config=pretrained_config(broken, lora=True), run_dir=tmp_path / "run")
    assert not (tmp_path / "run" / "checkpoints").exists()


@pytest.mark.parametrize("family", FAMILIES)
def test_records_and_prompts_use_the_models_chat_template(hf_dirs: dict[str, Path], family: str) -> None:
    from transformers import AutoTokenizer

    from training.engine.data import template_records, wrap_prompt
    from training.engine.tokenizer import load_hf_tokenizer

    processor = load_hf_tokenizer(path=hf_dirs[family])
    reference = AutoTokenizer.from_pretrained(str(hf_dirs[family]), local_files_only=True)
    user = "What is 10 + 10?"
    (record,) = template_records(
        [
            {
                "prompt": f"<start_of_turn>user\n{user}<end_of_turn>\n<start_of_turn>model\n",
                "completion": "20<end_of_turn>",
            }
        ],
        processor,
    )
    prompt = reference.apply_chat_template(
        [{"role": "user", "content": user}], tokenize=False, add_generation_prompt=True
    )
    full = reference.apply_chat_template(
        [{"role": "user", "content": user}, {"role": "assistant", "content": "20"}], tokenize=False
    )
    assert record["prompt"] == prompt == wrap_prompt(user, processor)
    assert record["prompt"] + record["completion"] == full
    assert record["completion"].startswith("20") and record["completion"] != "20"
    # A record already in the model's template is kept as it is.
    assert template_records([record], processor) == [record]
    stops = processor.stop_ids()
    end_of_turn = {"qwen3": "<|im_end|>", "llama3": "<|eot_id|>", "gemma3": "<end_of_turn>"}[family]
    assert reference.convert_tokens_to_ids(end_of_turn) in stops
    assert reference.eos_token_id in stops


@pytest.mark.parametrize("family", FAMILIES)
@pytest.mark.parametrize("lora", [True, False], ids=["lora", "full"])
def test_sft_sample_export_and_load_back(hf_dirs: dict[str, Path], tmp_path: Path, family: str, lora: bool) -> None:
    import numpy as np

    from training.engine.export import export_run
    from training.engine.hf import CheckpointError
    from training.engine.hf_load import load_pretrained
    from training.engine.sampling import generate, load_run_model
    from training.engine.sft import run_sft

    run_dir = tmp_path / "run"
    result = run_sft(records=RECORDS, config=pretrained_config(hf_dirs[family], lora=lora), run_dir=run_dir)
    assert result.steps == 5
    assert result.losses[-1] < result.losses[0]
    spec = json.loads((run_dir / "model.json").read_text())
    assert spec["mode"] == "pretrained" and spec["model_config"] == {"family": family}
    assert (spec["lora"] is not None) is lora
    for name in ("tokenizer.json", "tokenizer_config.json"):
        assert (run_dir / "tokenizer" / name).read_bytes() == (hf_dirs[family] / name).read_bytes()

    texts = generate(
        run_dir=run_dir, checkpoint="final", prompts=["What is 11 + 22?", "What is 3 + 4?"], max_new_tokens=6
    )
    assert len(texts) == 2 and all(isinstance(t, str) for t in texts)

    out = tmp_path / "exported"
    export_run(run_dir=run_dir, out_dir=out)
    assert {"model.safetensors", "config.json", "tokenizer.json", "tokenizer_config.json"} <= {
        p.name for p in out.iterdir()
    }
    assert (out / "config.json").read_bytes() == (hf_dirs[family] / "config.json").read_bytes()
    trained = logits_of(load_run_model(run_dir=run_dir, checkpoint="final"))
    exported = logits_of(load_pretrained(path=out, dtype="float32"))
    base = logits_of(load_pretrained(path=hf_dirs[family], dtype="float32"))
    np.testing.assert_allclose(exported, trained, atol=1e-4, rtol=1e-4)
    assert np.abs(trained - base).max() > 1e-2

    with pytest.raises(CheckpointError, match="is not empty"):
        export_run(run_dir=run_dir, out_dir=out)
    if lora:
        check_adapter_export(run_dir=run_dir, merged=out, base=hf_dirs[family], tmp_path=tmp_path)
    else:
        with pytest.raises(CheckpointError, match="no LoRA adapter to export"):
            export_run(run_dir=run_dir, out_dir=tmp_path / "adapter", adapter_only=True)


def check_adapter_export(*, run_dir: Path, merged: Path, base: Path, tmp_path: Path) -> None:
    """The PEFT adapter applied to the base weights by hand gives the merged export's weights."""
    import numpy as np
    import safetensors.numpy as safe_np

    from training.engine.export import export_run

    adapter = export_run(run_dir=run_dir, out_dir=tmp_path / "adapter", adapter_only=True)
    config = json.loads((adapter / "adapter_config.json").read_text())
    assert config["peft_type"] == "LORA" and config["r"] == 4 and config["lora_alpha"] == 16.0
    assert config["base_model_name_or_path"] == str(base.resolve())
    tensors = safe_np.load_file(str(adapter / "adapter_model.safetensors"))
    weights = safe_np.load_file(str(base / "model.safetensors"))
    want = safe_np.load_file(str(merged / "model.safetensors"))
    changed = set()
    for name, lora_a in tensors.items():
        if not name.endswith(".lora_A.weight"):
            continue
        key = name.removeprefix("base_model.model.").removesuffix(".lora_A.weight") + ".weight"
        lora_b = tensors[name.replace(".lora_A.", ".lora_B.")]
        weights[key] = weights[key] + config["lora_alpha"] / config["r"] * (lora_b @ lora_a)
        changed.add(key)
    assert {"q_proj", "v_proj", "o_proj", "down_proj"} <= {key.split(".")[-2] for key in changed}
    assert set(config["target_modules"]) == {key.split(".")[-2] for key in changed}
    for key, value in want.items():
        np.testing.assert_allclose(weights[key], value, atol=1e-5, err_msg=key)


def test_bfloat16_lora_trains_and_exports_in_the_base_dtype(hf_dirs: dict[str, Path], tmp_path: Path) -> None:
    import jax
    import numpy as np
    import safetensors.numpy as safe_np
    from flax import nnx

    from training.engine.export import export_run
    from training.engine.sampling import load_run_model
    from training.engine.sft import run_sft

    run_dir = tmp_path / "run"
    config = pretrained_config(hf_dirs["qwen3"], lora=True, dtype="bfloat16", max_steps=3)
    result = run_sft(records=RECORDS, config=config, run_dir=run_dir)
    assert result.steps == 3 and all(np.isfinite(result.losses))
    model = load_run_model(run_dir=run_dir, checkpoint="final")
    base_dtypes = {leaf.dtype for leaf in jax.tree.leaves(nnx.state(model, nnx.All(nnx.Param, nnx.Not(nnx.LoRAParam))))}
    assert base_dtypes == {np.dtype(jax.numpy.bfloat16)}
    export_run(run_dir=run_dir, out_dir=tmp_path / "out")
    tensors = safe_np.load_file(str(tmp_path / "out" / "model.safetensors"))
    assert {t.dtype for t in tensors.values()} == {np.dtype("float32")}


def test_export_refuses_a_run_without_a_pretrained_base(tmp_path: Path) -> None:
    from training.engine.export import export_run
    from training.engine.hf import CheckpointError
    from training.engine.models import ModelSpec

    ModelSpec(mode="tiny", model_config={}, dtype="float32", seed=0).save(tmp_path)
    with pytest.raises(CheckpointError, match="only runs with model.mode 'pretrained' export"):
        export_run(run_dir=tmp_path, out_dir=tmp_path / "out")


@settings(max_examples=30, deadline=None)
@given(
    tensors=st.dictionaries(
        st.text(st.characters(codec="ascii", categories=["L", "N", "P"]), min_size=1, max_size=40),
        st.lists(st.integers(0, 5), max_size=4),
        max_size=8,
    )
)
def test_safetensors_header_gives_every_name_and_shape(tensors: dict[str, list[int]]) -> None:
    import tempfile

    import numpy as np
    import safetensors.numpy as safe_np

    from training.engine.hf import safetensors_header

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "model.safetensors"
        safe_np.save_file({name: np.zeros(shape, np.float32) for name, shape in tensors.items()}, str(path))
        header = safetensors_header(path)
    assert {name: info["shape"] for name, info in header.items()} == tensors


@settings(max_examples=25, deadline=None)
@given(
    user=st.text(st.characters(codec="utf-8", exclude_characters="<>\x00"), min_size=1, max_size=60),
    reply=st.text(st.characters(codec="utf-8", exclude_characters="<>\x00"), min_size=1, max_size=60),
    family=st.sampled_from(FAMILIES),
)
def test_templating_an_exported_record_is_the_template_and_idempotent(
    hf_dirs: dict[str, Path], user: str, reply: str, family: str
) -> None:
    from training.engine.data import template_records
    from training.engine.tokenizer import load_hf_tokenizer

    processor = load_hf_tokenizer(path=hf_dirs[family])
    exported = {
        "prompt": f"<start_of_turn>user\n{user}<end_of_turn>\n<start_of_turn>model\n",
        "completion": f"{reply}<end_of_turn>",
    }
    (record,) = template_records([exported], processor)
    full = processor.tokenizer.apply_chat_template(
        [{"role": "user", "content": user}, {"role": "assistant", "content": reply}], tokenize=False
    )
    assert record["prompt"] == processor.chat_prompt(user)
    assert record["prompt"] + record["completion"] == full
    assert template_records([record], processor) == [record]
    assert processor.decode(processor.encode(record["completion"])) == record["completion"]


def test_dpo_from_a_bfloat16_full_fine_tune_exports_its_own_weights(hf_dirs: dict[str, Path], tmp_path: Path) -> None:
    import numpy as np

    from training.engine.config import parse_run_config
    from training.engine.dpo import run_dpo
    from training.engine.export import export_run
    from training.engine.hf_load import load_pretrained
    from training.engine.sampling import load_run_model
    from training.engine.sft import run_sft

    config = pretrained_config(hf_dirs["gemma3"], lora=False, dtype="bfloat16", max_steps=2)
    run_sft(records=RECORDS, config=config, run_dir=tmp_path / "sft")
    wrong = "<reasoning>guess</reasoning>\n<answer>0</answer><end_of_turn>"
    pairs = [{"id": r["id"], "prompt": r["prompt"], "chosen": r["completion"], "rejected": wrong} for r in RECORDS[:8]]
    dpo = parse_run_config(
        {"kind": "dpo", "training": {"batch_size": 4, "max_steps": 2, "learning_rate": {"peak": 1.0e-3}},
         "dpo": {"max_prompt_len": 64, "max_response_len": 96}}
    )  # fmt: skip
    result = run_dpo(records=pairs, config=dpo, parent_dir=tmp_path / "sft", run_dir=tmp_path / "dpo")
    assert result.steps == 2 and all(np.isfinite(s["loss"]) for s in result.history.values())
    export_run(run_dir=tmp_path / "dpo", out_dir=tmp_path / "out")
    parent = logits_of(load_run_model(run_dir=tmp_path / "sft", checkpoint="final"))
    trained = logits_of(load_run_model(run_dir=tmp_path / "dpo", checkpoint="final"))
    exported = logits_of(load_pretrained(path=tmp_path / "out", dtype="bfloat16"))
    np.testing.assert_allclose(exported, trained, atol=1e-2)
    assert np.abs(trained - parent).max() > 1e-2
