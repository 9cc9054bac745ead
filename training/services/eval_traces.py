"""An evaluation's generations as traces: the model's mistakes come back as data for review.

Each stored generation is a trace with ``meta.source = "model"``, status ``pending`` (so it lands
in the review queue), and meta naming the training run, the evaluation, the eval set, the example
and the expected answer. Called inside the transaction that stores the evaluation's results.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from traces.generators.base import TRACE_VERSION
from traces.services import traces_import_batch
from training.models import EvaluationResult, EvaluationRun, StoreTraces

MODEL_SOURCE = "model"
NO_ANSWER = "(no answer)"
_REASONING = re.compile(r"<reasoning>(.*?)(?:</reasoning>|$)", re.DOTALL)
_NUMBERED = re.compile(r"^\s*\d+\.\s*(.+?)\s*$")
_STEP_CHARS, _STEPS_MAX, _TEXT_CHARS = 20_000, 1_000, 50_000


def generation_steps(generated: str) -> list[dict[str, Any]]:
    """The numbered lines of the ``<reasoning>`` block as steps; else the whole output as one step."""
    match = _REASONING.search(generated)
    body = match.group(1) if match else ""
    contents = []
    for line in body.splitlines():
        numbered = _NUMBERED.match(line)
        text = (numbered.group(1) if numbered else line).strip()
        if text:
            contents.append(text[:_STEP_CHARS])
    if not contents:
        contents = [generated.strip()[:_STEP_CHARS] or "(empty generation)"]
    return [{"i": i, "type": "generated", "content": c} for i, c in enumerate(contents[:_STEPS_MAX])]


def generation_payload(*, evaluation: EvaluationRun, result: EvaluationResult) -> dict[str, Any]:
    return {
        "trace_version": TRACE_VERSION,
        "prompt": result.prompt[:_TEXT_CHARS],
        "final_answer": (result.predicted_answer or NO_ANSWER)[:_TEXT_CHARS],
        "steps": generation_steps(result.generated_response),
        "meta": {
            "source": MODEL_SOURCE,
            "training_run_id": str(evaluation.training_run_id),
            "evaluation_run_id": str(evaluation.id),
            "checkpoint": evaluation.checkpoint,
            "eval_set": evaluation.eval_set.name,
            "example_id": result.example_id,
            "expected_answer": result.expected_response,
            "correct": result.correct,
            "format_ok": result.format_ok,
            "generated_response": result.generated_response[:_TEXT_CHARS],
        }
        | _sampling_meta(evaluation=evaluation, result=result)
        | ({"trained_prompts": True} if evaluation.trained_prompts else {}),
    }


def _sampling_meta(*, evaluation: EvaluationRun, result: EvaluationResult) -> dict[str, Any]:
    if evaluation.temperature == 0:
        return {}
    return {"temperature": evaluation.temperature, "seed": evaluation.seed, "sample": result.metadata.get("sample", 0)}


def evaluation_store_traces(*, evaluation: EvaluationRun, results: Sequence[EvaluationResult], actor: Any) -> int:
    """Stores the wrong (or all) generations as pending ``model`` traces in one batch; returns how many."""
    if evaluation.store_traces == StoreTraces.NONE:
        return 0
    chosen = [r for r in results if evaluation.store_traces == StoreTraces.ALL or not r.correct]
    payloads = [generation_payload(evaluation=evaluation, result=r) for r in chosen]
    return len(traces_import_batch(payloads=payloads, actor=actor))  # type: ignore[arg-type]
