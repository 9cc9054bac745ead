from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from tunix_rt import env


def test_env_parsers(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("X_BOOL", "yes")
    monkeypatch.setenv("X_INT", " 42 ")
    monkeypatch.setenv("X_LIST", "a, b,,c")
    assert env.env_bool("X_BOOL", False) is True
    assert env.env_bool("X_UNSET", True) is True
    assert env.env_int("X_INT", 1) == 42
    assert env.env_list("X_LIST", []) == ["a", "b", "c"]
    assert env.env_str("X_UNSET", "d") == "d"


@pytest.mark.parametrize(
    ("name", "value", "call"),
    [
        ("X_BOOL", "maybe", lambda: env.env_bool("X_BOOL", False)),
        ("X_INT", "ten", lambda: env.env_int("X_INT", 1)),
        ("X_INT", "0", lambda: env.env_int("X_INT", 1)),
    ],
)
def test_env_parsers_name_the_variable(monkeypatch: pytest.MonkeyPatch, name: str, value: str, call: object) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ImproperlyConfigured, match=name):
        call()  # type: ignore[operator]


def test_env_choice_matches_case_insensitively(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("X_LEVEL", " warning ")
    assert env.env_choice("X_LEVEL", "INFO", ("INFO", "WARNING")) == "WARNING"
    assert env.env_choice("X_UNSET", "INFO", ("INFO", "WARNING")) == "INFO"
    monkeypatch.setenv("X_LEVEL", "loud")
    with pytest.raises(ImproperlyConfigured, match="X_LEVEL must be one of INFO, WARNING, got 'loud'"):
        env.env_choice("X_LEVEL", "INFO", ("INFO", "WARNING"))


def _start(env_vars: dict[str, str], code: str = "import django; django.setup()") -> subprocess.CompletedProcess[str]:
    base = {"DJANGO_SETTINGS_MODULE": "tunix_rt.settings", "PATH": "/usr/bin:/bin", "TUNIX_RT_ENV_FILE": ""}
    return subprocess.run(  # noqa: S603 - fixed interpreter and code
        [sys.executable, "-c", code], env={**base, **env_vars}, capture_output=True, text=True, check=False
    )


@pytest.mark.parametrize(
    ("env_vars", "named"),
    [
        ({}, "SECRET_KEY"),
        ({"SECRET_KEY": "k", "TRACE_MAX_BYTES": "lots"}, "TRACE_MAX_BYTES"),
        ({"SECRET_KEY": "k", "DEBUG": "perhaps"}, "DEBUG"),
        ({"SECRET_KEY": "k", "ALLOWED_HOSTS": "*"}, "ALLOWED_HOSTS"),
        ({"SECRET_KEY": "k", "DATABASE_URL": "mysql://x@y/z"}, "DATABASE_URL"),
        ({"SECRET_KEY": "k", "MODEL_ROOTS": "models:/srv/x"}, "MODEL_ROOTS"),
        ({"SECRET_KEY": "k", "HTTPS_ONLY": "sometimes"}, "HTTPS_ONLY"),
        ({"SECRET_KEY": "k", "LOG_LEVEL": "bogus"}, "LOG_LEVEL"),
    ],
)
def test_invalid_configuration_stops_start_up(env_vars: dict[str, str], named: str) -> None:
    result = _start(env_vars)
    assert result.returncode != 0
    assert named in result.stderr


def test_valid_configuration_starts() -> None:
    assert _start({"SECRET_KEY": "k", "ALLOWED_HOSTS": "example.org"}).returncode == 0


def test_env_file_fills_in_unset_variables(tmp_path: Path) -> None:
    env_file = tmp_path / "local.env"
    env_file.write_text("SECRET_KEY=from-file\nTRACE_BATCH_MAX=7\n", encoding="utf-8")
    code = "from django.conf import settings; print(settings.SECRET_KEY, settings.TRACE_BATCH_MAX)"
    result = subprocess.run(  # noqa: S603 - fixed interpreter and code
        [sys.executable, "-c", code],
        env={"DJANGO_SETTINGS_MODULE": "tunix_rt.settings", "TUNIX_RT_ENV_FILE": str(env_file), "TRACE_BATCH_MAX": "9"},
        capture_output=True,
        text=True,
        check=True,
    )
    assert result.stdout.split() == ["from-file", "9"]


def _deploy_check(extra: dict[str, str]) -> subprocess.CompletedProcess[str]:
    env_vars = {
        "DJANGO_SETTINGS_MODULE": "tunix_rt.settings",
        "PATH": "/usr/bin:/bin",
        "TUNIX_RT_ENV_FILE": "",
        "DEBUG": "0",
        "SECRET_KEY": "x7Kq2-" + "Vb9mZ3pL8rT1wY6nC4hJ0dF5gS2aE7uQ" * 2,
        "ALLOWED_HOSTS": "tunix.example.org",
        **extra,
    }
    manage = Path(__file__).resolve().parents[2] / "manage.py"
    return subprocess.run(  # noqa: S603 - fixed interpreter and script
        [sys.executable, str(manage), "check", "--deploy", "--fail-level", "WARNING"],
        env=env_vars,
        capture_output=True,
        text=True,
        check=False,
    )


def test_https_only_clears_every_deploy_warning() -> None:
    plain = _deploy_check({})
    assert plain.returncode != 0 and "security.W004" in plain.stderr
    secured = _deploy_check({"HTTPS_ONLY": "1", "TRUST_X_FORWARDED_PROTO": "1"})
    assert secured.returncode == 0, secured.stderr
    assert "no issues" in secured.stdout


def test_model_roots_default_and_parse(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("X_ROOTS", f"{tmp_path}:{tmp_path / 'b'}")
    assert env.env_paths("X_ROOTS", []) == [tmp_path.resolve(), (tmp_path / "b").resolve()]
    assert env.env_paths("X_UNSET", [tmp_path / "m"]) == [(tmp_path / "m").resolve()]


@pytest.mark.parametrize("debug", ["1", "0"])
def test_each_log_event_is_one_line(debug: str) -> None:
    code = (
        "import django, logging; django.setup(); "
        "logging.getLogger('django.request').warning('request-event'); "
        "logging.getLogger('traces').warning('app-event'); "
        "logging.getLogger('traces').info('info-event')"
    )
    result = _start({"SECRET_KEY": "k", "DEBUG": debug, "LOG_LEVEL": "warning"}, code)
    assert result.returncode == 0, result.stderr
    lines = result.stderr.splitlines()
    assert (lines.count("request-event"), lines.count("app-event"), lines.count("info-event")) == (1, 1, 0)


@pytest.mark.parametrize(("given", "options"), [(None, "True 5"), ("1", "True 5"), ("0", "None None")])
def test_postgresql_binds_on_the_server_and_prepares_unless_told_not_to(given: str | None, options: str) -> None:
    code = (
        "from django.conf import settings; o = settings.DATABASES['default'].get('OPTIONS', {});"
        " print(o.get('server_side_binding'), o.get('prepare_threshold'))"
    )
    env_vars = {"SECRET_KEY": "k", "DATABASE_URL": "postgres://u@127.0.0.1:5432/x"}
    if given is not None:
        env_vars["DATABASE_PREPARED_STATEMENTS"] = given
    result = _start(env_vars, code)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == options.split()
