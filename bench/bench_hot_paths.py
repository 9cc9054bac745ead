"""Hot paths of the services against the same work in raw PostgreSQL, printed as ratios.

Run with `make bench` (DATABASE_URL=postgres://…). The service side calls services and
selectors only; the raw side works on a scratch table of its own with the same columns,
so nothing here writes SQL against the apps' tables. Ratios are printed, never asserted.
"""

from __future__ import annotations

import json
import statistics
import time
import uuid
from collections.abc import Callable
from typing import Any

from django.utils import timezone

from datasets.selectors import dataset_get
from datasets.services import dataset_build, dataset_export_lines
from traces.generation import traces_persist
from traces.generators import generate
from traces.selectors import trace_list
from traces.serializers import TraceListItemSerializer
from traces.services import trace_content_hash, traces_import_batch

BATCH = 1_000
EXPORT = 5_000
REPEATS = 5
SCRATCH = """
CREATE TEMPORARY TABLE bench_trace (
    id uuid PRIMARY KEY, created_at timestamptz NOT NULL, updated_at timestamptz NOT NULL,
    trace_version varchar(64) NOT NULL, prompt text NOT NULL, final_answer text NOT NULL,
    steps jsonb NOT NULL, meta jsonb, step_count integer NOT NULL, content_hash varchar(64) NOT NULL,
    source varchar(255) NOT NULL, status varchar(16) NOT NULL, notes text NOT NULL
);
CREATE INDEX bench_trace_newest ON bench_trace (created_at DESC, id DESC);
"""


def _median(run: Callable[[], Any]) -> float:
    samples = []
    for _ in range(REPEATS):
        start = time.perf_counter()
        run()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def _raw_rows(payloads: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    now = timezone.now()
    return [
        (uuid.uuid4(), now, now, p["trace_version"], p["prompt"], p["final_answer"], json.dumps(p["steps"]),
         json.dumps(p["meta"]), len(p["steps"]),
         trace_content_hash(prompt=p["prompt"], steps=p["steps"], final_answer=p["final_answer"]),
         p["meta"]["source"], "pending", "")
        for p in payloads
    ]  # fmt: skip


def test_hot_paths_against_raw_postgresql(raw_pg: Any) -> None:
    with raw_pg.cursor() as cursor:
        cursor.execute(SCRATCH)
    payloads: Any = generate(name="arithmetic", count=BATCH, seed=1, level="medium")

    def raw_import() -> None:
        rows = _raw_rows(payloads)
        with raw_pg.transaction(), raw_pg.cursor() as cursor:
            cursor.executemany("INSERT INTO bench_trace VALUES (%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s)", rows)
            cursor.execute("SELECT id, created_at, trace_version FROM bench_trace WHERE id = ANY(%s)",
                           ([r[0] for r in rows],))  # fmt: skip
            cursor.fetchall()

    figures = [(f"batch import ({BATCH} traces)", _median(lambda: traces_import_batch(payloads=payloads)),
                _median(raw_import))]  # fmt: skip

    def raw_list() -> None:
        with raw_pg.cursor() as cursor:
            cursor.execute(
                "SELECT id, created_at, updated_at, trace_version, status, source, step_count, substr(prompt, 1, 120)"
                " FROM bench_trace ORDER BY created_at DESC, id DESC LIMIT 101"
            )
            cursor.fetchall()

    def service_list() -> None:
        TraceListItemSerializer(list(trace_list()[:100]), many=True).data  # noqa: B018

    figures.append(("list page (100 rows, serialized)", _median(service_list), _median(raw_list)))

    traces_persist(payloads=generate(name="arithmetic", count=EXPORT, seed=7))
    dataset_build(name="bench", version="1", filters={"generator": "arithmetic"}, limit=EXPORT)
    dataset = dataset_get(key="bench-1")

    def service_export() -> None:
        for _ in dataset_export_lines(dataset=dataset, fmt="prompt_completion"):
            pass

    def raw_export() -> None:
        with raw_pg.transaction(), raw_pg.cursor(name="bench_export") as cursor:
            cursor.itersize = 500
            cursor.execute("SELECT id, prompt, final_answer, steps, meta FROM bench_trace LIMIT %s", (EXPORT,))
            for row in cursor:
                json.dumps({"id": str(row[0]), "prompt": row[1], "completion": row[2], "steps": row[3]})

    figures.append((f"export prompt_completion ({dataset.trace_count} records)", _median(service_export),
                    _median(raw_export)))  # fmt: skip
    print(f"\n{'benchmark':<44} {'service':>10} {'raw pg':>10} {'ratio':>7}")
    for name, service, raw in figures:
        print(f"{name:<44} {service * 1000:>8.1f}ms {raw * 1000:>8.1f}ms {service / raw:>6.2f}x")
