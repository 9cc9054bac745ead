from __future__ import annotations

from typing import Any

import pytest

from traces import imports, services
from traces.models import Trace
from traces.tests.factories import make_payload

pytestmark = pytest.mark.django_db


def test_import_many_skips_duplicates_in_store_and_in_input() -> None:
    services.trace_create(payload=make_payload(1))  # type: ignore[arg-type]
    payloads: Any = [make_payload(1), make_payload(2), make_payload(2), make_payload(3)]
    progress: list[int] = []
    summary = imports.traces_import_many(
        payloads=payloads, skip_duplicates=True, batch_size=2, on_batch=progress.append
    )
    assert (summary.created, summary.duplicates) == (2, 2)
    assert progress == [2, 4]
    assert Trace.objects.count() == 3


def test_import_many_rolls_back_everything_on_failure(monkeypatch: pytest.MonkeyPatch) -> None:
    real = imports.traces_import_batch
    calls = {"n": 0}

    def failing(*, payloads: Any, actor: Any = None) -> Any:
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError("disk full")
        return real(payloads=payloads, actor=actor)

    monkeypatch.setattr(imports, "traces_import_batch", failing)
    with pytest.raises(RuntimeError):
        imports.traces_import_many(payloads=[make_payload(n) for n in range(4)], batch_size=2)  # type: ignore[misc]
    assert Trace.objects.count() == 0
