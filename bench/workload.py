"""The traces the bench sends and the SQL its raw side runs; no project imports."""

from __future__ import annotations

import hashlib
import json
import random
import uuid
from datetime import UTC, datetime
from typing import Any

TRACE_COLUMNS = (
    "id", "created_at", "updated_at", "trace_version", "prompt", "final_answer", "steps", "meta",
    "step_count", "content_chars", "content_hash", "source", "status", "notes",
)  # fmt: skip
LIST_SQL = (
    "SELECT id, created_at, updated_at, trace_version, status, source, step_count, substr(prompt, 1, 120)"
    " FROM traces_trace ORDER BY created_at DESC, id DESC LIMIT 100"
)


def payloads(count: int, *, seed: int, cohort: str) -> list[dict[str, Any]]:
    """``count`` arithmetic traces of three steps, deterministic for a seed; meta names the cohort."""
    rng = random.Random(seed)
    items = []
    for index in range(count):
        a, b = rng.randrange(10, 10_000), rng.randrange(10, 10_000)
        total = a + b
        steps = [
            {"i": 0, "type": "ones", "content": f"Ones: {a % 10} + {b % 10} = {a % 10 + b % 10}."},
            {"i": 1, "type": "rest", "content": f"The rest: {a - a % 10} + {b - b % 10} = {total - a % 10 - b % 10}."},
            {"i": 2, "type": "combine", "content": f"Combine: {a} + {b} = {total}."},
        ]  # fmt: skip
        items.append({
            "trace_version": "1.0",
            "prompt": f"What is {a} + {b}?",
            "final_answer": str(total),
            "steps": steps,
            "meta": {"source": "bench", "cohort": cohort, "seed": seed, "index": index, "operands": [a, b]},
        })  # fmt: skip
    return items


def raw_row(p: dict[str, Any]) -> tuple[Any, ...]:
    """The row the raw side writes for one payload: the same columns the service stores."""
    now = datetime.now(UTC)
    canonical = json.dumps(
        {"prompt": p["prompt"], "steps": p["steps"], "final_answer": p["final_answer"]},
        sort_keys=True, separators=(",", ":"), ensure_ascii=False,
    )  # fmt: skip
    return (
        uuid.uuid4(), now, now, p["trace_version"], p["prompt"], p["final_answer"], json.dumps(p["steps"]),
        json.dumps(p["meta"]), len(p["steps"]),
        len(p["prompt"]) + len(p["final_answer"]) + sum(len(step["content"]) for step in p["steps"]),
        hashlib.sha256(canonical.encode()).hexdigest(),
        p["meta"]["source"], "pending", "",
    )  # fmt: skip
