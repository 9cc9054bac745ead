"""Every export, as JSONL and as Parquet, loads with pyarrow, pandas and Hugging Face ``datasets`` with their
default options, whatever ``meta`` holds: types that change from row to row, deep nesting, 1e20, null, ``{}``."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow.json as pa_json
import pyarrow.parquet as pq
import pytest

from datasets.formats import format_names
from datasets.services import dataset_export_lines, dataset_export_parquet
from datasets.services.preferences import preferences_export_lines, preferences_for_export
from datasets.tests.factories import aged_traces, build
from datasets.tests.test_preference_export import make_pair
from traces.preferences import preference_list
from tunix_rt.validation import INT64_MAX

pytestmark = pytest.mark.django_db


def deep(levels: int) -> Any:
    value: Any = "bottom"
    for n in range(levels):
        value = {"k": value} if n % 2 else [value, n]
    return value


def dated(metadata: dict[str, Any]) -> dict[str, Any]:
    when = metadata["created_at"]
    return {**metadata, "created_at": when if isinstance(when, str) else when.isoformat() + "Z"}


def undated(metadata: dict[str, Any]) -> dict[str, Any]:
    """``metadata`` without ``created_at``, which a reader may give as a timestamp of its own."""
    assert metadata["created_at"]
    return {key: value for key, value in metadata.items() if key != "created_at"}


def canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True)


ODD_METAS: list[Any] = [
    {"level": "hard", "source": "demo"},
    {"level": 1, "exp": 1e20, "tiny": 5e-324, "big": INT64_MAX},
    {"level": [1, "two", None], "nested": deep(60)},
    {"level": {"x": True}, "trace_version": "9.9", "created_at": 3, "format": None, "steps": "s", "meta": {}},
    {},
    None,
    {"level": 2.5, "list": [], "null": None},
]

# Hugging Face ``datasets`` is imported by the same name as this project's ``datasets`` app, so it
# runs in a child process in isolated mode (``-I``: no project root, no current directory on
# ``sys.path``), with its cache in the test's folder and no network.
HF_LOAD = """
import json, sys
import datasets
out = {}
for kind, path in json.loads(sys.argv[1]):
    rows = datasets.load_dataset(kind, data_files=path, split="train")
    out[path] = {"rows": rows.num_rows, "columns": rows.column_names, "metadata": [r["metadata"] for r in rows]}
print(json.dumps(out, default=str))
"""


def write_exports(folder: Path) -> dict[Path, list[dict[str, Any]]]:
    """Every format of a dataset of odd traces as JSONL and Parquet (and the ``dpo`` pairs as JSONL),
    each with its records as JSONL gives them."""
    for n, meta in enumerate(ODD_METAS):
        steps = [{"i": INT64_MAX - n, "type": "t", "content": f"step {n}\n2. still step {n}"}]
        aged_traces(1, prompt=f"Prompt {n}", meta=meta, steps=steps)
    dataset = build(name="odd", version="1")
    files: dict[Path, list[dict[str, Any]]] = {}
    for fmt in format_names():
        lines = list(dataset_export_lines(dataset=dataset, fmt=fmt))
        records = [json.loads(line) for line in lines]
        jsonl = folder / f"{fmt}.jsonl"
        jsonl.write_text("".join(lines), encoding="utf-8")
        parquet = folder / f"{fmt}.parquet"
        dataset_export_parquet(dataset=dataset, fmt=fmt, path=parquet)
        files[jsonl] = files[parquet] = records
    make_pair()
    dpo = folder / "dpo.jsonl"
    lines = list(preferences_export_lines(preferences=preferences_for_export(preferences=preference_list())))
    dpo.write_text("".join(lines), encoding="utf-8")
    files[dpo] = [json.loads(line) for line in lines]
    return files


def test_every_export_loads_in_pyarrow_pandas_and_hugging_face_datasets(tmp_path: Path) -> None:
    files = write_exports(tmp_path)
    assert len(files) == 2 * len(format_names()) + 1
    for path, records in files.items():
        metadata = [r["metadata"] for r in records]
        if path.suffix == ".jsonl":
            table = pa_json.read_json(path)
            frame = pd.read_json(path, lines=True)
        else:
            table = pq.read_table(path)
            frame = pd.read_parquet(path)
        assert table.num_rows == len(frame) == len(records), path
        # pyarrow's JSON reader reads ISO 8601 text as timestamps: every other value comes back as written.
        assert list(map(dated, table.column("metadata").to_pylist())) == list(map(dated, metadata)), path
        assert list(frame.columns) == list(records[0]), path
        if path.suffix == ".jsonl":
            assert frame["metadata"].tolist() == metadata, path
        if path.stem != "dpo":
            assert str(table.schema.field("metadata").type.field("meta").type) == "string", path
            metas = [None if m["meta"] is None else json.loads(m["meta"]) for m in metadata]
            assert sorted(map(canonical, metas)) == sorted(map(canonical, ODD_METAS)), path
    jobs = [("json" if p.suffix == ".jsonl" else "parquet", str(p)) for p in files]
    result = subprocess.run(  # noqa: S603 - fixed argv
        [sys.executable, "-I", "-c", HF_LOAD, json.dumps(jobs)],
        cwd=tmp_path, capture_output=True, text=True, timeout=600, check=False,
        env={"HF_DATASETS_CACHE": str(tmp_path / "hf-cache"), "HF_HOME": str(tmp_path / "hf-home"),
             "HF_DATASETS_OFFLINE": "1", "HF_HUB_OFFLINE": "1", "PATH": "/usr/bin:/bin"},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-4000:]
    loaded = json.loads(result.stdout.strip().splitlines()[-1])
    for path, records in files.items():
        got = loaded[str(path)]
        assert got["rows"] == len(records) and got["columns"] == list(records[0]), path
        assert [undated(m) for m in got["metadata"]] == [undated(r["metadata"]) for r in records], path
