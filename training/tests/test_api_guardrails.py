"""Training configs sent through the API cannot reach the server's files or ask for absurd runs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from django.test import override_settings
from rest_framework.test import APIClient

from datasets.models import Dataset
from training.models import TrainingRun

pytestmark = pytest.mark.django_db

SECRET_LINE = "database_password: hunter2"


def post(client: APIClient, body: Any) -> Any:
    return client.post("/api/training/runs", data=json.dumps(body), content_type="application/json")


@pytest.fixture
def outside_yaml(tmp_path: Path) -> Path:
    path = tmp_path / "elsewhere" / "private.yaml"
    path.parent.mkdir()
    path.write_text(f"{SECRET_LINE}\nmodel: {{mode: tiny}}\n", encoding="utf-8")
    return path


@pytest.mark.parametrize("preset", ["ABSOLUTE", "../../../../{rel}", "sft_tiny.yaml", "..", ""])
def test_preset_is_a_closed_choice_that_reads_no_file(
    api_client: APIClient, arith_dataset: Dataset, outside_yaml: Path, preset: str
) -> None:
    value = str(outside_yaml.with_suffix("")) if preset == "ABSOLUTE" else preset.format(rel=outside_yaml.stem)
    response = post(api_client, {"dataset_key": "arith-1.0", "preset": value})
    assert response.status_code == 400
    text = response.content.decode()
    assert "preset" in response.json()
    assert "hunter2" not in text and "database_password" not in text
    assert "sft_tiny" in text  # the valid choices are listed
    assert not TrainingRun.objects.exists()


def _checkpoint_config(checkpoint: str, tokenizer: str, model_config: str) -> dict[str, Any]:
    return {
        "model": {
            "mode": "checkpoint",
            "checkpoint_path": checkpoint,
            "tokenizer_path": tokenizer,
            "model_config_path": model_config,
        }
    }


def test_inline_config_model_files_must_lie_under_model_roots(
    api_client: APIClient, arith_dataset: Dataset, outside_yaml: Path, tmp_path: Path
) -> None:
    root = tmp_path / "models"
    (root / "gemma").mkdir(parents=True)
    (root / "escape").symlink_to(outside_yaml.parent)
    inside = str(root / "gemma")
    with override_settings(MODEL_ROOTS=[root]):
        for field, bad in [
            ("checkpoint_path", str(outside_yaml)),
            ("tokenizer_path", f"{inside}/../../elsewhere/private.yaml"),
            ("model_config_path", "escape/private.yaml"),
            ("checkpoint_path", "/etc/passwd"),
        ]:
            paths = {"checkpoint_path": inside, "tokenizer_path": inside, "model_config_path": inside, field: bad}
            config = _checkpoint_config(paths["checkpoint_path"], paths["tokenizer_path"], paths["model_config_path"])
            response = post(api_client, {"dataset_key": "arith-1.0", "config": config})
            assert response.status_code == 400, (field, bad)
            message = response.json()["config"][0]
            assert f"model.{field}" in message and "MODEL_ROOTS" in message
            assert "hunter2" not in response.content.decode()
        accepted = post(api_client, {"dataset_key": "arith-1.0", "config": _checkpoint_config(inside, "gemma", inside)})
    assert accepted.status_code == 202, accepted.json()
    stored = accepted.json()["training_config"]["model"]
    assert stored["checkpoint_path"] == inside
    assert TrainingRun.objects.count() == 1


@pytest.mark.parametrize(
    ("config", "named"),
    [
        ({"model": {"tiny": {"num_layers": 1000}}}, "model.tiny.num_layers must be <= 64"),
        ({"training": {"max_steps": 10**9}}, "training.max_steps must be <= 1000000"),
        ({"training": {"batch_size": 100_000}}, "training.batch_size must be <= 1024"),
        ({"model": {"tiny": {"embed_dim": 10**6}}}, "model.tiny.embed_dim must be <= 32768"),
        ({"model": {"tiny": {"num_heads": 512, "num_kv_heads": 1}}}, "model.tiny.num_heads must be <= 128"),
        ({"tokenizer": {"vocab_size": 10**7}}, "tokenizer.vocab_size must be <= 262144"),
        ({"training": {"max_seq_len": 10**6}}, "training.max_seq_len must be <= 32768"),
        ({"eval": {"max_new_tokens": 10**5}}, "eval.max_new_tokens must be <= 4096"),
    ],
)
def test_numeric_fields_have_upper_bounds(
    api_client: APIClient, arith_dataset: Dataset, config: dict[str, Any], named: str
) -> None:
    response = post(api_client, {"dataset_key": "arith-1.0", "config": config})
    assert response.status_code == 400
    assert named in response.json()["config"][0]
    assert not TrainingRun.objects.exists()


def test_the_schema_lists_the_presets(api_client: APIClient) -> None:
    import yaml

    schema = yaml.safe_load(api_client.get("/api/schema").content)
    preset = schema["components"]["schemas"]["TrainingRunCreateInputRequest"]["properties"]["preset"]
    ref = preset["allOf"][0]["$ref"].rsplit("/", 1)[1]
    presets = ["dpo_tiny", "grpo_steps", "grpo_tiny", "sft_hard", "sft_tiny"]
    assert schema["components"]["schemas"][ref]["enum"] == presets


def test_command_line_configs_keep_their_freedom(arith_dataset: Dataset, tmp_path: Path) -> None:
    from training.services import training_run_create

    elsewhere = tmp_path / "own" / "model"
    config = tmp_path / "own.yaml"
    config.write_text(
        "model:\n  mode: checkpoint\n"
        f"  checkpoint_path: {elsewhere}\n  tokenizer_path: {elsewhere}\n  model_config_path: {elsewhere}\n",
        encoding="utf-8",
    )
    run = training_run_create(dataset_key="arith-1.0", config_path=str(config), dry_run=True)
    assert run.training_config["model"]["checkpoint_path"] == str(elsewhere)
