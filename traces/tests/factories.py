from __future__ import annotations

from typing import Any

import factory
from factory.django import DjangoModelFactory

from traces.models import Score, Trace
from traces.services import trace_content_chars, trace_content_hash


def make_payload(n: int = 0, **overrides: Any) -> dict[str, Any]:
    """A valid API body for a trace; ``n`` varies the content."""
    payload: dict[str, Any] = {
        "trace_version": "1.0",
        "prompt": f"What is {n} + 2?",
        "final_answer": str(n + 2),
        "steps": [
            {"i": 0, "type": "parse", "content": f"Read the numbers {n} and 2."},
            {"i": 1, "type": "compute", "content": f"{n} + 2 = {n + 2}"},
        ],
        "meta": {"source": "unit-test", "n": n},
    }
    payload.update(overrides)
    return payload


class TraceFactory(DjangoModelFactory[Trace]):
    class Meta:
        model = Trace

    trace_version = "1.0"
    prompt = factory.Sequence(lambda n: f"Prompt number {n}?")
    final_answer = factory.Sequence(lambda n: f"answer {n}")
    steps = factory.LazyFunction(lambda: [{"i": 0, "type": "think", "content": "Think it through."}])
    meta = factory.LazyFunction(lambda: {"source": "factory"})
    source = factory.LazyAttribute(lambda o: (o.meta or {}).get("source", ""))
    step_count = factory.LazyAttribute(lambda o: len(o.steps))
    content_chars = factory.LazyAttribute(
        lambda o: trace_content_chars(prompt=o.prompt, steps=o.steps, final_answer=o.final_answer)
    )
    content_hash = factory.LazyAttribute(
        lambda o: trace_content_hash(prompt=o.prompt, steps=o.steps, final_answer=o.final_answer)
    )


class ScoreFactory(DjangoModelFactory[Score]):
    class Meta:
        model = Score

    trace = factory.SubFactory(TraceFactory)
    criteria = "baseline"
    score = 42.0
    details = factory.LazyFunction(dict)
