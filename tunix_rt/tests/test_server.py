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
import shutil
import signal
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


STRONG_KEY = "server-test-secret-key-that-is-long-enough-0123456789"


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
        "SECRET_KEY": STRONG_KEY,
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


def request(base: str, path: str, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    """One GET, redirects not followed; ``base`` is ``http://host:port`` or ``unix:PATH``."""
    if base.startswith("unix:"):
        conn: http.client.HTTPConnection = UnixHTTPConnection(base.removeprefix("unix:"))
    else:
        host, port = base.removeprefix("http://").split(":")
        conn = http.client.HTTPConnection(host, int(port), timeout=10)
    try:
        conn.request("GET", path, headers=headers or {})
        response = conn.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        conn.close()


class UnixHTTPConnection(http.client.HTTPConnection):
    def __init__(self, path: str) -> None:
        super().__init__("127.0.0.1", timeout=10)
        self.path = path

    def connect(self) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(self.timeout)
        self.sock.connect(self.path)


def serve(command: list[str], env: dict[str, str], base: str) -> Iterator[str]:
    """Starts ``command`` and yields ``base`` once the server answers, whatever it answers."""
    process = subprocess.Popen(  # noqa: S603 - fixed argv
        command, cwd=settings.BASE_DIR, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        for _ in range(300):
            try:
                request(base, "/api/health")
                break
            except OSError:
                assert process.poll() is None, "the server exited"
                time.sleep(0.05)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=30)


def gunicorn_command(bind: str) -> list[str]:
    return [str(Path(sys.executable).parent / "gunicorn"), "--config", "gunicorn.conf.py", "--bind", bind,
            "--access-logfile", "/dev/null"]  # fmt: skip


@pytest.fixture(scope="module")
def gunicorn(server_env: dict[str, str]) -> Iterator[str]:
    port = free_port()
    yield from serve(gunicorn_command(f"127.0.0.1:{port}"), server_env, f"http://127.0.0.1:{port}")


@pytest.fixture(scope="module")
def runserver(server_env: dict[str, str]) -> Iterator[str]:
    port = free_port()
    command = [sys.executable, "manage.py", "runserver", "--noreload", f"127.0.0.1:{port}"]
    yield from serve(command, server_env, f"http://127.0.0.1:{port}")


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
    try:
        conn.request("POST", "/api/traces", body=iter(chunks), headers=headers, encode_chunked=True)
    except BrokenPipeError:
        pass  # a server that answers before reading the body may close first; its answer is still read
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


def test_gunicorn_workers_freeze_the_app_and_collect_young_objects_less_often(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SECRET_KEY", STRONG_KEY)
    monkeypatch.delenv("DEBUG", raising=False)
    conf = runpy.run_path(str(Path(settings.BASE_DIR) / "gunicorn.conf.py"))
    before = gc.get_threshold()
    try:
        conf["post_worker_init"](None)
        assert gc.get_threshold() == (conf["GC_YOUNG_THRESHOLD"], *before[1:])
        assert conf["GC_YOUNG_THRESHOLD"] > before[0] and gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()
        gc.set_threshold(*before)


FORWARDED_HTTPS = {"X-Forwarded-Proto": "https", "X-Forwarded-Ssl": "on", "X-Forwarded-Protocol": "ssl"}


@pytest.fixture(scope="module")
def https_only_env(server_env: dict[str, str]) -> dict[str, str]:
    """HTTPS_ONLY: a request Django takes for plain HTTP is redirected, a secure one is served."""
    env = {**server_env, "HTTPS_ONLY": "1", "WEB_CONCURRENCY": "1"}
    env.pop("TRUST_X_FORWARDED_PROTO", None)
    env.pop("FORWARDED_ALLOW_IPS", None)
    return env


def test_without_trust_gunicorn_believes_no_forwarded_scheme_from_loopback_or_a_unix_socket(
    https_only_env: dict[str, str], tmp_path: Path
) -> None:
    port = free_port()
    for served in serve(gunicorn_command(f"127.0.0.1:{port}"), https_only_env, f"http://127.0.0.1:{port}"):
        for headers in [{}, FORWARDED_HTTPS, {"X-Forwarded-Ssl": "on"}, {"X-Forwarded-Proto": "https"}]:
            status, response_headers, _ = request(served, "/api/health", headers)
            assert (status, response_headers["Location"]) == (301, f"https://127.0.0.1:{port}/api/health"), headers
    socket_path = tmp_path / "gunicorn.sock"
    for served in serve(gunicorn_command(f"unix:{socket_path}"), https_only_env, f"unix:{socket_path}"):
        status, response_headers, _ = request(served, "/api/health", {"Host": "127.0.0.1", **FORWARDED_HTTPS})
        assert (status, response_headers["Location"]) == (301, "https://127.0.0.1/api/health")


def test_with_trust_x_forwarded_proto_https_from_loopback_is_https(https_only_env: dict[str, str]) -> None:
    port = free_port()
    env = {**https_only_env, "TRUST_X_FORWARDED_PROTO": "1"}
    for served in serve(gunicorn_command(f"127.0.0.1:{port}"), env, f"http://127.0.0.1:{port}"):
        status, response_headers, body = request(served, "/api/health", {"X-Forwarded-Proto": "https"})
        assert status == 200 and json.loads(body)["status"] == "healthy"
        assert "max-age=31536000" in response_headers["Strict-Transport-Security"]
        assert request(served, "/api/health", FORWARDED_HTTPS)[0] == 200
        # Django's SECURE_PROXY_SSL_HEADER and gunicorn read X-Forwarded-Proto only.
        assert request(served, "/api/health", {"X-Forwarded-Ssl": "on", "X-Forwarded-Protocol": "ssl"})[0] == 301
        assert request(served, "/api/health", {"X-Forwarded-Proto": "http"})[0] == 301


@pytest.mark.parametrize(
    ("given", "refusal"),
    [
        ({"DEBUG": "1"}, "DEBUG is on"),
        ({"SECRET_KEY": "…"}, "SECRET_KEY is weak (length 1, 1 distinct characters)"),
        ({"SECRET_KEY": "k" * 60}, "SECRET_KEY is weak (length 60, 1 distinct characters)"),
        ({"SECRET_KEY": ""}, "SECRET_KEY is not set"),
    ],
)
def test_gunicorn_refuses_to_start_with_debug_or_a_weak_secret_key(
    server_env: dict[str, str], given: dict[str, str], refusal: str
) -> None:
    started = subprocess.run(  # noqa: S603 - fixed argv
        gunicorn_command(f"127.0.0.1:{free_port()}"), cwd=settings.BASE_DIR, env={**server_env, **given},
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert started.returncode == 2
    assert "make serve runs production settings and will not start" in started.stderr and refusal in started.stderr
    assert "Listening at" not in started.stderr


def checkout_copy(to: Path) -> Path:
    """The project's files in ``to``, with the virtualenv linked: a checkout whose `.env` is the test's."""
    root = Path(settings.BASE_DIR)
    skip = shutil.ignore_patterns("__pycache__", "tests")
    for app in ("tunix_rt", "traces", "datasets", "training", "templates"):
        shutil.copytree(root / app, to / app, ignore=skip)
    for name in ("manage.py", "Makefile", "gunicorn.conf.py", "requirements.txt"):
        shutil.copy2(root / name, to / name)
    (to / ".venv").symlink_to(root / ".venv")
    return to


def test_make_serve_after_make_run_reads_no_env_file_and_serves_only_production(tmp_path: Path) -> None:
    checkout = checkout_copy(tmp_path / "checkout")
    # What `make run` leaves behind, with the README's placeholder as the key.
    (checkout / ".env").write_text("DEBUG=1\nSECRET_KEY=…\nALLOWED_HOSTS=*\n", encoding="utf-8")
    port = free_port()
    env = {
        "PATH": os.environ["PATH"],
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "ALLOWED_HOSTS": "127.0.0.1",
        "WEB_CONCURRENCY": "1",
    }
    make = ["make", "--no-print-directory", "-o", "install", "serve", "HOST=127.0.0.1", f"PORT={port}"]
    refused = subprocess.run(make, cwd=checkout, env=env, capture_output=True, text=True, timeout=120, check=False)  # noqa: S603
    assert refused.returncode != 0
    assert "SECRET_KEY is not set (`make serve` reads no .env): export SECRET_KEY=" in refused.stderr
    assert "DEBUG is on" not in refused.stderr
    assert not (tmp_path / "db.sqlite3").exists(), "nothing is migrated before the check"

    refused = subprocess.run(  # noqa: S603
        make, cwd=checkout, env={**env, "SECRET_KEY": "…"}, capture_output=True, text=True, timeout=120, check=False
    )
    assert refused.returncode != 0 and "SECRET_KEY is weak" in refused.stderr

    server = subprocess.Popen(  # noqa: S603 - fixed argv
        make, cwd=checkout, env={**env, "SECRET_KEY": STRONG_KEY}, start_new_session=True,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        base = f"http://127.0.0.1:{port}"
        for _ in range(600):
            try:
                status, _, _ = request(base, "/api/health")
                break
            except OSError:
                assert server.poll() is None, "make serve exited"
                time.sleep(0.1)
        assert status == 200
        status, headers, page = request(base, "/no-such-page")
        assert status == 404 and b"URLconf" not in page and b"api/" not in page
        status, _, _ = request(base, "/")
        assert status == 200
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
