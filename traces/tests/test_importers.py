from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from django.core.management import CommandError, call_command

from traces.importers import get_import_format, import_format_names
from traces.importers.chat import numbered_steps, parse_conversation, split_assistant
from traces.models import Trace

TAGGED = "<reasoning>1. Multiply: 3 * 4 = 12.\n2. Add: 2 + 12 = 14.</reasoning>\n<answer>14</answer>"


def conversation(assistant: str = TAGGED, **extra: Any) -> dict[str, Any]:
    return {
        "messages": [{"role": "user", "content": "What is 2 + 3 * 4?"}, {"role": "assistant", "content": assistant}],
        **extra,
    }


def run(*args: Any) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command(*args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_the_three_formats() -> None:
    assert import_format_names() == ["jsonl", "chat", "parquet"]


def test_tagged_assistant_turn_gives_steps_and_answer() -> None:
    payload, error = parse_conversation(conversation())
    assert error is None and payload is not None
    assert payload["prompt"] == "What is 2 + 3 * 4?" and payload["final_answer"] == "14"
    assert payload["steps"] == [
        {"i": 0, "type": "reasoning", "content": "Multiply: 3 * 4 = 12."},
        {"i": 1, "type": "reasoning", "content": "Add: 2 + 12 = 14."},
    ]
    assert payload["trace_version"] == "1.0" and payload["meta"] is None


def test_plain_reasoning_answer_text() -> None:
    text = "Reasoning:\n1. Multiply: 3 * 4 = 12.\n2. Add: 2 + 12 = 14.\nAnswer: 14"
    assert split_assistant(text) == ("1. Multiply: 3 * 4 = 12.\n2. Add: 2 + 12 = 14.", "14")
    payload, error = parse_conversation(conversation(text))
    assert error is None and payload is not None and len(payload["steps"]) == 2 and payload["final_answer"] == "14"


def test_numbered_lines_in_sequence_start_steps() -> None:
    assert numbered_steps("1. a\nmore\n3. not next\n2. b") == ["a\nmore\n3. not next", "b"]
    assert numbered_steps("Think first.\n1. a") == ["Think first.", "a"]
    assert numbered_steps("no numbers\nat all") == ["no numbers\nat all"]


def test_spread_metadata_of_older_exports_restores_versions_types_and_meta_and_system_turns_go_to_meta() -> None:
    data = conversation(
        metadata={
            "created_at": "2025-01-02T03:04:05Z",
            "trace_version": "2.1",
            "source": "chat-file",
            "steps": [{"i": 3, "type": "parse"}, {"i": 7, "type": "compute"}],
            "format": "chat",
        }
    )
    data["messages"].insert(0, {"role": "system", "content": "Be brief."})
    payload, error = parse_conversation(data)
    assert error is None and payload is not None
    assert payload["trace_version"] == "2.1"
    assert [(s["i"], s["type"]) for s in payload["steps"]] == [(3, "parse"), (7, "compute")]
    assert payload["meta"] == {"source": "chat-file", "system_prompt": "Be brief."}


def test_step_metadata_that_does_not_fit_is_an_error_not_a_guess() -> None:
    payload, error = parse_conversation(conversation(metadata={"steps": [{"i": 0, "type": "only-one"}]}))
    assert payload is None and error == "metadata.steps describes 1 step(s) but the record holds 2"


def fixed_metadata(meta: Any, steps: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    text = None if meta is None else json.dumps(meta, sort_keys=True, separators=(",", ":"))
    return {"created_at": "2025-01-02T03:04:05Z", "trace_version": "2.1", "steps": steps, "meta": text, **extra}


def test_fixed_metadata_cuts_steps_at_their_lengths_and_keeps_meta_exactly() -> None:
    contents = ["Multiply:\n2. not a step", "1. Add:"]
    assistant = "<reasoning>1. Multiply:\n2. not a step\n2. 1. Add:</reasoning>\n<answer> 14\n</answer>"
    steps = [{"i": 3, "type": "parse", "chars": len(contents[0])}, {"i": 7, "type": "compute", "chars": 7}]
    meta: dict[str, Any] = {"trace_version": "9.9", "format": None, "steps": {}, "created_at": [], "meta": {"x": 1e20}}
    data = conversation(assistant, metadata=fixed_metadata(meta, steps, format="chat"))
    data["messages"].insert(0, {"role": "system", "content": "Be brief."})
    payload, error = parse_conversation(data)
    assert error is None and payload is not None
    assert payload["trace_version"] == "2.1" and payload["final_answer"] == " 14\n"
    assert payload["steps"] == [
        {"i": 3, "type": "parse", "content": "Multiply:\n2. not a step"},
        {"i": 7, "type": "compute", "content": "1. Add:"},
    ]
    assert payload["meta"] == meta and isinstance(payload["meta"]["meta"]["x"], float)
    empty: dict[str, Any] | None
    for empty in ({}, None):
        payload, _ = parse_conversation(conversation(metadata=fixed_metadata(empty, [])))
        assert payload is None
    two = [{"i": 0, "type": "a", "chars": 21}, {"i": 1, "type": "b", "chars": 17}]
    for empty in ({}, None):
        payload, error = parse_conversation(conversation(metadata=fixed_metadata(empty, two)))
        assert error is None and payload is not None and payload["meta"] == empty


@pytest.mark.parametrize(
    ("metadata", "message"),
    [
        (fixed_metadata({}, [{"i": 0, "type": "a", "chars": 21}, {"i": 1, "type": "b", "chars": 16}]),
         "does not hold the steps metadata.steps describes"),
        (fixed_metadata({}, [{"i": 0, "type": "a", "chars": 21}]), "does not hold the steps"),
        ({**fixed_metadata({}, []), "meta": "[1]"}, "metadata.meta: expected the JSON text of an object, or null"),
        ({**fixed_metadata({}, []), "meta": "{"}, "metadata.meta: expected the JSON text"),
        ({**fixed_metadata({}, []), "steps": "two"}, "metadata.steps: expected a list"),
        ({**fixed_metadata({}, []), "trace_version": 2}, "metadata.trace_version: expected a string"),
        (fixed_metadata({"n": 2**64}, [{"i": 0, "type": "a", "chars": 21}, {"i": 1, "type": "b", "chars": 17}]),
         "meta.n is an integer outside the signed 64-bit range"),
        (fixed_metadata({"n": float("nan")}, [{"i": 0, "type": "a", "chars": 21}, {"i": 1, "type": "b", "chars": 17}]),
         "meta.n is not a finite number"),
    ],
)  # fmt: skip
def test_fixed_metadata_that_does_not_fit_is_an_error(metadata: dict[str, Any], message: str) -> None:
    payload, error = parse_conversation(conversation(metadata=metadata))
    assert payload is None and error is not None and message in error


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ([], "expected a JSON object"),
        ({"messages": []}, "non-empty list"),
        ({"messages": [{"role": "user"}]}, "messages[0]: expected an object with a string content"),
        ({"messages": [{"role": "tool", "content": "x"}]}, "role must be one of system, user, assistant"),
        ({"messages": [{"role": "user", "content": "q"}]}, "exactly one user turn and one assistant turn"),
        (conversation("The answer is 14."), "neither <reasoning>"),
        (conversation(metadata=[1]), "metadata: expected an object"),
        (conversation("<reasoning></reasoning><answer>14</answer>"), "steps"),
        (conversation("<reasoning>1. x</reasoning><answer></answer>"), "final_answer"),
    ],
)
def test_conversations_that_are_not_traces(data: Any, message: str) -> None:
    payload, error = parse_conversation(data)
    assert payload is None and error is not None and message in error


