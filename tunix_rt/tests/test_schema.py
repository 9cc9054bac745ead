from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from django.core.management import call_command
from drf_spectacular.generators import SchemaGenerator

from traces import ungar
from traces.generators_api import UngarViewSet


def test_schema_is_valid_openapi_without_warnings(tmp_path: Path) -> None:
    target = tmp_path / "schema.yaml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(target))
    document = yaml.safe_load(target.read_text())
    paths = document["paths"]
    for path in ("/api/traces", "/api/datasets/build", "/api/training/runs", "/api/eval/runs", "/api/generators"):
        assert path in paths
    schemas = document["components"]["schemas"]
    assert schemas["RunStatusEnum"]["enum"] == ["pending", "running", "succeeded", "failed", "cancelled"]


def schema_document() -> dict[str, Any]:
    return dict(SchemaGenerator().get_schema(request=None, public=True))


def operations(document: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in document["paths"].items():
        for method, operation in item.items():
            yield path, method, operation


def resolve(document: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    ref = schema.get("$ref")
    return document["components"]["schemas"][ref.rsplit("/", 1)[1]] if ref else schema


def test_list_endpoints_are_documented_as_their_envelope() -> None:
    document = schema_document()
    for path in ("/api/traces", "/api/datasets", "/api/training/runs", "/api/eval/sets", "/api/eval/runs"):
        body = document["paths"][path]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
        envelope = resolve(document, body)
        assert envelope["type"] == "object", path
        assert set(envelope["required"]) >= {"data", "pagination"}
        assert envelope["properties"]["data"]["type"] == "array"


def test_every_operation_documents_the_status_codes_it_can_answer_with_a_json_body() -> None:
    document = schema_document()
    for path, method, operation in operations(document):
        codes = set(operation["responses"])
        label = f"{method.upper()} {path}"
        assert "503" in codes, label
        if path != "/api/health":
            assert {"401", "403"} <= codes, label
        if "requestBody" in operation:
            assert {"400", "411", "413", "415"} <= codes, label
        if any(p["in"] == "path" for p in operation.get("parameters", [])):
            assert "404" in codes, label
        for code, response in operation["responses"].items():
            if code >= "400" and path != "/api/health":
                schema = next(iter(response["content"].values()))["schema"]
                if code == "400":
                    assert schema["$ref"].endswith("/ValidationError"), (label, code)
                else:
                    assert set(resolve(document, schema)["properties"]) >= {"detail", "code"}, (label, code)
    assert {"409", "422"} <= set(document["paths"]["/api/traces/batch"]["post"]["responses"])
    assert "409" in document["paths"]["/api/datasets/build"]["post"]["responses"]


def test_rules_the_server_enforces_are_in_the_schema() -> None:
    document = schema_document()
    schemas = document["components"]["schemas"]
    batch = document["paths"]["/api/traces/batch"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert (batch["minItems"], batch["maxItems"]) == (1, 1000)
    steps = schemas["TraceInputRequest"]["properties"]["steps"]
    assert (steps["minItems"], steps["maxItems"]) == (1, 1000)
    assert schemas["TraceInputRequest"]["properties"]["meta"]["type"] == "object"
    build = schemas["DatasetBuildInputRequest"]["properties"]
    assert build["dataset_name"]["pattern"] == build["dataset_version"]["pattern"] == "^[A-Za-z0-9._-]+$"
    assert schemas["LevelEnum"]["enum"] == ["easy", "hard", "medium", "standard"]
    generate = document["paths"]["/api/generators/{name}/generate"]["post"]["parameters"]
    assert generate[0]["schema"]["enum"] == ["arithmetic", "high_card_duel"]
    config = schemas["TrainingRunCreateInputRequest"]["properties"]["config"]
    assert config["additionalProperties"] is False
    assert config["properties"]["training"]["properties"]["seed"] == {
        "type": "integer", "minimum": 0, "maximum": 2**31 - 1,
    }  # fmt: skip
    assert config["properties"]["training"]["additionalProperties"] is False
    key = document["paths"]["/api/traces"]["post"]["parameters"][0]
    assert (key["name"], key["in"], key["schema"]["maxLength"]) == ("Idempotency-Key", "header", 255)
    for parameter in document["paths"]["/api/traces"]["get"]["parameters"]:
        if parameter["schema"].get("type") == "string" and "enum" not in parameter["schema"]:
            assert parameter["schema"]["minLength"] == 1, parameter["name"]
    offset = next(p for p in document["paths"]["/api/datasets"]["get"]["parameters"] if p["name"] == "offset")
    assert offset["schema"]["maximum"] == 1_000_000_000


def test_ungar_generation_is_documented_only_when_ungar_is_installed(monkeypatch: pytest.MonkeyPatch) -> None:
    assert "/api/ungar/high-card-duel/generate" not in schema_document()["paths"]
    monkeypatch.setattr(ungar, "ungar_installed", lambda: True)
    monkeypatch.setitem(UngarViewSet.available_actions, "high_card_duel_generate", ungar.ungar_installed)
    assert "501" in schema_document()["paths"]["/api/ungar/high-card-duel/generate"]["post"]["responses"]


def _properties(document: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for name, component in document["components"]["schemas"].items():
        for field, schema in component.get("properties", {}).items():
            yield name, field, schema


def test_a_generated_client_can_follow_the_schema() -> None:
    document = schema_document()
    traces = {p["name"]: p for p in document["paths"]["/api/traces"]["get"]["parameters"]}
    assert "default" not in traces["offset"]["schema"]  # a client that sends offset=0 cannot page by cursor
    meta = traces["meta_filters"]
    assert (meta["style"], meta["explode"], meta["schema"]["type"]) == ("form", True, "object")
    for path in (
        "/api/datasets/{key}/export.jsonl",
        "/api/preferences/export.jsonl",
        "/api/ungar/high-card-duel/export.jsonl",
    ):
        content = document["paths"][path]["get"]["responses"]["200"]["content"]
        assert content["application/x-ndjson"]["schema"] == {"type": "string"}, path
        assert content["application/octet-stream"]["schema"] == {"type": "string", "format": "binary"}, path
    timestamps = [(n, f, s) for n, f, s in _properties(document) if f.endswith("_at")]
    assert ("DatasetManifest", "created_at") in {(n, f) for n, f, _ in timestamps}
    for name, field, schema in timestamps:
        assert schema.get("format") == "date-time", (name, field)
    missing = document["paths"]["/api/traces/compare"]["get"]["responses"]["404"]["content"]["application/json"]
    side = resolve(document, missing["schema"])
    assert set(side["properties"]) == {"detail", "code", "side"}
    assert resolve(document, side["properties"]["side"]["allOf"][0])["enum"] == ["base", "other"]


def test_descriptions_are_written_for_users_not_maintainers() -> None:
    document = schema_document()
    for path, method, operation in operations(document):
        description = operation.get("description", "")
        assert "``" not in description and "serializer" not in description.lower(), (method, path)
        assert operation.get("summary") and (description or path == "/api/health"), (method, path)
    for name, component in document["components"]["schemas"].items():
        assert "``" not in component.get("description", ""), name
    assert "description" not in document["components"]["schemas"]["TraceListItem"]
