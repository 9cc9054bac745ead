"""`make bench`: the server's hot paths over HTTP against raw PostgreSQL, in the same run.

Each round: a fresh PostgreSQL database, gunicorn with one sync worker and DEBUG off,
10,000 "old" + 90,000 filler traces, then the measured work: 20 batches of 1,000,
500 single creates, list pages at offset 0 and 10,000, a keyset (`cursor`) walk, a
dataset build of the 10,000 oldest by a meta filter, and its `tunix_sft` export while
the worker's resident memory is sampled. The raw side does the same work in SQL on the
same database (COPY, INSERT … RETURNING, SELECT … LIMIT/OFFSET, a keyset SELECT, a
filtered INSERT … SELECT, COPY TO STDOUT). The figures are medians over the rounds and
the ratios are printed, never asserted.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres .venv/bin/python bench/run.py [--rounds 2]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

import psycopg
from harness import PeakMemory, Server, fresh_database, migrated_server, postgres_base_url
from workload import LIST_SQL, TRACE_COLUMNS, payloads, raw_row

BATCH = 1_000
OLD, FILLER, BATCHES, SINGLES, LIST_SAMPLES, WALK_ROWS = 10_000, 90_000, 20, 500, 60, 20_000


def _timed(run: Callable[[], Any]) -> float:
    start = time.perf_counter()
    run()
    return time.perf_counter() - start


def _p50(run: Callable[[], Any], samples: int = LIST_SAMPLES) -> float:
    run()  # warm the path once
    return statistics.median(_timed(run) for _ in range(samples))


def _seed(server: Server, token: str | None) -> None:
    for cohort, count, seed in (("old", OLD, 1), ("filler", FILLER, 2)):
        items = payloads(count, seed=seed, cohort=cohort)
        for start in range(0, count, BATCH):
            server.json("POST", "/api/traces/batch", items[start : start + BATCH], token, 201)


def _walk(server: Server, token: str) -> tuple[list[str], list[float]]:
    """Walks the first ``WALK_ROWS`` traces by ``cursor``: (the cursors given out, each page's seconds).

    ``_service_round`` walks twice and keeps the second: the first read of freshly written rows
    sets their hint bits (PostgreSQL writes the pages back), a cost of the data's first reader,
    not of the list, and the raw side, run afterwards, finds them set.
    """
    cursor: str | None = None
    cursors: list[str] = []
    walk: list[float] = []
    for _ in range(WALK_ROWS // 100):
        query = "limit=100" + (f"&cursor={quote(cursor)}" if cursor else "")
        start = time.perf_counter()
        status, answer = server.request("GET", f"/api/traces?{query}", token=token)
        walk.append(time.perf_counter() - start)
        assert status == 200, answer[:300]
        cursor = json.loads(answer)["pagination"].get("next_cursor")
        if cursor is None:
            break
        cursors.append(cursor)
    return cursors, walk


def _depth_ratio(first: Callable[[], Any], deep: Callable[[], Any]) -> float:
    """p50 of the deepest cursor page over p50 of the first one, requests alternated so that
    both meet the same machine (walked in order, early and late pages met different moments)."""
    times: tuple[list[float], list[float]] = ([], [])
    first(), deep()
    for _ in range(LIST_SAMPLES):
        times[0].append(_timed(first))
        times[1].append(_timed(deep))
    return statistics.median(times[1]) / statistics.median(times[0])


def _service_round(server: Server, token: str) -> dict[str, float]:
    figures: dict[str, float] = {}
    bodies = [json.dumps(payloads(BATCH, seed=100 + b, cohort="batch")).encode() for b in range(BATCHES)]

    def post_batches() -> None:
        for body in bodies:
            status, answer = server.request("POST", "/api/traces/batch", body, token)
            assert status == 201, answer[:300]

    figures["import"] = BATCH * BATCHES / _timed(post_batches)
    singles = [json.dumps(p).encode() for p in payloads(SINGLES, seed=999, cohort="single")]

    def post_singles() -> None:
        for body in singles:
            status, answer = server.request("POST", "/api/traces", body, token)
            assert status == 201, answer[:300]

    figures["single"] = SINGLES / _timed(post_singles)

    def list_page(query: str) -> Callable[[], Any]:
        def run() -> None:
            status, answer = server.request("GET", f"/api/traces?{query}", token=token)
            assert status == 200, answer[:300]

        return run

    figures["list0"] = _p50(list_page("limit=100&offset=0"))
    figures["list10k"] = _p50(list_page("limit=100&offset=10000"))

    _walk(server, token)  # unmeasured: see ``_walk``
    cursors, walk = _walk(server, token)
    assert len(cursors) == WALK_ROWS // 100, "the walk ended before WALK_ROWS traces"
    figures["cursor"] = statistics.median(walk)
    figures["cursor_depth"] = _depth_ratio(
        list_page(f"limit=100&cursor={quote(cursors[0])}"), list_page(f"limit=100&cursor={quote(cursors[-2])}")
    )

    memory = PeakMemory(server.worker_pid())
    build = {"dataset_name": "bench", "dataset_version": "old", "filters": {"cohort": "old"}, "limit": 10_000}
    start = time.perf_counter()
    built = server.json("POST", "/api/datasets/build", build, token, 201)
    figures["build"] = time.perf_counter() - start
    figures["build_found"] = built["trace_count"]
    start = time.perf_counter()
    status, body = server.request("GET", "/api/datasets/bench-old/export.jsonl?format=tunix_sft", token=token)
    seconds = time.perf_counter() - start
    assert status == 200, body[:300]
    figures["export"] = body.count(b"\n") / seconds
    figures["memory"] = memory.finish() / 2**20
    return figures


def raw_build(conn: psycopg.Connection[Any]) -> None:
    """The build's selection in raw SQL: the 10,000 newest "old" traces into a numbered table."""
    with conn.transaction():
        conn.execute(
            "CREATE TEMPORARY TABLE raw_items ON COMMIT DROP AS SELECT row_number() OVER () AS position, id"
            " FROM (SELECT id FROM traces_trace WHERE meta @> %s::jsonb"
            " ORDER BY created_at DESC, id DESC LIMIT 10000) picked",
            (json.dumps({"cohort": "old"}),),
        )


def _raw_round(conn: psycopg.Connection[Any]) -> dict[str, float]:
    figures: dict[str, float] = {}
    conn.execute("CREATE TABLE bench_raw_trace (LIKE traces_trace INCLUDING DEFAULTS INCLUDING INDEXES)")
    conn.commit()
    batches = [payloads(BATCH, seed=100 + b, cohort="batch") for b in range(BATCHES)]

    def copy_batches() -> None:
        for items in batches:
            with conn.transaction(), conn.cursor() as cur:
                with cur.copy(f"COPY bench_raw_trace ({', '.join(TRACE_COLUMNS)}) FROM STDIN") as copy:
                    for item in items:
                        copy.write_row(raw_row(item))

    figures["import"] = BATCH * BATCHES / _timed(copy_batches)
    singles = payloads(SINGLES, seed=999, cohort="single")
    insert = (
        f"INSERT INTO bench_raw_trace ({', '.join(TRACE_COLUMNS)}) VALUES ({', '.join(['%s'] * len(TRACE_COLUMNS))})"
        " RETURNING id, created_at, trace_version"
    )

    def insert_singles() -> None:
        for item in singles:
            with conn.transaction():
                conn.execute(insert, raw_row(item)).fetchone()

    figures["single"] = SINGLES / _timed(insert_singles)
    figures["list0"] = _p50(lambda: conn.execute(LIST_SQL + " OFFSET 0").fetchall())
    figures["list10k"] = _p50(lambda: conn.execute(LIST_SQL + " OFFSET 10000").fetchall())

    walk: list[float] = []
    last: tuple[Any, Any] | None = None
    keyset = LIST_SQL.replace("ORDER BY", "WHERE (created_at, id) < (%s, %s) ORDER BY")
    afters: list[tuple[Any, Any]] = []
    for _ in range(WALK_ROWS // 100):
        start = time.perf_counter()
        rows = conn.execute(LIST_SQL).fetchall() if last is None else conn.execute(keyset, last).fetchall()
        walk.append(time.perf_counter() - start)
        last = (rows[99][1], rows[99][0])
        afters.append(last)
    figures["cursor"] = statistics.median(walk)
    figures["cursor_depth"] = _depth_ratio(
        lambda: conn.execute(keyset, afters[0]).fetchall(), lambda: conn.execute(keyset, afters[-2]).fetchall()
    )

    figures["build"] = _timed(lambda: raw_build(conn))
    dataset_id = conn.execute("SELECT id FROM datasets_dataset WHERE name = 'bench'").fetchone()[0]  # type: ignore[index]

    def export() -> int:
        lines = 0
        with (
            conn.cursor() as cur,
            cur.copy(
                "COPY (SELECT t.id, t.created_at, t.trace_version, t.prompt, t.final_answer, t.steps, t.meta"
                " FROM datasets_datasetitem i JOIN traces_trace t ON t.id = i.trace_id"
                f" WHERE i.dataset_id = {int(dataset_id)} ORDER BY i.position) TO STDOUT"
            ) as copy,
        ):
            copy.set_types(["uuid", "timestamptz", "text", "text", "text", "jsonb", "jsonb"])
            for row in copy.rows():
                record = {
                    "id": str(row[0]),
                    "prompt": row[3],
                    "final_answer": row[4],
                    "steps": row[5],
                    "metadata": {"created_at": row[1].isoformat(), "trace_version": row[2], **(row[6] or {})},
                }
                lines += bool(json.dumps(record))
        return lines

    start = time.perf_counter()
    records = export()
    figures["export"] = records / (time.perf_counter() - start)
    conn.execute("DROP TABLE bench_raw_trace")
    conn.commit()
    return figures


ROWS = [
    # key, label, unit, higher is better, target ratio (this project / raw), replaced backend's ratio
    ("import", "batch import, 1,000 a request", "traces/s", True, "≥ 0.30", "0.19"),
    ("single", "single create", "req/s", True, "≥ 0.20", "0.17"),
    ("list0", "list limit=100, offset 0, p50", "ms", False, "≤ 5×", "7.4×"),
    ("list10k", "list limit=100, offset 10,000, p50", "ms", False, "≤ 1.5×", "1.8×"),
    ("cursor", f"list limit=100 by cursor, first {WALK_ROWS:,} rows, p50", "ms", False, "≤ 1.2×", "—"),
    ("export", "export tunix_sft, 10,000 records", "rec/s", True, "≥ 0.35", "0.23"),
    ("build", "dataset build, 10,000 oldest by a meta filter", "s", False, "≤ 5×", "0 found"),
]


def _show(value: float, unit: str) -> str:
    if unit == "ms":
        return f"{value * 1000:.2f} ms"
    if unit == "s":
        return f"{value:.3f} s"
    return f"{value:,.0f} {unit}"


def report(service: list[dict[str, float]], raw: list[dict[str, float]]) -> None:
    print("\n| figure | this project | raw PostgreSQL | ratio | target | replaced backend |\n|---|---|---|---|---|---|")
    for key, label, unit, higher, target, old in ROWS:
        mine, theirs = statistics.median(r[key] for r in service), statistics.median(r[key] for r in raw)
        ratio = f"{mine / theirs:.2f}" if higher else f"{mine / theirs:.2f}×"
        print(f"| {label} | {_show(mine, unit)} | {_show(theirs, unit)} | {ratio} | {target} | {old} |")
    found = min(r["build_found"] for r in service)
    memory = max(r["memory"] for r in service)
    print(f"| build found | {found:,.0f} of 10,000 | | | all | 0 |")
    print(f"| worker memory growth, build + export | {memory:+.1f} MB | | | < 50 MB | +600 MB |")
    depth = [statistics.median(r["cursor_depth"] for r in side) for side in (service, raw)]
    print(
        f"\ncursor page at {WALK_ROWS:,} rows deep over the one at 100, alternated, p50: {depth[0]:.2f}"
        f" (raw PostgreSQL {depth[1]:.2f})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    base = postgres_base_url("make bench")
    service, raw = [], []
    for round_no in range(1, args.rounds + 1):
        with fresh_database(base, f"tunix_bench_{os.getpid()}_{round_no}") as database_url:
            with migrated_server(database_url) as (server, token):
                _seed(server, token)
                service.append(_service_round(server, token))
            with psycopg.connect(database_url) as conn:
                raw.append(_raw_round(conn))
        print(f"round {round_no}: " + ", ".join(f"{k}={v:.4g}" for k, v in service[-1].items()), flush=True)
    print(f"\n{args.rounds} rounds, medians; {datetime.now(UTC):%Y-%m-%d %H:%M} UTC; {os.cpu_count()} cores; "
          f"{uuid.uuid5(uuid.NAMESPACE_DNS, os.uname().nodename).hex[:8]} ({os.uname().machine})")  # fmt: skip
    report(service, raw)


if __name__ == "__main__":
    main()