def write_lines(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.mark.django_db
def test_import_chat_file_reports_bad_lines_by_number_and_stores_nothing(tmp_path: Path) -> None:
    path = write_lines(
        tmp_path / "c.jsonl",
        [json.dumps(conversation()), "{not json", json.dumps({"messages": "x"}), "", json.dumps(conversation("?"))],
    )
    err = io.StringIO()
    with pytest.raises(CommandError, match="3 invalid line"):
        call_command("import_traces", str(path), "--format", "chat", stdout=io.StringIO(), stderr=err)
    report = err.getvalue()
    assert "line 2: invalid JSON" in report and "line 3: expected" in report and "line 5: the assistant" in report
    assert Trace.objects.count() == 0
    out, _ = run("import_traces", str(path), "--format", "chat", "--skip-invalid")
    assert "Imported 1 trace(s); skipped 0 duplicate(s) and 3 invalid line(s)." in out


@pytest.mark.django_db
def test_import_parquet_reports_bad_rows_by_number(tmp_path: Path) -> None:
    path = tmp_path / "t.parquet"
    rows = {
        "id": ["a", "b", "c"],
        "prompts": ["What?", "", "Why?"],
        "trace_steps": [["look"], ["x"], None],
        "final_answer": ["this", "that", "so"],
        "metadata": [{"trace_version": "1.0", "source": "pq"}, None, None],
    }
    pq.write_table(pa.table(rows), path)
    err = io.StringIO()
    with pytest.raises(CommandError, match="2 invalid row"):
        call_command("import_traces", str(path), "--format", "parquet", stdout=io.StringIO(), stderr=err)
    assert "row 2: prompt:" in err.getvalue() and "row 3: trace_steps: expected a list of strings" in err.getvalue()
    assert Trace.objects.count() == 0
    run("import_traces", str(path), "--format", "parquet", "--skip-invalid")
    stored = Trace.objects.get()
    assert (stored.prompt, stored.steps, stored.meta) == (
        "What?",
        [{"i": 0, "type": "reasoning", "content": "look"}],
        {"source": "pq"},
    )


@pytest.mark.django_db
def test_parquet_file_mistakes(tmp_path: Path) -> None:
    not_parquet = write_lines(tmp_path / "x.parquet", ["hello"])
    with pytest.raises(CommandError, match="Not a readable Parquet file"):
        run("import_traces", str(not_parquet), "--format", "parquet")
    other = tmp_path / "other.parquet"
    pq.write_table(pa.table({"question": ["q"]}), other)
    with pytest.raises(CommandError, match="Expected the columns of a trace export .* found: question"):
        run("import_traces", str(other), "--format", "parquet")
    bad_meta = tmp_path / "meta.parquet"
    pq.write_table(pa.table({"prompts": ["p"], "trace_steps": [["s"]], "final_answer": ["a"], "metadata": ["[1]"]}),
                   bad_meta)  # fmt: skip
    with pytest.raises(CommandError, match="1 invalid row"):
        run("import_traces", str(bad_meta), "--format", "parquet")


@pytest.mark.django_db
def test_parquet_reads_metadata_written_as_json_text_and_from_stdin(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "t.parquet"
    meta = json.dumps({"trace_version": "3", "n": 1, "steps": [{"i": 4, "type": "t"}]})
    pq.write_table(pa.table({"prompts": ["p"], "trace_steps": [["s"]], "final_answer": ["a"], "metadata": [meta]}),
                   path)  # fmt: skip

    class Stdin(io.StringIO):
        buffer = io.BytesIO(path.read_bytes())

    monkeypatch.setattr("sys.stdin", Stdin())
    run("import_traces", "-", "--format", "parquet")
    stored = Trace.objects.get()
    assert (stored.trace_version, stored.steps, stored.meta) == ("3", [{"i": 4, "type": "t", "content": "s"}], {"n": 1})


def test_records_are_numbered_from_one(tmp_path: Path) -> None:
    path = write_lines(tmp_path / "c.jsonl", ["a", "", "b"])
    assert list(get_import_format("chat").records(path)) == [(1, "a\n"), (3, "b\n")]


def deep_text(levels: int) -> str:
    return '{"a": ' * levels + "1" + "}" * levels


@pytest.mark.django_db
def test_import_refuses_json_past_the_depth_limit_by_line_and_field(tmp_path: Path) -> None:
    base = json.dumps(
        {"trace_version": "1", "prompt": "p", "final_answer": "a", "steps": [{"i": 0, "type": "t", "content": "c"}]}
    )
    lines = [
        base[:-1] + ', "meta": ' + deep_text(64) + "}",
        base[:-1] + ', "meta": ' + deep_text(65) + "}",
        base[:-1] + ', "meta": ' + deep_text(900) + "}",
        "[" * 5_000 + "]" * 5_000,
    ]
    path = write_lines(tmp_path / "deep.jsonl", lines)
    err = io.StringIO()
    with pytest.raises(CommandError, match="3 invalid line"):
        call_command("import_traces", str(path), stdout=io.StringIO(), stderr=err)
    report = err.getvalue()
    assert f"line 2: meta: meta{'.a' * 64} nests deeper than 64 levels of objects and arrays." in report
    assert "line 3: meta: meta.a.a" in report
    assert "line 4: nests deeper than 64 levels of objects and arrays" in report
    run("import_traces", str(path), "--skip-invalid")
    assert json.dumps(Trace.objects.get().meta) == deep_text(64)


@pytest.mark.django_db
def test_chat_and_parquet_imports_refuse_metadata_past_the_depth_limit(tmp_path: Path) -> None:
    chat = write_lines(
        tmp_path / "c.jsonl", [json.dumps(conversation())[:-1] + ', "metadata": ' + deep_text(400) + "}"]
    )
    err = io.StringIO()
    with pytest.raises(CommandError, match="1 invalid line"):
        call_command("import_traces", str(chat), "--format", "chat", stdout=io.StringIO(), stderr=err)
    assert "nests deeper than 64 levels" in err.getvalue()
    table = {"prompts": ["p"], "trace_steps": [["s"]], "final_answer": ["a"], "metadata": ["[" * 5_000 + "]" * 5_000]}
    parquet = tmp_path / "deep.parquet"
    pq.write_table(pa.table(table), parquet)
    with pytest.raises(CommandError, match="1 invalid row"):
        run("import_traces", str(parquet), "--format", "parquet")
    assert Trace.objects.count() == 0
