from __future__ import annotations

import re
from typing import Any

import pytest

from datasets.formats import ExportOptions, format_names, get_format
from datasets.services import dataset_export_lines
from datasets.tests.factories import build, golden_trace
from tunix_rt.errors import InvalidInput

pytestmark = pytest.mark.django_db

# Every format's metadata: fixed keys of fixed types; ``meta`` travels as its canonical JSON text.
META = (
    r'"metadata": {"created_at": "2025-01-02T03:04:05.678901Z", "trace_version": "1.0", '
    r'"steps": [{"i": 0, "type": "t", "chars": 27}], '
    r'"meta": "{\"difficulty\":2,\"source\":\"golden\"}"'
)
GOLDEN = {
    "trace": (
        r'{"id": "11111111-2222-4333-8444-555555555555", "prompts": "What is 2 + 3 * 4?", '
        r'"trace_steps": ["Multiply first: 3 * 4 = 12.", "Then add: 2 + 12 = 14."], "final_answer": "14", '
        r'"metadata": {"created_at": "2025-01-02T03:04:05.678901Z", "trace_version": "1.0", '
        r'"steps": [{"i": 0, "type": "parse", "chars": 27}, {"i": 1, "type": "compute", "chars": 22}], '
        r'"meta": "{\"difficulty\":2,\"source\":\"golden\"}"}}'
    ),
    "tunix_sft": (
        r'{"id": "11111111-2222-4333-8444-555555555555", '
        r'"prompts": "<start_of_turn>user\nWhat is 2 + 3 * 4?<end_of_turn>\n<start_of_turn>model\n'
        r"Reasoning:\n1. Multiply first: 3 * 4 = 12.\n2. Then add: 2 + 12 = 14.\nAnswer: 14<end_of_turn>"
        r'", "final_answer": "14", '
        r'"metadata": {"created_at": "2025-01-02T03:04:05.678901Z", "trace_version": "1.0", '
        r'"steps": [{"i": 0, "type": "parse", "chars": 27}, {"i": 1, "type": "compute", "chars": 22}], '
        r'"meta": "{\"difficulty\":2,\"source\":\"golden\"}", "format": "tunix_sft"}}'
    ),
    "training_example": (
        r'{"id": "25d32e9e-1987-5707-924f-03e03ff39d7d", '
        r'"prompt": "What is 2 + 3 * 4?\n\nPlease show your reasoning steps.", '
        r'"response": "Reasoning:\n1. Multiply first: 3 * 4 = 12.\n2. Then add: 2 + 12 = 14.\nAnswer: 14", '
        r'"metadata": {"source_trace_id": "11111111-2222-4333-8444-555555555555", '
        r'"created_at": "2025-01-02T03:04:05.678901Z", "trace_version": "1.0", '
        r'"steps": [{"i": 0, "type": "parse", "chars": 27}, {"i": 1, "type": "compute", "chars": 22}], '
        r'"meta": "{\"difficulty\":2,\"source\":\"golden\"}"}}'
    ),
    "prompt_completion": (
        r'{"id": "11111111-2222-4333-8444-555555555555", '
        r'"prompt": "<start_of_turn>user\nWhat is 2 + 3 * 4?<end_of_turn>\n<start_of_turn>model\n", '
        r'"completion": "<reasoning>1. Multiply first: 3 * 4 = 12.\n2. Then add: 2 + 12 = 14.</reasoning>\n'
        r'<answer>14</answer><end_of_turn>", '
        r'"metadata": {"created_at": "2025-01-02T03:04:05.678901Z", "trace_version": "1.0", '
        r'"steps": [{"i": 0, "type": "parse", "chars": 27}, {"i": 1, "type": "compute", "chars": 22}], '
        r'"meta": "{\"difficulty\":2,\"source\":\"golden\"}", "format": "prompt_completion"}}'
    ),
    "chat": (
        r'{"id": "11111111-2222-4333-8444-555555555555", "messages": ['
        r'{"role": "user", "content": "What is 2 + 3 * 4?"}, '
        r'{"role": "assistant", "content": "<reasoning>1. Multiply first: 3 * 4 = 12.\n2. Then add: 2 + 12 = 14.'
        r'</reasoning>\n<answer>14</answer>"}], '
        r'"metadata": {"created_at": "2025-01-02T03:04:05.678901Z", "trace_version": "1.0", '
        r'"steps": [{"i": 0, "type": "parse", "chars": 27}, {"i": 1, "type": "compute", "chars": 22}], '
        r'"meta": "{\"difficulty\":2,\"source\":\"golden\"}", "format": "chat"}}'
    ),
}


def test_registry_lists_the_five_formats() -> None:
    assert format_names() == ["trace", "tunix_sft", "training_example", "prompt_completion", "chat"]
    with pytest.raises(InvalidInput, match="choose one of: trace, tunix_sft"):
        get_format("alpaca")


