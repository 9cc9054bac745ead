"""The deterministic ``baseline`` score: more and longer steps score higher (formula in docs/api.md)."""

from __future__ import annotations

from traces.scoring import ScoredTrace, ScoreResult, register


@register("baseline")
def score_baseline(trace: ScoredTrace) -> ScoreResult:
    steps = trace.steps
    step_count = len(steps)
    total_chars = sum(len(step["content"]) for step in steps)
    avg_step_length = total_chars / step_count if step_count else 0.0
    step_score = min(step_count / 10, 1) * 50
    length_score = min(avg_step_length / 500, 1) * 50
    return ScoreResult(
        score=round(step_score + length_score, 2),
        details={
            "step_count": step_count,
            "avg_step_length": round(avg_step_length, 2),
            "total_chars": total_chars,
            "step_score": round(step_score, 2),
            "length_score": round(length_score, 2),
        },
    )
