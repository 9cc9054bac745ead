"""Measure the service paths against raw PostgreSQL in the same run and print the ratios.

Runs in a throwaway test database (created and destroyed here), so it never touches the
configured data. Timings are medians of several repeats; the ratio (service / raw) is the
figure to compare between machines and commits.
"""

from __future__ import annotations

import json
import statistics
import time
import uuid
from collections.abc import Callable
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection
from django.utils import timezone

from datasets.selectors import dataset_get
from datasets.services import dataset_build, dataset_export_lines
from traces.generation import traces_persist
from traces.generators import generate
from traces.selectors import trace_list
from traces.serializers import TraceListItemSerializer
from traces.services import trace_content_hash, traces_import_batch


def _median(run: Callable[[], Any], repeats: int) -> float:
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


class Command(BaseCommand):
    help = "Benchmark batch import, list and export against raw PostgreSQL (needs DATABASE_URL=postgres://...)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--batch", type=int, default=1000, help="traces per batch import")
        parser.add_argument("--export", type=int, default=5000, help="records in the export benchmark")
        parser.add_argument("--repeats", type=int, default=5)

    def handle(self, *args: Any, **options: Any) -> None:
        if connection.vendor != "postgresql":
            raise CommandError("The benchmark compares with raw PostgreSQL: set DATABASE_URL=postgres://...")
        old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True, keepdb=False)
        try:
            rows = self._run(options["batch"], options["export"], options["repeats"])
        finally:
            connection.creation.destroy_test_db(old_name, verbosity=0)
        self.stdout.write(f"{'benchmark':<44} {'service':>10} {'raw pg':>10} {'ratio':>7}")
        for name, service, raw in rows:
            self.stdout.write(f"{name:<44} {service * 1000:>8.1f}ms {raw * 1000:>8.1f}ms {service / raw:>6.2f}x")

    def _run(self, batch: int, export: int, repeats: int) -> list[tuple[str, float, float]]:
        payloads: Any = generate(name="arithmetic", count=batch, seed=1, level="medium")
        raw_conn = connection.connection

        def service_import() -> None:
            traces_import_batch(payloads=payloads)

        def raw_import() -> None:
            now = timezone.now()
            values = [
                (uuid.uuid4(), now, now, p["trace_version"], p["prompt"], p["final_answer"], json.dumps(p["steps"]),
                 json.dumps(p["meta"]), len(p["steps"]), trace_content_hash(prompt=p["prompt"], steps=p["steps"],
                 final_answer=p["final_answer"]), p["meta"]["source"], "pending", "")
                for p in payloads
            ]  # fmt: skip
            with raw_conn.transaction(), raw_conn.cursor() as cursor:
                cursor.executemany(
                    "INSERT INTO traces_trace (id, created_at, updated_at, trace_version, prompt, final_answer, steps,"
                    " meta, step_count, content_hash, source, status, notes)"
                    " VALUES (%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s)",
                    values,
                )
                cursor.execute("SELECT id, created_at, trace_version FROM traces_trace WHERE id = ANY(%s)",
                               ([v[0] for v in values],))  # fmt: skip
                cursor.fetchall()

        rows = [(f"batch import ({batch} traces)", _median(service_import, repeats), _median(raw_import, repeats))]

        def service_list() -> None:
            TraceListItemSerializer(list(trace_list()[:100]), many=True).data  # noqa: B018

        def raw_list() -> None:
            with raw_conn.cursor() as cursor:
                cursor.execute(
                    "SELECT id, created_at, updated_at, trace_version, status, source, step_count,"
                    " substr(prompt, 1, 120) FROM traces_trace ORDER BY created_at DESC, id DESC LIMIT 101"
                )
                page = cursor.fetchall()
                cursor.execute(
                    "SELECT t.trace_id, g.name FROM traces_trace_tags t JOIN traces_tag g ON g.id = t.tag_id"
                    " WHERE t.trace_id = ANY(%s)", ([r[0] for r in page],),
                )  # fmt: skip
                cursor.fetchall()

        rows.append(("list page (100 rows, serialized)", _median(service_list, repeats), _median(raw_list, repeats)))

        extra = max(0, export - (batch * (2 * repeats)))
        if extra:
            traces_persist(payloads=generate(name="arithmetic", count=extra, seed=7))
        dataset_build(name="bench", version="1", filters={"generator": "arithmetic"}, limit=min(export, 10_000))
        dataset = dataset_get(key="bench-1")

        def service_export() -> None:
            for _ in dataset_export_lines(dataset=dataset, fmt="prompt_completion"):
                pass

        def raw_export() -> None:
            with raw_conn.transaction(), raw_conn.cursor(name="bench_export") as cursor:
                cursor.itersize = 500
                cursor.execute(
                    "SELECT t.id, t.created_at, t.trace_version, t.prompt, t.final_answer, t.steps, t.meta"
                    " FROM datasets_datasetitem i JOIN traces_trace t ON t.id = i.trace_id"
                    " WHERE i.dataset_id = %s ORDER BY i.position", (dataset.pk,),
                )  # fmt: skip
                for row in cursor:
                    json.dumps({"id": str(row[0]), "prompt": row[3], "completion": row[4], "steps": row[5]})

        rows.append((f"export prompt_completion ({dataset.trace_count} records)", _median(service_export, repeats),
                     _median(raw_export, repeats)))  # fmt: skip
        return rows
