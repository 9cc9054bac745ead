"""The README's tour, run as written against a live server, so the README cannot drift.

Which blocks run: every fenced block opened by a line that is exactly ```bash and lying
between a line starting with `<!-- tour:begin` and the next line starting with
`<!-- tour:end` in README.md. There may be several such regions; their blocks run in
document order in ONE bash session (`set -euo pipefail`), so variables carry from block
to block as they do for a reader pasting them into one terminal. Blocks outside the
regions (installs, `make worker`, other sections' examples) and blocks fenced with any
other language inside them (```json, ```console) are documentation only. To add a tour
step, put a ```bash block inside a region; to show a command that must not run here
(long jobs, another terminal, placeholders), put it outside every region and start it with a
`# example` comment line: every other shell block in README.md and docs/*.md must be one the
tour runs, so a reader can tell which blocks run as pasted.

What the test provides is what `make run` provides: migrate, `ensure_admin`,
`load_demo_data`, then `runserver` on 127.0.0.1, but on a free port, with
`TUNIX_RT_ENV_FILE=""` and an explicit environment: a temporary database (a SQLite file,
or a fresh PostgreSQL database beside the one `DATABASE_URL` names) and `ARTIFACTS_DIR`,
shared by the server and the tour's `manage.py` commands. The tour reads the server's port
from `PORT`, as the README tells readers who ran `make run PORT=…`. The shell runs in a
scratch directory whose entries link to the checkout, so the files the tour writes stay out
of the repository, and they must all land in `out/`, the folder git ignores; `curl` is
wrapped with `--fail-with-body`, so an HTTP error fails the run just as a failing command does.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest

ROOT = Path(__file__).resolve().parents[2]
PYTHON = ROOT / ".venv" / "bin" / "python"
BEGIN, END, FENCE = "<!-- tour:begin", "<!-- tour:end", "```"
LINKED_FILE_SUFFIXES = {"", ".py", ".txt", ".toml", ".md", ".cfg", ".ini"}
NOT_LINKED = {".git", "artifacts", "out", "staticfiles", ".mypy_cache", ".ruff_cache", ".pytest_cache", "__pycache__"}
SHELL_LANGUAGES = {"bash", "sh", "shell", "console", "zsh"}
EXAMPLE_MARK = "# example"
START_WAIT_SECONDS = 120
TOUR_WAIT_SECONDS = 600


def tour_blocks(markdown: str) -> list[str]:
    """The ```bash blocks inside the tour regions, in order (see the module docstring)."""
    blocks: list[str] = []
    in_region = in_fence = False
    current: list[str] | None = None  # the lines of a block that runs, while inside it
    for number, line in enumerate(markdown.splitlines(), start=1):
        stripped = line.strip()
        if in_fence:
            if stripped == FENCE:
                in_fence = False
                if current is not None:
                    blocks.append("\n".join(current))
                    current = None
            elif current is not None:
                current.append(line)
        elif stripped.startswith(FENCE):
            in_fence = True
            current = [] if in_region and stripped == "```bash" else None
        elif stripped.startswith(BEGIN):
            assert not in_region, f"README.md line {number}: tour:begin inside a tour region"
            in_region = True
        elif stripped.startswith(END):
            assert in_region, f"README.md line {number}: tour:end without tour:begin"
            in_region = False
    assert not in_region, "README.md: a tour region is never closed"
    return blocks


def unmarked_shell_blocks(markdown: str) -> list[int]:
    """Line numbers of shell blocks outside the tour regions whose first line is not ``# example``."""
    unmarked: list[int] = []
    in_region = in_fence = False
    opened: int | None = None  # the line of a shell fence outside the regions, until its first line
    for number, line in enumerate(markdown.splitlines(), start=1):
        stripped = line.strip()
        if in_fence:
            if opened is not None and not stripped.startswith(EXAMPLE_MARK):
                unmarked.append(opened)
            opened = None
            in_fence = stripped != FENCE
        elif stripped.startswith(FENCE):
            in_fence = True
            language = stripped.removeprefix(FENCE).split(maxsplit=1)
            opened = number if not in_region and language and language[0] in SHELL_LANGUAGES else None
        elif stripped.startswith(BEGIN):
            in_region = True
        elif stripped.startswith(END):
            in_region = False
    return unmarked


