"""Profiles of the hot requests inside one process: which calls cost what.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/tunix_profile .venv/bin/python bench/profile_paths.py [path ...]

It migrates that database, seeds it once (30,000 traces), then runs each path under
cProfile through Django's full request handler (middleware, DRF, the JSON renderer) and
prints the calls with the most time of their own. Paths: batch, single, list, list_deep,
build, export.
"""

from __future__ import annotations

import cProfile
import io
import json
import os
import pstats
import sys
from collections.abc import Callable
from typing import Any

from harness import server_env
from workload import payloads

os.environ.update(server_env(os.environ["DATABASE_URL"]))
os.environ["DJANGO_SETTINGS_MODULE"] = "tunix_rt.settings"
sys.path.insert(0, str(__import__("pathlib").Path(__file__).resolve().parent.parent))

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.test import Client  # noqa: E402

from tunix_rt.accounts import user_issue_token  # noqa: E402


def main() -> None:
    call_command("migrate", verbosity=0)
    token = user_issue_token(username="profile", role="admin")
    client = Client(HTTP_AUTHORIZATION=f"Token {token}", HTTP_HOST="127.0.0.1")
    from traces.models import Trace

    if Trace.objects.count() < 30_000:
        for seed in range(30):
            body = json.dumps(payloads(1_000, seed=seed, cohort="old" if seed < 10 else "filler"))
            assert client.post("/api/traces/batch", body, content_type="application/json").status_code == 201
    batch = json.dumps(payloads(1_000, seed=500, cohort="batch"))
    single = json.dumps(payloads(1, seed=501, cohort="single")[0])
    counter = iter(range(10**6))
    tag = f"{os.getpid()}"

    def build() -> Any:
        name = {"dataset_name": "profile", "dataset_version": f"{tag}-{next(counter)}", "filters": {"cohort": "old"},
                "limit": 10_000}  # fmt: skip
        return client.post("/api/datasets/build", json.dumps(name), content_type="application/json")

    def export() -> Any:
        response = client.get(f"/api/datasets/profile-{tag}-0/export.jsonl?format=tunix_sft")
        return b"".join(response.streaming_content)  # type: ignore[attr-defined]

    paths: dict[str, tuple[int, Callable[[], Any]]] = {
        "batch": (5, lambda: client.post("/api/traces/batch", batch, content_type="application/json")),
        "single": (300, lambda: client.post("/api/traces", single, content_type="application/json")),
        "list": (300, lambda: client.get("/api/traces?limit=100")),
        "list_one": (300, lambda: client.get("/api/traces?limit=1")),
        "list_deep": (100, lambda: client.get("/api/traces?limit=100&offset=10000")),
        "build": (1, build),
        "export": (2, export),
    }
    for name in sys.argv[1:] or list(paths):
        count, run = paths[name]
        run()
        profile = cProfile.Profile()
        profile.enable()
        for _ in range(count):
            run()
        profile.disable()
        out = io.StringIO()
        stats: Any = pstats.Stats(profile, stream=out)
        print(f"\n== {name}: {count} requests, {stats.total_tt / count * 1000:.2f} ms each under cProfile ==")
        stats.sort_stats("tottime").print_stats(15)
        ours = r"/work/main/(traces|datasets|training|tunix_rt)/.*py"
        stats.sort_stats("cumulative").print_stats(
            ours if not os.environ.get("PROFILE_ALL") else int(os.environ["PROFILE_ALL"])
        )
        print("\n".join(line for line in out.getvalue().splitlines() if line.strip()[:1].isdigit()))


if __name__ == "__main__":
    main()
