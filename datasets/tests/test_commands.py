from __future__ import annotations

import hashlib
import io
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
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


def multi_step_traces() -> list[Trace]:
    """Traces whose steps have types, gaps in indices and contents over several lines."""
    golden_trace()
    return [
        *aged_traces(
            3,
            prompt="Explain 7 * 6.",
            steps=[
                {"i": 0, "type": "plan", "content": "Split it:\n7 * 6 = 7 * 5 + 7"},
                {"i": 2, "type": "compute", "content": "35 + 7 = 42"},
                {"i": 5, "type": "check", "content": "42 / 6 = 7.\n2. not a new step"},
            ],
            final_answer="42",
            meta={"source": "import-test", "level": 3},
        ),
    ]


def test_build_dataset_with_splits(django_capture_on_commit_callbacks: Any) -> None:
    for n in range(4):
        aged_traces(2, prompt=f"Same question {n}")
    with django_capture_on_commit_callbacks(execute=True):
        out, _ = run("build_dataset", "--name", "sp", "--dataset-version", "1", "--seed", "9",
                     "--split", "train=0.75", "--split", "test=0.25")  # fmt: skip
    assert "split train: 6 trace(s) in 3 group(s)" in out and "split test: 2 trace(s) in 1 group(s)" in out
    assert "leakage (prompt): 0 shared group(s)" in out
    manifest = json.loads(selectors.manifest_path(dataset=Dataset.objects.get()).read_text(encoding="utf-8"))
    assert manifest["leakage"] == {"split_group": "prompt", "shared_groups": 0}
    stdout, _ = run("export_dataset", "sp-1", "--split", "test")
    assert [json.loads(line)["id"] for line in stdout.splitlines()] == [
        str(i) for i in selectors.dataset_trace_ids(dataset=Dataset.objects.get(), split="test")
    ]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--split", "train=0.5", "--split", "train=0.5"], "may appear once"),
        (["--split", "train"], "NAME=FRACTION"),
        (["--split", "train=half"], "must be a number"),
        (["--split", "train=0.5", "--split", "test=0.4"], "sum to 1"),
    ],
)
def test_build_dataset_split_mistakes(args: list[str], message: str) -> None:
    aged_traces(2)
    with pytest.raises(CommandError, match=message):
        run("build_dataset", "--name", "sp", "--dataset-version", "1", *args)
    assert Dataset.objects.count() == 0


def test_export_dataset_unknown_split() -> None:
    aged_traces(1)
    build(name="plain", version="1")
    with pytest.raises(CommandError, match="has no split 'test'"):
        run("export_dataset", "plain-1", "--split", "test")


def test_parquet_export_has_one_column_per_field_and_records_its_digest(tmp_path: Path) -> None:
    multi_step_traces()
    dataset = build(name="pq", version="1")
    jsonl, _ = run("export_dataset", "pq-1", "--format", "trace")
    target = tmp_path / "pq.parquet"
    _, err = run("export_dataset", "pq-1", "--format", "trace", "--output", str(target))
    table = pq.read_table(target)
    assert table.column_names == ["id", "prompts", "trace_steps", "final_answer", "metadata"]
    assert str(table.schema.field("trace_steps").type) == "list<element: string>"
    assert str(table.schema.field("metadata").type) == (
        "struct<created_at: string, trace_version: string, "
        "steps: list<element: struct<i: int64, type: string, chars: int64>>, meta: string>"
    )
    records = [json.loads(line) for line in jsonl.splitlines()]
    assert table.to_pylist() == records
    digest = hashlib.sha256(target.read_bytes()).hexdigest()
    assert f"4 row(s), sha256 {digest}" in err
    row = DatasetExport.objects.get(dataset=dataset, file_format="parquet")
    assert (row.format, row.sha256, row.line_count, row.split) == ("trace", digest, 4, "")
    again = tmp_path / "again.parquet"
    _, err = run("export_dataset", "pq-1", "--format", "trace", "--output", str(again), "--verify")
    assert again.read_bytes() == target.read_bytes() and "first computation" not in err


