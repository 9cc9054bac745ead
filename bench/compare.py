"""`make bench-compare`: this project against the backend it replaces, side by side, over HTTP.

Issue 12 is checked this way: both servers on fresh PostgreSQL databases, the same workload
(10,000 "old" + 90,000 filler traces, then 20 batches of 1,000, 500 single creates, list pages
at offset 0 and 10,000, a build of the 10,000 oldest by a meta filter and its ``tunix_sft``
export), one request at a time on loopback. This project runs under gunicorn with one sync
worker and DEBUG off (``bench/harness.py``); the replaced backend (FastAPI + asyncpg) under
uvicorn with one worker, from its own checkout and virtualenv, its schema made by its own
``alembic upgrade head``. The two alternate which goes first from one round to the next, so
that neither always meets the machine's same minutes.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres .venv/bin/python bench/compare.py \\
        --old-backend ../tunix-rt/backend --old-python ../tunix-rt/venv/bin/python [--rounds 3]

The replaced backend answers a build that matches nothing with 422; its export is then
measured on a build of its 10,000 newest traces with no filter, so that it exports as many.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psycopg
from harness import PeakMemory, Server, free_port, fresh_database, migrated_server, postgres_base_url
from run import BATCH, BATCHES, SINGLES, _p50, _seed, _timed, raw_build
from workload import payloads

BUILD = {"dataset_name": "bench", "dataset_version": "old", "filters": {"cohort": "old"}, "limit": 10_000}
NEWEST = {"dataset_name": "bench", "dataset_version": "newest", "filters": {}, "limit": 10_000}

# key, label, higher is better, the target for this project / the replaced backend
TARGETS = [
    ("import", "batch import, traces/s", True, 1.5),
    ("single", "single create, req/s", True, 1.2),
    ("list0", "list offset 0, p50 ms", False, 0.8),
    ("list10k", "list offset 10,000, p50 ms", False, 1.0),
    ("export", "export tunix_sft, rec/s", True, 1.5),
]


class ReplacedBackend(Server):
    """The replaced backend under uvicorn, one worker, its access log off as gunicorn's is here."""

    def __init__(self, root: Path, python: str, database_url: str) -> None:
        self.port = free_port()
        self.process = subprocess.Popen(
            [python, "-m", "uvicorn", "tunix_rt_backend.app:app", "--host", "127.0.0.1", "--port", str(self.port),
             "--workers", "1", "--log-level", "warning", "--no-access-log"],
            cwd=root, env=_old_env(database_url), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        )  # fmt: skip
        self.await_health()

    def worker_pid(self) -> int:
        return self.process.pid  # one worker: uvicorn serves in its own process


def _old_env(database_url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in {"DEBUG", "DJANGO_SETTINGS_MODULE"}}
    env["DATABASE_URL"] = database_url.replace("postgres://", "postgresql+asyncpg://", 1)
    return env


def measure(server: Server, token: str | None) -> dict[str, float]:
    """The issue's figures for one server whose database holds the seeded 100,000 traces."""
    figures: dict[str, float] = {}
    bodies = [json.dumps(payloads(BATCH, seed=100 + b, cohort="batch")).encode() for b in range(BATCHES)]
    figures["import"] = BATCH * BATCHES / _timed(lambda: _post_each(server, "/api/traces/batch", bodies, token))
    singles = [json.dumps(p).encode() for p in payloads(SINGLES, seed=999, cohort="single")]
    figures["single"] = SINGLES / _timed(lambda: _post_each(server, "/api/traces", singles, token))
    figures["list0"] = _p50(_page(server, token, 0))
    figures["list10k"] = _p50(_page(server, token, 10_000))

    memory = PeakMemory(server.worker_pid())
    start = time.perf_counter()
    status, answer = server.request("POST", "/api/datasets/build", json.dumps(BUILD).encode(), token)
    figures["build"] = time.perf_counter() - start
    figures["found"] = json.loads(answer)["trace_count"] if status == 201 else 0
    key = "bench-old"
    if not figures["found"]:
        server.json("POST", "/api/datasets/build", NEWEST, token, 201)
        key = "bench-newest"
    start = time.perf_counter()
    body = _expect(server, "GET", f"/api/datasets/{key}/export.jsonl?format=tunix_sft", 200, token)
    figures["export"] = body.count(b"\n") / (time.perf_counter() - start)
    figures["memory"] = memory.finish() / 2**20
    return figures


