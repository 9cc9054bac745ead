from __future__ import annotations

from pathlib import Path

import yaml
from django.core.management import call_command


def test_schema_is_valid_openapi_without_warnings(tmp_path: Path) -> None:
    target = tmp_path / "schema.yaml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(target))
    document = yaml.safe_load(target.read_text())
    paths = document["paths"]
    for path in ("/api/traces", "/api/datasets/build", "/api/training/runs", "/api/eval/runs", "/api/generators"):
        assert path in paths
    schemas = document["components"]["schemas"]
    assert schemas["RunStatusEnum"]["enum"] == ["pending", "running", "succeeded", "failed", "cancelled"]
