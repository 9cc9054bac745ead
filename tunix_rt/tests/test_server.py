"""The production server from a fresh checkout: gunicorn (as `make serve` runs it) and `runserver`, DEBUG off.

Each server gets its own migrated SQLite file, so these tests run the same on either
test database.
"""

from __future__ import annotations

import gc
import http.client
import json
import os
import re
import runpy
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.conf import settings

TRACE = {
    "trace_version": "1.0",
    "prompt": "What is 2 + 2?",
    "final_answer": "4",
    "steps": [{"i": 0, "type": "compute", "content": "2 + 2 = 4"}],
    "meta": {"source": "server-test"},
}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module")
def server_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    work = tmp_path_factory.mktemp("server")
    env = {
        **os.environ,
        "TUNIX_RT_ENV_FILE": "",
        "DEBUG": "0",
        "SECRET_KEY": "server-test-secret-key-that-is-long-enough-0123456789",
        "ALLOWED_HOSTS": "127.0.0.1",
        "DATABASE_URL": f"sqlite:///{work / 'db.sqlite3'}",
        "ARTIFACTS_DIR": str(work / "artifacts"),
        "TRACE_MAX_BYTES": "1048576",
        "WEB_CONCURRENCY": "2",
    }
    env.pop("DJANGO_SETTINGS_MODULE", None)
    manage = [sys.executable, "manage.py"]
    subprocess.run([*manage, "migrate", "-v", "0"], cwd=settings.BASE_DIR, env=env, check=True)  # noqa: S603
    token = subprocess.run(  # noqa: S603
        [*manage, "issue_token", "server-test"], cwd=settings.BASE_DIR, env=env, check=True, capture_output=True,
        text=True,
    ).stdout.strip()  # fmt: skip
    return {**env, "TOKEN": token}


def serve(command: list[str], env: dict[str, str], port: int) -> Iterator[str]:
    process = subprocess.Popen(  # noqa: S603 - fixed argv
        command, cwd=settings.BASE_DIR, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                urllib.request.urlopen(f"{base}/api/health", timeout=1)  # noqa: S310 - local server
                break
            except OSError:
                assert process.poll() is None, "the server exited"
                time.sleep(0.05)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=30)


@pytest.fixture(scope="module")
def gunicorn(server_env: dict[str, str]) -> Iterator[str]:
    port = free_port()
    command = [str(Path(sys.executable).parent / "gunicorn"), "--config", "gunicorn.conf.py", "--bind",
               f"127.0.0.1:{port}", "--access-logfile", "/dev/null"]  # fmt: skip
    yield from serve(command, server_env, port)


@pytest.fixture(scope="module")
def runserver(server_env: dict[str, str]) -> Iterator[str]:
    port = free_port()
    yield from serve([sys.executable, "manage.py", "runserver", "--noreload", f"127.0.0.1:{port}"], server_env, port)


def get(url: str) -> tuple[int, str, bytes]:
    with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 - local server
        return response.status, response.headers["Content-Type"], response.read()


def assert_static_files_are_served(base: str) -> None:
    status, kind, page = get(f"{base}/api/docs")
    assert status == 200 and kind.startswith("text/html")
    assets = re.findall(r'(?:src|href)="(/static/[^"]+)"', page.decode())
    assert any(a.endswith("swagger-ui-bundle.js") for a in assets)
    assert any(a.endswith("swagger-ui.css") for a in assets)
    status, kind, login = get(f"{base}/admin/login/")
    admin_assets = re.findall(r'(?:src|href)="(/static/admin/[^"]+)"', login.decode())
    assert any(a.endswith(".css") for a in admin_assets)
    for asset in assets + admin_assets:
        status, kind, body = get(base + asset)
        assert status == 200 and body, asset
        if asset.endswith(".js"):
            assert "javascript" in kind
        elif asset.endswith(".css"):
            assert kind.startswith("text/css")


def post_chunked(base: str, token: str, chunks: list[bytes]) -> tuple[int, dict[str, object]]:
    host, port = base.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=30)
    headers = {"Authorization": f"Token {token}", "Content-Type": "application/json"}
    conn.request("POST", "/api/traces", body=iter(chunks), headers=headers, encode_chunked=True)
    response = conn.getresponse()
    body = json.loads(response.read())
    conn.close()
    return response.status, body


def test_gunicorn_serves_the_docs_and_admin_static_files_with_debug_off(gunicorn: str) -> None:
    assert_static_files_are_served(gunicorn)


def test_runserver_serves_them_too_with_debug_off(runserver: str) -> None:
    assert_static_files_are_served(runserver)


def test_gunicorn_reads_chunked_bodies_and_counts_their_bytes(gunicorn: str, server_env: dict[str, str]) -> None:
    token = server_env["TOKEN"]
    encoded = json.dumps(TRACE).encode()
    status, body = post_chunked(gunicorn, token, [encoded[:10], encoded[10:]])
    assert status == 201 and body["trace_version"] == "1.0"
    big = json.dumps({**TRACE, "prompt": "x" * 2_000_000}).encode()
    status, body = post_chunked(gunicorn, token, [big[i : i + 65536] for i in range(0, len(big), 65536)])
    assert status == 413
    assert body == {"detail": "Request body exceeds the limit of 1048576 bytes.", "code": "payload_too_large"}


def test_runserver_answers_411_to_a_chunked_body_it_cannot_read(runserver: str, server_env: dict[str, str]) -> None:
    status, body = post_chunked(runserver, server_env["TOKEN"], [json.dumps(TRACE).encode()])
    assert status == 411
    assert body["code"] == "length_required"


def test_gunicorn_workers_freeze_the_app_and_collect_young_objects_less_often() -> None:
    conf = runpy.run_path(str(Path(settings.BASE_DIR) / "gunicorn.conf.py"))
    before = gc.get_threshold()
    try:
        conf["post_worker_init"](None)
        assert gc.get_threshold() == (conf["GC_YOUNG_THRESHOLD"], *before[1:])
        assert conf["GC_YOUNG_THRESHOLD"] > before[0] and gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()
        gc.set_threshold(*before)