def _expect(server: Server, method: str, path: str, status: int, token: str | None, body: bytes | None = None) -> bytes:
    answered, answer = server.request(method, path, body, token)
    if answered != status:
        raise RuntimeError(f"{method} {path} answered {answered}, not {status}: {answer[:300]!r}")
    return answer


def _post_each(server: Server, path: str, bodies: list[bytes], token: str | None) -> None:
    for body in bodies:
        _expect(server, "POST", path, 201, token, body)


def _page(server: Server, token: str | None, offset: int) -> Callable[[], Any]:
    return lambda: _expect(server, "GET", f"/api/traces?limit=100&offset={offset}", 200, token)


def this_project(database_url: str) -> dict[str, float]:
    with migrated_server(database_url) as (server, token):
        _seed(server, token)
        figures = measure(server, token)
    with psycopg.connect(database_url) as conn:
        raw_build(conn)  # warm, as the server's build met a table its requests had read
        figures["raw_build"] = statistics.median(_timed(lambda: raw_build(conn)) for _ in range(3))
    return figures


def replaced_backend(database_url: str, root: Path, python: str) -> dict[str, float]:
    subprocess.run([python, "-m", "alembic", "upgrade", "head"], cwd=root, env=_old_env(database_url), check=True,
                   capture_output=True)  # fmt: skip
    server = ReplacedBackend(root, python, database_url)
    try:
        _seed(server, None)  # it has no authentication
        return measure(server, None)
    finally:
        server.stop()


def report(mine: list[dict[str, float]], theirs: list[dict[str, float]]) -> None:
    print("\n| figure | this project | replaced backend | ratio | each round | target |\n|---|---|---|---|---|---|")
    for key, label, higher, target in TARGETS:
        ours, old = statistics.median(r[key] for r in mine), statistics.median(r[key] for r in theirs)
        rounds = ", ".join(f"{a[key] / b[key]:.2f}" for a, b in zip(mine, theirs, strict=True))
        scale = 1000 if key.startswith("list") else 1
        print(f"| {label} | {ours * scale:,.2f} | {old * scale:,.2f} | {ours / old:.2f} | {rounds} |"
              f" {'≥' if higher else '≤'} {target} |")  # fmt: skip
    raw = ", ".join(f"{r['build'] / r['raw_build']:.1f}×" for r in mine)
    print(f"\nthis project's build over the raw SQL of the same selection on its database: {raw} (target ≤ 5×)")
    for name, runs in (("this project", mine), ("replaced backend", theirs)):
        builds = ", ".join(f"{r['found']:,.0f} in {r['build']:.3f} s" for r in runs)
        memory = ", ".join(f"{r['memory']:+.1f}" for r in runs)
        print(f"\n{name}: build found {builds}; worker memory growth during build and export {memory} MB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--old-backend", type=Path, required=True, help="the replaced backend's `backend` folder")
    parser.add_argument("--old-python", required=True, help="the Python of a virtualenv where it is installed")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    base = postgres_base_url("bench/compare.py")
    mine: list[dict[str, float]] = []
    theirs: list[dict[str, float]] = []
    for round_no in range(args.rounds):
        sides: list[tuple[str, Callable[[str], dict[str, float]], list[dict[str, float]]]] = [
            ("this project", this_project, mine),
            ("replaced backend", lambda u: replaced_backend(u, args.old_backend.resolve(), args.old_python), theirs),
        ]
        for name, run_side, figures in sides if round_no % 2 == 0 else reversed(sides):
            with fresh_database(base, f"tunix_compare_{os.getpid()}_{round_no}_{name[0]}") as database_url:
                figures.append(run_side(database_url))
            shown = ", ".join(f"{k}={v:.4g}" for k, v in figures[-1].items())
            print(f"round {round_no + 1}, {name}: {shown}", flush=True)
    report(mine, theirs)


if __name__ == "__main__":
    main()
