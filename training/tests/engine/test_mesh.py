"""``mesh: {fsdp, tp}``: the same seed on a 2x2 or 4x1 mesh of forced CPU devices gives the one-device loss curve.

JAX fixes its device count when it starts, so each mesh trains in a fresh interpreter started
with ``XLA_FLAGS=--xla_force_host_platform_device_count=4``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from training.tests.engine.conftest import addition_records
from training.tests.engine.hf_models import write_hf_model

pytestmark = pytest.mark.training

# Sharded matmuls sum in another order; after a few Adam steps the curves agree to this much.
LOSS_TOLERANCE = 2e-3

SCRIPT = """
import json, sys
from pathlib import Path
import jax
from flax import nnx
from training.engine.config import parse_config
from training.engine.models import make_mesh
from training.engine.sampling import generate, load_run_model
from training.engine.sft import run_sft
from training.tests.engine.conftest import addition_records

hf_dir, run_dir, fsdp, tp, lora = sys.argv[1], Path(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5] == "1"
config = parse_config({
    "model": {"mode": "pretrained", "path": hf_dir, "lora": {"enabled": lora, "rank": 4}},
    "training": {"seed": 3, "batch_size": 8, "max_steps": 4, "warmup_steps": 1, "max_seq_len": 96,
                 "learning_rate": {"peak": 1.0e-2, "end": 1.0e-3}},
    "mesh": {"fsdp": fsdp, "tp": tp},
})
result = run_sft(records=addition_records(24), config=config, run_dir=run_dir)
mesh = make_mesh(config.mesh)
model = load_run_model(run_dir=run_dir, checkpoint="final", mesh=mesh)
devices = {len(x.sharding.device_set) for x in jax.tree.leaves(nnx.state(model, nnx.Param))}
texts = generate(run_dir=run_dir, checkpoint="final", prompts=["What is 11 + 22?"], max_new_tokens=4, mesh=config.mesh)
print(json.dumps({"devices": len(jax.devices()), "losses": result.losses, "param_devices": sorted(devices),
                  "texts": texts}))
"""


def train_on_mesh(hf_dir: Path, run_dir: Path, fsdp: int, tp: int, lora: bool) -> dict[str, Any]:
    return run_script(SCRIPT, hf_dir, run_dir, fsdp, tp, "1" if lora else "0")


def run_script(script: str, *args: object) -> dict[str, Any]:
    """Run ``script`` in a fresh interpreter that sees four CPU devices; its last line is JSON."""
    env = {**os.environ, "XLA_FLAGS": "--xla_force_host_platform_device_count=4", "JAX_PLATFORMS": "cpu"}
    root = Path(__file__).resolve().parents[3]
    done = subprocess.run(  # noqa: S603 - this interpreter, a fixed script, arguments the test made
        [sys.executable, "-c", script, *(str(a) for a in args)],
        cwd=root,
        env={**env, "PYTHONPATH": str(root)},
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("lora", [True, False], ids=["lora", "full"])
def test_sharded_meshes_give_the_one_device_loss_curve(tmp_path: Path, lora: bool) -> None:
    from training.engine.data import record_texts

    hf_dir = write_hf_model(tmp_path / "qwen3", "qwen3", record_texts(addition_records(24)))
    one = train_on_mesh(hf_dir, tmp_path / "one", 1, 1, lora)
    assert one["devices"] == 4 and one["param_devices"] == [1]
    for fsdp, tp in ((2, 2), (4, 1)):
        sharded = train_on_mesh(hf_dir, tmp_path / f"m{fsdp}x{tp}", fsdp, tp, lora)
        assert sharded["param_devices"][-1] == 4, "the weights were not placed on the whole mesh"
        assert len(sharded["losses"]) == len(one["losses"]) == 4
        for a, b in zip(sharded["losses"], one["losses"], strict=True):
            assert abs(a - b) <= LOSS_TOLERANCE * max(1.0, abs(b)), (fsdp, tp, sharded["losses"], one["losses"])
        assert len(sharded["texts"]) == 1


RL_SCRIPT = """
import json, math, sys
from pathlib import Path
from training.engine.config import parse_config, parse_run_config
from training.engine.dpo import run_dpo
from training.engine.grpo import run_grpo
from training.engine.sft import run_sft
from training.tests.engine.conftest import addition_records

hf_dir, root, fsdp, tp = sys.argv[1], Path(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
mesh = {"fsdp": fsdp, "tp": tp}
records = addition_records(16)
for r in records:
    r["answer"] = r["completion"].split("<answer>")[1].split("</answer>")[0]
sft = parse_config({"model": {"mode": "pretrained", "path": hf_dir, "lora": {"rank": 4}},
                    "training": {"batch_size": 4, "max_steps": 2, "warmup_steps": 1, "max_seq_len": 96}, "mesh": mesh})
run_sft(records=records, config=sft, run_dir=root / "sft")
grpo = parse_run_config({"kind": "grpo", "training": {"batch_size": 4, "max_steps": 2},
                         "grpo": {"num_generations": 2, "max_prompt_len": 48, "max_new_tokens": 48}, "mesh": mesh})
g = run_grpo(records=records, config=grpo, parent_dir=root / "sft", run_dir=root / "grpo")
wrong = "<reasoning>guess</reasoning>\\n<answer>0</answer><end_of_turn>"
pairs = [{"id": r["id"], "prompt": r["prompt"], "chosen": r["completion"], "rejected": wrong} for r in records[:8]]
dpo = parse_run_config({"kind": "dpo", "training": {"batch_size": 4, "max_steps": 2},
                        "dpo": {"max_prompt_len": 48, "max_response_len": 64}, "mesh": mesh})
d = run_dpo(records=pairs, config=dpo, parent_dir=root / "sft", run_dir=root / "dpo")
print(json.dumps({"grpo_steps": g.steps, "grpo_finite": all(math.isfinite(v) for s in g.history.values()
                  for v in s.values()), "dpo_losses": [d.history[s]["loss"] for s in sorted(d.history)]}))
"""


def test_grpo_and_dpo_run_on_a_sharded_mesh(tmp_path: Path) -> None:
    from training.engine.data import record_texts

    hf_dir = write_hf_model(tmp_path / "qwen3", "qwen3", record_texts(addition_records(16)))
    results = [run_script(RL_SCRIPT, hf_dir, tmp_path / f"m{fsdp}x{tp}", fsdp, tp) for fsdp, tp in ((1, 1), (2, 2))]
    for result in results:
        assert result["grpo_steps"] == 2 and result["grpo_finite"]
        assert len(result["dpo_losses"]) == 2
    for a, b in zip(results[1]["dpo_losses"], results[0]["dpo_losses"], strict=True):
        assert abs(a - b) <= LOSS_TOLERANCE * max(1.0, abs(b))


def test_a_mesh_larger_than_the_host_is_refused() -> None:
    from training.engine.config import MeshConfig
    from training.engine.models import ModelLoadError, make_mesh

    with pytest.raises(ModelLoadError, match=r"mesh \{fsdp: 64, tp: 2\} needs 128 devices, this host has \d+"):
        make_mesh(MeshConfig(fsdp=64, tp=2))
