from __future__ import annotations

import hashlib
import io
import json
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command

from datasets import selectors
from datasets.models import Dataset, DatasetExport
from datasets.services import export as export_module
from datasets.tests.factories import aged_traces, build, golden_trace
from traces.models import Trace

pytestmark = pytest.mark.django_db


def run(*args: Any) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command(*args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_build_dataset_takes_the_api_options(tmp_path: Path, django_capture_on_commit_callbacks: Any) -> None:
    traces = aged_traces(5, meta={"source": "gen", "level": 2})
    aged_traces(2, meta={"source": "other"})
    ids_file = tmp_path / "ids.txt"
    ids_file.write_text(f"{traces[0].id}\n{traces[1].id}\n", encoding="utf-8")
    with django_capture_on_commit_callbacks(execute=True):
        out, _ = run(
            "build_dataset",
            "--dataset-name=gen",
            "--dataset-version=1.0",
            "--filter=source=gen",
            "--filter=level=2",
            "--strategy=random",
            "--seed=3",
            "--limit=3",
            "--session-id=s",
        )
    assert "Built gen-1.0" in out and "with 3 trace(s)" in out
    dataset = selectors.dataset_get(key="gen-1.0")
    assert dataset.filters == {"source": "gen", "level": 2} and dataset.seed == 3
    assert (settings.ARTIFACTS_DIR / "datasets" / "gen-1.0" / "manifest.json").is_file()
    run("build_dataset", "--name=picked", "--dataset-version=1", f"--trace-ids-file={ids_file}", "--parent=gen-1.0")
    picked = selectors.dataset_get(key="picked-1")
    assert selectors.dataset_trace_ids(dataset=picked) == [traces[1].id, traces[0].id]
    assert picked.parent_dataset == dataset
    run("build_dataset", "--name=js", "--dataset-version=1", '--filters={"level": 2}', "--status=pending")
    assert selectors.dataset_get(key="js-1").trace_count == 5


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--filter=noequals"], "KEY=VALUE"),
        (["--filters={bad"], "not valid JSON"),
        (["--filters=[1]"], "filters"),
        (["--strategy=random"], "seed"),
        (["--limit=0"], "limit"),
        (["--trace-ids-file=/no/such/file"], "Cannot read"),
        (["--dataset-version=1"], "already exists"),
    ],
)
def test_build_dataset_operator_mistakes(args: list[str], message: str) -> None:
    aged_traces(1)
    build(name="x", version="1")
    with pytest.raises(CommandError, match=message):
        run("build_dataset", "--name=x", "--dataset-version=2", *args)


def test_export_to_stdout_and_file_give_the_same_bytes(tmp_path: Path) -> None:
    golden_trace()
    build()
    out, err = run("export_dataset", "ds-1.0", "--format=chat", "--system-prompt=Be brief.")
    assert json.loads(out)["messages"][0] == {"role": "system", "content": "Be brief."}
    assert "first computation; digest recorded" in err
    target = tmp_path / "sub" / "chat.jsonl"
    _, err = run("export_dataset", "ds-1.0", "--format=chat", "--system-prompt=Be brief.", f"--output={target}")
    assert target.read_text(encoding="utf-8") == out
    digest = hashlib.sha256(out.encode("utf-8")).hexdigest()
    assert f"sha256 {digest}" in err and "first computation" not in err
    assert DatasetExport.objects.get().sha256 == digest
    assert list(target.parent.iterdir()) == [target]


def test_verify_passes_then_fails_after_a_trace_is_deleted(tmp_path: Path) -> None:
    traces = aged_traces(3)
    build()
    run("export_dataset", "ds-1.0", "--format=prompt_completion")
    _, err = run("export_dataset", "ds-1.0", "--format=prompt_completion", "--verify")
    assert "verified" in err
    Trace.objects.filter(id=traces[0].id).delete()
    target = tmp_path / "out.jsonl"
    with pytest.raises(CommandError, match="differs from the recorded"):
        run("export_dataset", "ds-1.0", "--format=prompt_completion", "--verify", f"--output={target}")
    assert not target.exists() and list(tmp_path.iterdir()) == []
    with pytest.raises(CommandError, match="differs") as failure:
        run("export_dataset", "ds-1.0", "--format=prompt_completion", "--verify")
    assert f"1 trace(s) deleted since the build are skipped by the export: {traces[0].id}." in str(failure.value)


def test_verify_names_deleted_traces_even_when_the_digest_matches() -> None:
    traces = aged_traces(25)
    build(limit=25)
    gone = sorted(traces, key=lambda t: t.created_at, reverse=True)[:21]
    Trace.objects.filter(id__in=[t.id for t in gone]).delete()
    run("export_dataset", "ds-1.0")
    _, err = run("export_dataset", "ds-1.0", "--verify")
    assert "verified" in err
    shown = ", ".join(str(t.id) for t in gone[:20])
    assert f"21 trace(s) deleted since the build are skipped by the export: {shown} and 1 more." in err


def test_verify_without_deleted_traces_says_the_traces_changed() -> None:
    traces = aged_traces(2)
    build()
    run("export_dataset", "ds-1.0")
    Trace.objects.filter(id=traces[0].id).update(final_answer="changed behind the services' back")
    with pytest.raises(CommandError, match="No trace of the dataset was deleted since the build"):
        run("export_dataset", "ds-1.0", "--verify")


def test_failure_midway_leaves_the_old_file_untouched(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    aged_traces(4)
    build()
    target = tmp_path / "out.jsonl"
    target.write_text("previous export\n", encoding="utf-8")
    real = export_module.render_line
    calls = {"n": 0}

    def flaky(*args: Any) -> str:
        calls["n"] += 1
        if calls["n"] == 3:
            raise RuntimeError("database went away")
        return real(*args)

    monkeypatch.setattr(export_module, "render_line", flaky)
    with pytest.raises(RuntimeError):
        run("export_dataset", "ds-1.0", f"--output={target}")
    assert target.read_text(encoding="utf-8") == "previous export\n"
    assert list(tmp_path.iterdir()) == [target]
    assert DatasetExport.objects.count() == 0


def test_export_unknown_key() -> None:
    with pytest.raises(CommandError, match="not found"):
        run("export_dataset", "missing-1")
    assert Dataset.objects.count() == 0
