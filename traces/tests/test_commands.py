from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command

from traces.models import Score, Trace
from traces.tests.factories import TraceFactory, make_payload

pytestmark = pytest.mark.django_db


def write_jsonl(path: Path, rows: list[Any]) -> Path:
    path.write_text("\n".join(r if isinstance(r, str) else json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    return path


def run(*args: Any, **kwargs: Any) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command(*args, stdout=out, stderr=err, **kwargs)
    return out.getvalue(), err.getvalue()


def test_import_traces_stores_valid_file(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "t.jsonl", [make_payload(n) for n in range(3)] + [""])
    out, _ = run("import_traces", str(path))
    assert "Imported 3 trace(s)" in out
    assert Trace.objects.count() == 3


def test_import_traces_reports_bad_lines_and_stores_nothing(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "t.jsonl", [make_payload(0), "{broken", make_payload(2, prompt=""), [1]])
    err = io.StringIO()
    with pytest.raises(CommandError, match="3 invalid line"):
        call_command("import_traces", str(path), stdout=io.StringIO(), stderr=err)
    report = err.getvalue()
    assert "line 2: invalid JSON" in report
    assert "line 3: prompt:" in report
    assert "line 4: expected a JSON object" in report
    assert Trace.objects.count() == 0


def test_import_traces_skip_invalid_and_duplicates(tmp_path: Path) -> None:
    TraceFactory.create(prompt="What is 1 + 2?", final_answer="3", steps=make_payload(1)["steps"])
    path = write_jsonl(tmp_path / "t.jsonl", [make_payload(1), "nope", make_payload(2), make_payload(2)])
    out, _ = run("import_traces", str(path), "--skip-invalid", "--skip-duplicates", "--batch-size", "2")
    assert "Imported 1 trace(s); skipped 2 duplicate(s) and 1 invalid line(s)." in out
    assert Trace.objects.count() == 2


def test_import_traces_reads_stdin(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO(json.dumps(make_payload(5)) + "\n"))
    out, _ = run("import_traces", "-")
    assert "Imported 1" in out


def test_import_traces_progress_on_long_files(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "t.jsonl", [make_payload(n) for n in range(1000)])
    _, err = run("import_traces", str(path))
    assert "1000/1000 traces processed" in err


@pytest.mark.parametrize("args", [["/no/such/file.jsonl"], ["-", "--batch-size", "0"]])
def test_import_traces_operator_mistakes(args: list[str]) -> None:
    with pytest.raises(CommandError):
        run("import_traces", *args)


def test_import_traces_non_utf8(tmp_path: Path) -> None:
    path = tmp_path / "latin.jsonl"
    path.write_bytes(b"\xff\xfe\x00bad\n")
    with pytest.raises(CommandError, match="UTF-8"):
        run("import_traces", str(path))


def test_score_traces_by_status() -> None:
    TraceFactory.create(status="approved")
    TraceFactory.create()
    out, _ = run("score_traces", "--status", "approved")
    assert "Scored 1 trace(s) with baseline." in out
    assert Score.objects.count() == 1


def test_issue_token_creates_user_and_prints_key_alone() -> None:
    from rest_framework.authtoken.models import Token

    out, _ = run("issue_token", "script-bot")
    key = out.strip()
    assert out.count("\n") == 1
    assert Token.objects.get(user__username="script-bot").key == key
    again, _ = run("issue_token", "script-bot")
    assert again.strip() == key
    with pytest.raises(CommandError):
        run("issue_token", "   ")


def test_ensure_admin_creates_once() -> None:
    from django.contrib.auth import get_user_model

    out, _ = run("ensure_admin")
    assert "Created admin user 'admin' with password:" in out
    assert "manage.py changepassword admin" in out
    assert get_user_model().objects.get(username="admin").is_superuser
    out, _ = run("ensure_admin")
    assert "Admin login exists; log in at http://127.0.0.1:8000/admin/\n" in out
    assert "Forgot the password? Set a new one with: .venv/bin/python manage.py changepassword admin" in out
    out, _ = run("ensure_admin", "--url", "http://127.0.0.1:9101")
    assert "log in at http://127.0.0.1:9101/admin/\n" in out


def test_score_traces_lists_the_skipped_traces_with_the_reason() -> None:
    TraceFactory.create(prompt="What is 1 + 1?", final_answer="2")
    hello = TraceFactory.create(prompt="Say hello.", meta={})
    out, _ = run("score_traces", "--criteria", "answer_match")
    lines = out.splitlines()
    assert lines[0] == "Scored 1 trace(s) with answer_match. Skipped 1 that answer_match cannot verify:"
    assert lines[1].startswith(f"  {hello.id}: ") and "cannot verify" not in lines[1]
    assert len(lines[1]) > len(f"  {hello.id}: ")
    assert len(lines) == 2
    assert list(Score.objects.values_list("score", flat=True)) == [1.0]


def test_score_traces_shows_ten_skipped_then_a_count() -> None:
    skipped = {str(TraceFactory.create(prompt=f"Say hello {n}.", meta={}).id) for n in range(13)}
    out, _ = run("score_traces", "--criteria", "answer_match")
    lines = out.splitlines()
    assert lines[0] == "Scored 0 trace(s) with answer_match. Skipped 13 that answer_match cannot verify:"
    listed = [line.strip().split(":", 1)[0] for line in lines[1:11]]
    assert len(set(listed)) == 10 and set(listed) <= skipped
    assert lines[11:] == ["  and 3 more"]


def test_generate_traces_unique_by_default_and_no_unique() -> None:
    with pytest.raises(CommandError, match="holds 155 distinct traces"):
        call_command("generate_traces", "arithmetic", "--count", "200", "--level", "easy", stdout=io.StringIO())
    assert Trace.objects.count() == 0
    call_command(
        "generate_traces", "arithmetic", "--count", "200", "--level", "easy", "--no-unique", stdout=io.StringIO()
    )
    assert Trace.objects.count() == 200
    assert Trace.objects.values("content_hash").distinct().count() < 155
