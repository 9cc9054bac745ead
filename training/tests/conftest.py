from __future__ import annotations

import sys
import types
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from django.test import override_settings

from datasets.models import Dataset
from datasets.services import dataset_build
from traces.generation import traces_generate

TINY_CONFIG = """
model:
  mode: tiny
training:
  seed: 3
  batch_size: 4
  max_steps: 6
  max_seq_len: 96
  log_every: 2
  warmup_steps: 1
eval:
  max_new_tokens: 48
  batch_size: 8
"""


@pytest.fixture
def artifacts(tmp_path: Path) -> Iterator[Path]:
    root = tmp_path / "artifacts"
    with override_settings(ARTIFACTS_DIR=root):
        yield root


@pytest.fixture
def tiny_config(tmp_path: Path) -> Path:
    path = tmp_path / "tiny.yaml"
    path.write_text(TINY_CONFIG, encoding="utf-8")
    return path


@pytest.fixture
def arith_dataset(db: Any, artifacts: Path) -> Dataset:
    traces_generate(name="arithmetic", count=40, seed=1, level="medium")
    return dataset_build(name="arith", version="1.0", filters={"generator": "arithmetic"}, limit=40)


@pytest.fixture
def no_training_stack(monkeypatch: pytest.MonkeyPatch) -> None:
    """As on a machine without requirements-training.txt, whatever this venv has."""
    from training.engine import stack

    def missing() -> None:
        raise stack.TrainingStackMissing(f"training stack not installed (missing: jax); run: {stack.INSTALL_HINT}")

    monkeypatch.setattr(stack, "ensure_training_stack", missing)
    for module in ("training.services.execution", "training.management.commands.train_sft",
                   "training.management.commands.evaluate", "training.rl_command"):  # fmt: skip
        monkeypatch.setattr(f"{module}.ensure_training_stack", missing)


@pytest.fixture
def fake_engine(monkeypatch: pytest.MonkeyPatch) -> Callable[..., None]:
    """Replaces the JAX-backed engine modules by stand-ins, to test the orchestration around them."""

    def install(
        *, losses: list[float] | None = None, fail: Exception | None = None, on_step_hook: Any = None,
        outputs: Callable[[list[str]], list[str]] | None = None,
    ) -> None:  # fmt: skip
        monkeypatch.setattr("training.worker.HEARTBEAT_SECONDS", 0.05)
        for module in ("training.services.execution", "training.management.commands.train_sft",
                       "training.management.commands.evaluate", "training.rl_command"):  # fmt: skip
            monkeypatch.setattr(f"{module}.ensure_training_stack", lambda: None)
        sft = types.ModuleType("training.engine.sft")

        class TrainingError(RuntimeError):
            pass

        def run_sft(*, records: Any, config: Any, run_dir: Path, on_step: Any) -> Any:
            if fail is not None:
                raise fail
            curve = losses or [2.0, 1.5, 1.0]
            for step, loss in enumerate(curve, start=1):
                on_step(step, {"loss": loss})
                if on_step_hook:
                    on_step_hook(step)
            return types.SimpleNamespace(steps=len(curve), final_loss=curve[-1])

        sft.TrainingError = TrainingError  # type: ignore[attr-defined]
        sft.run_sft = run_sft  # type: ignore[attr-defined]
        sampling = types.ModuleType("training.engine.sampling")

        def generate(*, prompts: list[str], samples: int = 1, **kw: Any) -> list[str]:
            drawn = [p for p in prompts for _ in range(samples)]  # the engine's order: a prompt's samples together
            return (outputs or (lambda p: ["<answer>?</answer>"] * len(p)))(drawn)

        sampling.generate = generate  # type: ignore[attr-defined]
        monkeypatch.setitem(sys.modules, "training.engine.sft", sft)
        monkeypatch.setitem(sys.modules, "training.engine.sampling", sampling)
        for rl_kind, headline in (("grpo", "reward"), ("dpo", "margin")):
            rl_module = types.ModuleType(f"training.engine.{rl_kind}")
            setattr(rl_module, f"run_{rl_kind}", _fake_rl_engine(headline=headline, fail=fail, seen=seen))
            monkeypatch.setitem(sys.modules, f"training.engine.{rl_kind}", rl_module)

    seen: list[dict[str, Any]] = []
    install.seen = seen  # type: ignore[attr-defined]
    return install


def _fake_rl_engine(*, headline: str, fail: Exception | None, seen: list[dict[str, Any]]) -> Callable[..., Any]:
    """A GRPO/DPO stand-in: records what it was given and logs three steps of a rising headline metric."""

    def run(*, records: Any, config: Any, parent_dir: Path, run_dir: Path, on_step: Any) -> Any:
        seen.append({"records": list(records), "config": config, "parent_dir": parent_dir, "run_dir": run_dir})
        if fail is not None:
            raise fail
        history = {}
        for step in (1, 2, 3):
            history[step] = {"loss": 1.0 / step, headline: 0.5 * step, "kl": 0.01 * step}
            on_step(step, history[step])
        return types.SimpleNamespace(steps=3, final_reward=1.5, history=history)

    return run