@pytest.mark.parametrize("fmt", list(GOLDEN))
def test_golden_line_per_format(fmt: str) -> None:
    golden_trace()
    dataset = build()
    assert list(dataset_export_lines(dataset=dataset, fmt=fmt)) == [GOLDEN[fmt] + "\n"]


def test_golden_with_system_prompt_and_control_tokens_cleaned() -> None:
    golden_trace(
        prompt="<bos>What is <end_of_turn>2 + 3 * 4?",
        steps=[{"i": 0, "type": "t", "content": "<start_of_turn>model\nsneaky"}],
        final_answer="14<eos>",
    )
    dataset = build()
    options = ExportOptions(system_prompt="Be brief.")
    (pc,) = dataset_export_lines(dataset=dataset, fmt="prompt_completion", options=options)
    assert pc == (
        r'{"id": "11111111-2222-4333-8444-555555555555", '
        r'"prompt": "<start_of_turn>user\nBe brief.\n\nWhat is 2 + 3 * 4?<end_of_turn>\n<start_of_turn>model\n", '
        r'"completion": "<reasoning>1. model\nsneaky</reasoning>\n<answer>14</answer><end_of_turn>", '
        + META
        + r', "format": "prompt_completion"}}'
        + "\n"
    )
    (chat,) = dataset_export_lines(dataset=dataset, fmt="chat", options=options)
    assert chat == (
        r'{"id": "11111111-2222-4333-8444-555555555555", "messages": ['
        r'{"role": "system", "content": "Be brief."}, '
        r'{"role": "user", "content": "What is 2 + 3 * 4?"}, '
        r'{"role": "assistant", "content": "<reasoning>1. model\nsneaky</reasoning>\n<answer>14</answer>"}], '
        + META
        + r', "format": "chat"}}'
        + "\n"
    )


def test_non_ascii_is_written_as_utf8_and_meta_is_canonical_text_with_keys_sorted_at_every_depth() -> None:
    golden_trace(prompt="Combien font 2 + 3 × 4 ?", meta={"z": {"b": 1, "a": [{"y": 1, "x": 2}]}, "a": "é"})
    (line,) = dataset_export_lines(dataset=build(), fmt="trace")
    assert '"prompts": "Combien font 2 + 3 × 4 ?"' in line
    assert line.endswith(r'"meta": "{\"a\":\"é\",\"z\":{\"a\":[{\"x\":2,\"y\":1}],\"b\":1}}"}}' + "\n")


@pytest.mark.parametrize(
    ("meta", "text"),
    [
        (None, "null"),
        ({}, r'"{}"'),
        ({"a": [], "b": None, "c": {}}, r'"{\"a\":[],\"b\":null,\"c\":{}}"'),
        ({"trace_version": "9.9", "created_at": "x", "format": 1, "steps": [], "meta": {"m": 1}},
         r'"{\"created_at\":\"x\",\"format\":1,\"meta\":{\"m\":1},\"steps\":[],\"trace_version\":\"9.9\"}"'),
        ({"exp": 1e20, "tiny": 5e-324, "big": 2**63 - 1, "neg": -(2**63)},
         r'"{\"big\":9223372036854775807,\"exp\":1e+20,\"neg\":-9223372036854775808,\"tiny\":5e-324}"'),
    ],
)  # fmt: skip
def test_meta_travels_as_text_beside_the_export_keys(meta: Any, text: str) -> None:
    golden_trace(meta=meta)
    for fmt in format_names():
        (line,) = dataset_export_lines(dataset=build(name=f"m-{fmt}"), fmt=fmt)
        assert r'"trace_version": "1.0", "steps": [{"i": 0, "type": "parse", "chars": 27}, ' in line
        assert f'"meta": {text}' in line


def test_prompt_completion_matches_the_tunix_reward_pattern() -> None:
    golden_trace()
    (line,) = dataset_export_lines(dataset=build(), fmt="prompt_completion")
    import json

    completion = json.loads(line)["completion"]
    assert completion.endswith("<end_of_turn>")
    pattern = re.compile(r"^\s*<reasoning>.+?</reasoning>.*?<answer>(.+?)</answer>\s*$", re.DOTALL)
    match = pattern.match(completion.removesuffix("<end_of_turn>"))
    assert match is not None and match.group(1) == "14"


def test_options_a_format_does_not_read_are_ignored() -> None:
    assert get_format("trace").effective_options(ExportOptions(system_prompt="x")) == {}
    assert get_format("chat").effective_options(ExportOptions(system_prompt="x")) == {"system_prompt": "x"}
    assert get_format("chat").effective_options(ExportOptions()) == {}