def test_parquet_verify_fails_and_keeps_the_old_file(tmp_path: Path) -> None:
    traces = aged_traces(3)
    build(name="pq", version="1")
    target = tmp_path / "pq.parquet"
    run("export_dataset", "pq-1", "--format", "chat", "--output", str(target))
    before = target.read_bytes()
    Trace.objects.filter(id=traces[0].id).delete()
    with pytest.raises(CommandError, match="differs from the recorded one"):
        run("export_dataset", "pq-1", "--format", "chat", "--output", str(target), "--verify")
    assert target.read_bytes() == before


def test_split_parquet_export(tmp_path: Path) -> None:
    for n in range(4):
        aged_traces(2, prompt=f"Same question {n}")
    dataset = build(name="sp", version="1", splits={"train": 0.5, "test": 0.5})
    target = tmp_path / "test.parquet"
    run("export_dataset", "sp-1", "--format", "prompt_completion", "--split", "test", "--output", str(target))
    table = pq.read_table(target)
    assert table.column_names == ["id", "prompt", "completion", "metadata"]
    test_ids = [str(i) for i in selectors.dataset_trace_ids(dataset=dataset, split="test")]
    assert table.column("id").to_pylist() == test_ids
    assert DatasetExport.objects.get(file_format="parquet").split == "test"


def test_chat_export_imports_back_as_all_duplicates(tmp_path: Path) -> None:
    multi_step_traces()
    build(name="chat", version="1")
    for system in ("", "Be brief."):
        path = tmp_path / f"chat{len(system)}.jsonl"
        run("export_dataset", "chat-1", "--format", "chat", "--system-prompt", system, "--output", str(path))
        out, _ = run("import_traces", str(path), "--format", "chat", "--skip-duplicates")
        assert "Imported 0 trace(s); skipped 4 duplicate(s)" in out
    assert Trace.objects.count() == 4


def test_chat_export_imported_into_an_empty_store_rebuilds_the_traces(tmp_path: Path) -> None:
    originals = multi_step_traces()
    build(name="chat", version="1")
    path = tmp_path / "chat.jsonl"
    run("export_dataset", "chat-1", "--format", "chat", "--system-prompt", "Be brief.", "--output", str(path))
    expected = {t.content_hash: (t.prompt, t.steps, t.final_answer, t.meta) for t in Trace.objects.all()}
    Trace.objects.all().delete()
    out, _ = run("import_traces", str(path), "--format", "chat")
    assert "Imported 4 trace(s)" in out
    imported = {t.content_hash: (t.prompt, t.steps, t.final_answer, t.meta) for t in Trace.objects.all()}
    assert imported == expected
    assert imported[originals[0].content_hash][3] == {"level": 3, "source": "import-test"}


def test_parquet_exports_import_back(tmp_path: Path) -> None:
    multi_step_traces()
    build(name="pq", version="1")
    chat = tmp_path / "chat.parquet"
    run("export_dataset", "pq-1", "--format", "chat", "--output", str(chat))
    out, _ = run("import_traces", str(chat), "--format", "parquet", "--skip-duplicates")
    assert "Imported 0 trace(s); skipped 4 duplicate(s)" in out
    trace = tmp_path / "trace.parquet"
    run("export_dataset", "pq-1", "--format", "trace", "--output", str(trace))
    originals = sorted(
        json.dumps([t.prompt, t.final_answer, t.steps, t.meta, t.trace_version], sort_keys=True)
        for t in Trace.objects.all()
    )
    Trace.objects.all().delete()
    out, _ = run("import_traces", str(trace), "--format", "parquet")
    assert "Imported 4 trace(s)" in out
    stored = sorted(
        json.dumps([t.prompt, t.final_answer, t.steps, t.meta, t.trace_version], sort_keys=True)
        for t in Trace.objects.all()
    )
    assert stored == originals
    assert {t.source for t in Trace.objects.all()} == {"golden", "import-test"}


HF_READ = """
import json, sys
import datasets
rows = datasets.load_dataset("parquet", data_files=sys.argv[1], split="train")
print(json.dumps({"columns": rows.column_names, "first": rows[0]}))
"""


