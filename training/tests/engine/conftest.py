from __future__ import annotations

import importlib.util
from typing import Any

import pytest

from training.engine.stack import INSTALL_HINT


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "training: needs the optional JAX/Tunix stack (requirements-training.txt)")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if all(importlib.util.find_spec(name) is not None for name in ("jax", "tunix", "sentencepiece")):
        return
    skip = pytest.mark.skip(reason=f"training stack not installed: {INSTALL_HINT}")
    for item in items:
        if item.get_closest_marker("training") is not None:
            item.add_marker(skip)


def addition_records(count: int) -> list[dict[str, Any]]:
    """Small deterministic prompt_completion records in the shape docs/formats.md gives."""
    records = []
    for i in range(count):
        a, b = 10 + (i * 7) % 40, 10 + (i * 13) % 45
        ones = a % 10 + b % 10
        steps = f"1. Ones: {a % 10} + {b % 10} = {ones}\n2. Tens: {a // 10} + {b // 10} + {ones // 10}"
        records.append(
            {
                "id": f"r{i}",
                "prompt": f"<start_of_turn>user\nWhat is {a} + {b}?<end_of_turn>\n<start_of_turn>model\n",
                "completion": f"<reasoning>{steps}</reasoning>\n<answer>{a + b}</answer><end_of_turn>",
            }
        )
    return records
