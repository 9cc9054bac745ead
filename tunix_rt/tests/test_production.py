"""The production server's preconditions: DEBUG off and a SECRET_KEY Django's deploy check calls strong."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tunix_rt.production import NEW_KEY, production_check, production_env_load, production_problems

STRONG = "Zq3-" + "x7Kq2Vb9mZ3pL8rT1wY6nC4hJ0dF5gS2aE7uQ"[::-1] + "_rW5tY8uI0oP"


@pytest.fixture(autouse=True)
def environment(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in ("DEBUG", "SECRET_KEY", "TUNIX_RT_ENV_FILE"):
        monkeypatch.setenv(name, "")  # so that teardown restores what a test's env file sets
        monkeypatch.delenv(name)
    return monkeypatch


def test_a_strong_key_with_debug_off_may_start(
    environment: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert len(STRONG) >= 50
    environment.setenv("SECRET_KEY", STRONG)
    environment.setenv("DEBUG", "0")
    assert production_problems() == []
    production_check()
    assert capsys.readouterr().err == ""


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ({}, [f"SECRET_KEY is not set (`make serve` reads no .env): {NEW_KEY}"]),
        (
            {"SECRET_KEY": "…"},
            [f"SECRET_KEY is weak (length 1, 1 distinct characters): set it to 50+ random characters, e.g. {NEW_KEY}"],
        ),
        ({"SECRET_KEY": STRONG[:49]}, ["SECRET_KEY is weak (length 49"]),
        ({"SECRET_KEY": "abcd" * 20}, ["SECRET_KEY is weak (length 80, 4 distinct characters)"]),
        ({"SECRET_KEY": "django-insecure-" + STRONG}, ["SECRET_KEY is weak"]),
        ({"SECRET_KEY": STRONG, "DEBUG": "1"}, ["DEBUG is on: unset DEBUG or set DEBUG=0"]),
        ({"SECRET_KEY": STRONG, "DEBUG": "perhaps"}, ["DEBUG must be a boolean"]),
        ({"DEBUG": "yes"}, ["DEBUG is on", "SECRET_KEY is not set"]),
    ],
)
def test_debug_or_a_weak_key_is_refused_saying_what_to_set(
    environment: pytest.MonkeyPatch, given: dict[str, str], expected: list[str]
) -> None:
    for name, value in given.items():
        environment.setenv(name, value)
    problems = production_problems()
    assert len(problems) == len(expected)
    assert all(problem.startswith(start) for problem, start in zip(problems, expected, strict=True)), problems


def test_the_check_exits_before_anything_starts(
    environment: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    environment.setenv("DEBUG", "1")
    with pytest.raises(SystemExit) as stopped:
        production_check()
    assert stopped.value.code == 2
    err = capsys.readouterr().err.splitlines()
    assert err[0] == "make serve runs production settings and will not start:"
    assert err[1].startswith("  - DEBUG is on") and err[2].startswith("  - SECRET_KEY is not set")


def test_only_a_named_env_file_is_read(environment: pytest.MonkeyPatch, tmp_path: Path) -> None:
    environment.chdir(tmp_path)
    (tmp_path / ".env").write_text("DEBUG=1\n", encoding="utf-8")
    production_env_load()
    assert os.environ["TUNIX_RT_ENV_FILE"] == "" and "DEBUG" not in os.environ
    named = tmp_path / "production.env"
    named.write_text(f"SECRET_KEY={STRONG}\n", encoding="utf-8")
    environment.setenv("TUNIX_RT_ENV_FILE", str(named))
    production_env_load()
    assert os.environ["SECRET_KEY"] == STRONG and production_problems() == []
    named.write_text("DEBUG=1\n", encoding="utf-8")
    production_env_load()
    assert [problem.split(":")[0] for problem in production_problems()] == ["DEBUG is on"]