@pytest.mark.training
def test_hugging_face_datasets_reads_the_parquet_export(tmp_path: Path) -> None:
    """Hugging Face ``datasets`` shares our app's name, so it is run in a process without the project on its path."""
    multi_step_traces()
    build(name="hf", version="1")
    target = tmp_path / "hf.parquet"
    run("export_dataset", "hf-1", "--format", "chat", "--output", str(target))
    env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    env.update(HF_DATASETS_CACHE=str(tmp_path / "hf-cache"), HF_DATASETS_OFFLINE="1", HF_HUB_OFFLINE="1")
    result = subprocess.run(  # noqa: S603 - fixed argv
        [sys.executable, "-c", HF_READ, str(target)], cwd=tmp_path, env=env, capture_output=True, text=True,
        timeout=300, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    read = json.loads(result.stdout.strip().splitlines()[-1])
    assert read["columns"] == ["id", "messages", "metadata"]
    first = json.loads(run("export_dataset", "hf-1", "--format", "chat")[0].splitlines()[0])
    assert read["first"]["id"] == first["id"] and read["first"]["messages"] == first["messages"]


def test_build_dataset_refuses_filters_past_the_depth_and_segment_limits() -> None:
    aged_traces(1, meta={"a": {"a": {"a": {"a": {"a": {"a": {"a": {"a": 7}}}}}}}})
    deep = '{"a": ' * 64 + "1" + "}" * 64  # the filters object is level 1, so this value nests 65
    with pytest.raises(CommandError, match=r"filters: filters\.a(\.a)* nests deeper than 64 levels"):
        run("build_dataset", "--name", "d", "--dataset-version", "1", "--filters", '{"a": ' + deep + "}")
    with pytest.raises(CommandError, match="--filter a: The document nests deeper than 64 levels"):
        run("build_dataset", "--name", "d", "--dataset-version", "1", "--filter", "a=" + "[" * 5_000 + "]" * 5_000)
    with pytest.raises(CommandError, match="at most 8 segments.*this one has 9"):
        run("build_dataset", "--name", "d", "--dataset-version", "1", "--filter", "__".join(["a"] * 9) + "=7")
    assert Dataset.objects.count() == 0
    run("build_dataset", "--name", "d", "--dataset-version", "1", "--filter", "__".join(["a"] * 8) + "=7")
    assert Dataset.objects.get().trace_count == 1


def test_build_dataset_names_an_unknown_filter_key_with_the_known_ones() -> None:
    aged_traces(2, meta={"generator": "arithmetic", "level": "easy", "source": "gen"})
    with pytest.raises(CommandError) as caught:
        run("build_dataset", "--name", "u", "--dataset-version", "1", "--filter", "generatr=arithmetic")
    assert str(caught.value) == (
        "Unknown filter key 'generatr': no stored trace's meta has it; known keys: generator, level, source."
    )
    with pytest.raises(CommandError, match=r"^Unknown filter key 'level__x': "):
        run("build_dataset", "--name", "u", "--dataset-version", "1", "--filter", "level__x=1")
    # A known key with a value no trace has is the service's own sentence, not an unknown key.
    with pytest.raises(CommandError) as caught:
        run("build_dataset", "--name", "u", "--dataset-version", "1", "--filter", "generator=chess")
    assert str(caught.value) == "No traces match the selection; nothing to build."
    assert Dataset.objects.count() == 0


def test_build_dataset_refusals_are_sentences_naming_the_option() -> None:
    aged_traces(1)
    build(name="x", version="1")
    with pytest.raises(CommandError) as caught:
        run("build_dataset", "--name", "x", "--dataset-version", "1")
    assert str(caught.value) == "Dataset x-1 already exists; datasets are immutable, build a new version."
    with pytest.raises(CommandError) as caught:
        run("build_dataset", "--name", "x", "--dataset-version", "2", "--strategy", "random")
    assert str(caught.value) == "--seed: A random selection needs a seed, so that it can be repeated."
    with pytest.raises(CommandError, match=r"^--limit: "):
        run("build_dataset", "--name", "x", "--dataset-version", "2", "--limit", "0")
