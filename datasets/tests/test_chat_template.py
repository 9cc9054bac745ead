"""``export_dataset --template-from MODEL_DIR``, with a stand-in for transformers' tokenizer.

The real tokenizer is exercised by ``training/tests/test_pretrained_real.py`` (marker ``training``).
"""

from __future__ import annotations

import io
import json
import sys
import types
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from datasets.services import dataset_build
from traces.generation import traces_generate

pytestmark = pytest.mark.django_db


class StandInTokenizer:
    """Renders turns as ``[role]content[/]`` and the generation prompt as ``[assistant]``."""

    def __init__(self, template: str | None) -> None:
        self.chat_template = template

    @classmethod
    def from_pretrained(cls, path: str, *, local_files_only: bool) -> StandInTokenizer:
        assert local_files_only
        config = json.loads((Path(path) / "tokenizer_config.json").read_text())
        return cls(config.get("chat_template"))

    def apply_chat_template(
        self, messages: list[dict[str, str]], *, tokenize: bool, add_generation_prompt: bool
    ) -> str:
        assert not tokenize
        text = "".join(f"[{m['role']}]{m['content']}[/]" for m in messages)
        return text + ("[assistant]" if add_generation_prompt else "")


@pytest.fixture
def stand_in_transformers(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    module = types.ModuleType("transformers")
    module.AutoTokenizer = StandInTokenizer  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "transformers", module)
    model = tmp_path / "my-model"
    model.mkdir()
    (model / "tokenizer_config.json").write_text(json.dumps({"chat_template": "stand-in"}))
    return model


@pytest.fixture
def dataset(db: Any) -> str:
    traces_generate(name="arithmetic", count=3, seed=1, level="easy")
    return dataset_build(name="small", version="1", filters={"generator": "arithmetic"}, limit=3).key


def export(*args: str) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("export_dataset", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_prompt_completion_in_the_models_template(stand_in_transformers: Path, dataset: str, tmp_path: Path) -> None:
    plain = [json.loads(line) for line in export(dataset, "--format", "prompt_completion")[0].splitlines()]
    target = tmp_path / "templated.jsonl"
    _, err = export(dataset, "--format", "prompt_completion", "--template-from", str(stand_in_transformers),
                    "--output", str(target))  # fmt: skip
    templated = [json.loads(line) for line in target.read_text().splitlines()]
    assert len(templated) == len(plain) == 3
    assert f"in the chat template of my-model: 3 line(s) -> {target}" in err
    for before, after in zip(plain, templated, strict=True):
        user = (
            before["prompt"].removeprefix("<start_of_turn>user\n").removesuffix("<end_of_turn>\n<start_of_turn>model\n")
        )
        reply = before["completion"].removesuffix("<end_of_turn>")
        assert after["prompt"] == f"[user]{user}[/][assistant]"
        assert after["prompt"] + after["completion"] == f"[user]{user}[/][assistant]{reply}[/]"
        assert after["id"] == before["id"]
        assert after["metadata"] == {**before["metadata"], "chat_template": "my-model"}


def test_chat_records_gain_the_rendered_conversation(stand_in_transformers: Path, dataset: str) -> None:
    out, _ = export(dataset, "--format", "chat", "--template-from", str(stand_in_transformers))
    for line in out.splitlines():
        record = json.loads(line)
        expected = "".join(f"[{m['role']}]{m['content']}[/]" for m in record["messages"])
        assert record["text"] == expected


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--format", "trace"), "renders prompt_completion and chat records, not trace"),
        (("--format", "chat", "--verify"), "no --verify or .parquet output"),
        (("--format", "chat", "--output", "x.parquet"), "no --verify or .parquet output"),
    ],
)
def test_refused_combinations(stand_in_transformers: Path, dataset: str, args: tuple[str, ...], message: str) -> None:
    with pytest.raises(CommandError, match=message):
        export(dataset, *args, "--template-from", str(stand_in_transformers))


def test_a_directory_without_a_template_is_refused(stand_in_transformers: Path, dataset: str, tmp_path: Path) -> None:
    (stand_in_transformers / "tokenizer_config.json").write_text("{}")
    with pytest.raises(CommandError, match="has no chat template"):
        export(dataset, "--format", "chat", "--template-from", str(stand_in_transformers))
    with pytest.raises(CommandError, match=r"nowhere/tokenizer_config\.json not found"):
        export(dataset, "--format", "chat", "--template-from", str(tmp_path / "nowhere"))