def test_example_blocks_follow_the_convention() -> None:
    markdown = "\n".join(
        [
            "```bash",  # 1: unmarked, outside the tour
            "make run",
            "```",
            "```bash",
            "# example: placeholders",
            "make worker",
            "```",
            "```json",
            "{}",
            "```",
            "<!-- tour:begin -->",
            "```bash",
            "A=1",
            "```",
            "<!-- tour:end -->",
            "```sh",  # 16: unmarked
            "```",
        ]
    )
    assert unmarked_shell_blocks(markdown) == [1, 16]


def _documents() -> list[Path]:
    return [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


@pytest.mark.parametrize("document", _documents(), ids=lambda p: p.name)
def test_every_shell_block_runs_in_the_tour_or_says_it_is_an_example(document: Path) -> None:
    markdown = document.read_text(encoding="utf-8")
    unmarked = unmarked_shell_blocks(markdown)
    assert unmarked == [], (
        f"{document.name}: shell blocks on lines {unmarked} neither run in the tour nor start with # example"
    )


@pytest.mark.parametrize("document", _documents(), ids=lambda p: p.name)
def test_docs_name_no_fixed_server_address_and_only_files_that_ship(document: Path) -> None:
    markdown = document.read_text(encoding="utf-8")
    assert "127.0.0.1:8000/" not in markdown and "localhost:8000" not in markdown
    for named in set(re.findall(r"docs/examples/[\w.-]+", markdown)):
        assert (ROOT / named).is_file(), f"{document.name} names {named}, which does not ship"


def test_tour_blocks_follow_the_convention() -> None:
    markdown = "\n".join(
        [
            "```bash",
            "make run",
            "```",
            "<!-- tour:begin -->",
            "```bash",
            "A=1",
            "```",
            "```json",
            '{"x": 1}',
            "```",
            "<!-- tour:end -->",
            "```bash",
            "make worker",
            "```",
            "<!-- tour:begin again -->",
            "```bash",
            "echo $A",
            "```",
            "<!-- tour:end -->",
        ]
    )
    assert tour_blocks(markdown) == ["A=1", "echo $A"]
    with pytest.raises(AssertionError, match="never closed"):
        tour_blocks("<!-- tour:begin -->\n```bash\nx\n```")


@dataclass(frozen=True)
class LiveServer:
    url: str
    env: dict[str, str]
    log: Path


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _postgres_admin(url: str, statement: str) -> None:
    import psycopg

    parts = urlsplit(url)
    with psycopg.connect(urlunsplit(parts._replace(path="/postgres")), autocommit=True, connect_timeout=10) as conn:
        conn.execute(statement)


@pytest.fixture(scope="module")
def tour_database(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A database of the test run's kind that nothing else uses, dropped afterwards."""
    base = os.environ.get("DATABASE_URL", "")
    if not base.startswith(("postgres://", "postgresql://")):
        yield f"sqlite:///{tmp_path_factory.mktemp('tour-db') / 'tour.sqlite3'}"
        return
    parts = urlsplit(base)
    name = f"{parts.path.lstrip('/')[:40]}_tour_{os.getpid()}"
    _postgres_admin(base, f'DROP DATABASE IF EXISTS "{name}"')
    _postgres_admin(base, f'CREATE DATABASE "{name}"')
    try:
        yield urlunsplit(parts._replace(path=f"/{name}"))
    finally:
        _postgres_admin(base, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _manage(env: dict[str, str], *args: str) -> None:
    result = subprocess.run(  # noqa: S603 - the checkout's interpreter and manage.py
        [str(PYTHON), "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, f"manage.py {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}"


def _wait_until_healthy(url: str, process: subprocess.Popen[bytes]) -> bool:
    deadline = time.monotonic() + START_WAIT_SECONDS
    while time.monotonic() < deadline and process.poll() is None:
        try:
            with urllib.request.urlopen(f"{url}/api/health", timeout=5) as response:  # noqa: S310 - local http
                if response.status == 200:
                    return True
        except (urllib.error.URLError, OSError):
            time.sleep(0.3)
    return False


@pytest.fixture(scope="module")
def tour_server(tour_database: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """What `make run` gives a reader: a migrated database with the admin and demo data, served."""
    assert PYTHON.exists(), f"{PYTHON} is missing: `make test` (or `make run`) creates it"
    work = tmp_path_factory.mktemp("tour-server")
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(work),
        "LANG": "C.UTF-8",
        "TUNIX_RT_ENV_FILE": "",
        "DEBUG": "1",
        "SECRET_KEY": "readme-tour-only",
        "DATABASE_URL": tour_database,
        "ARTIFACTS_DIR": str(work / "artifacts"),
        "PYTHONUNBUFFERED": "1",
    }
    _manage(env, "migrate", "--noinput")
    _manage(env, "ensure_admin")
    _manage(env, "load_demo_data")
    log = work / "server.log"
    for _attempt in range(3):
        url = f"http://127.0.0.1:{_free_port()}"
        with log.open("wb") as sink:
            process = subprocess.Popen(  # noqa: S603 - the checkout's interpreter and manage.py
                [str(PYTHON), "manage.py", "runserver", url.removeprefix("http://"), "--noreload"],
                cwd=ROOT,
                env=env,
                stdout=sink,
                stderr=subprocess.STDOUT,
            )
        if _wait_until_healthy(url, process):
            break
        process.terminate()
        process.wait(timeout=30)
    else:
        pytest.fail(f"the server did not start:\n{log.read_text(errors='replace')[-3000:]}")
    try:
        yield LiveServer(url=url, env={**env, "PORT": url.rsplit(":", 1)[1]}, log=log)
    finally:
        process.terminate()
        process.wait(timeout=30)


def _scratch_checkout(path: Path) -> Path:
    """A directory whose entries link to the checkout's code, docs and .venv, but not to its data files."""
    path.mkdir()
    for entry in ROOT.iterdir():
        wanted = entry.is_dir() or entry.suffix in LINKED_FILE_SUFFIXES
        if wanted and entry.name not in NOT_LINKED and not entry.name.startswith(".env"):
            (path / entry.name).symlink_to(entry)
    return path


def test_readme_tour_runs_as_written(tour_server: LiveServer, tmp_path: Path) -> None:
    blocks = tour_blocks((ROOT / "README.md").read_text(encoding="utf-8"))
    assert len(blocks) >= 3, "README.md lost its tour blocks"
    prelude = 'set -euo pipefail\ncurl() { command curl --fail-with-body "$@"; }\n'
    script = prelude + "\n".join(f"echo '### tour block {n}' >&2\n{block}" for n, block in enumerate(blocks, 1))
    checkout = _scratch_checkout(tmp_path / "checkout")
    linked = {entry.name for entry in checkout.iterdir()}
    result = subprocess.run(  # noqa: S603 - bash runs the README's own blocks
        ["bash", "-c", script],  # noqa: S607 - bash from PATH, as a reader's terminal has it
        cwd=checkout,
        env=tour_server.env,
        capture_output=True,
        text=True,
        timeout=TOUR_WAIT_SECONDS,
        check=False,
    )
    transcript = f"--- stdout\n{result.stdout}\n--- stderr\n{result.stderr}"
    server_log = tour_server.log.read_text(errors="replace")
    assert result.returncode == 0, f"{transcript}\n--- server log (end)\n{server_log[-3000:]}"
    assert "Traceback" not in transcript, transcript
    assert "Internal Server Error" not in server_log
    # The tour's own claims, as a reader sees them.
    assert "Imported 4 trace(s)" in result.stdout and "skipped 4 duplicate(s)" in result.stdout
    assert "Held-By-Datasets: tour-1" in result.stdout
    assert "1 trace(s) deleted since the build are skipped by the export" in result.stderr
    assert "Imported 3 trace(s)" in result.stdout  # docs/examples/conversations.jsonl
    # Everything the tour wrote is under out/, which git ignores.
    assert {entry.name for entry in checkout.iterdir()} - linked == {"out"}
    assert {p.name for p in (checkout / "out").iterdir()} == {
        "arith.jsonl",
        "arith-chat.jsonl",
        "tour.jsonl",
        "train.parquet",
    }
    assert "/out/" in (ROOT / ".gitignore").read_text(encoding="utf-8").splitlines()
