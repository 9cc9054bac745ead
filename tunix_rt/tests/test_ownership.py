from __future__ import annotations

import json
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from rest_framework.test import APIClient

from datasets.models import Dataset
from traces.models import Trace
from traces.tests.factories import make_payload
from tunix_rt.models import AuditEntry

pytestmark = pytest.mark.django_db


def post(client: APIClient, url: str, body: Any) -> Any:
    return client.post(url, data=json.dumps(body), content_type="application/json")


def test_api_objects_record_and_show_their_creator(api_client: APIClient) -> None:
    trace_id = post(api_client, "/api/traces", make_payload(1)).json()["id"]
    post(api_client, "/api/traces/batch", [make_payload(2)])
    assert api_client.get(f"/api/traces/{trace_id}").json()["created_by"] == "curator"
    assert {row["created_by"] for row in api_client.get("/api/traces").json()["data"]} == {"curator"}

    assert post(api_client, "/api/datasets/build", {"dataset_name": "own", "dataset_version": "1"}).status_code == 201
    assert api_client.get("/api/datasets/own-1").json()["created_by"] == "curator"
    assert api_client.get("/api/datasets").json()["data"][0]["created_by"] == "curator"

    item = {"id": "q", "prompt": "What is 5 + 5?", "expected_answer": "10"}
    assert post(api_client, "/api/eval/sets", {"name": "mine", "items": [item]}).status_code == 201
    assert api_client.get("/api/eval/sets/mine").json()["created_by"] == "curator"
    assert api_client.get("/api/eval/sets").json()["data"][0]["created_by"] == "curator"

    run = post(api_client, "/api/training/runs", {"dataset_key": "own-1"}).json()
    assert run["created_by"] == "curator"
    assert api_client.get(f"/api/training/runs/{run['run_id']}").json()["created_by"] == "curator"
    assert api_client.get("/api/training/runs").json()["data"][0]["created_by"] == "curator"


def test_command_objects_have_no_creator_unless_given_one(tmp_path: Path, user: Any) -> None:
    lines = tmp_path / "t.jsonl"
    lines.write_text("\n".join(json.dumps(make_payload(n)) for n in range(2)) + "\n", encoding="utf-8")
    call_command("import_traces", str(lines), stdout=StringIO())
    assert set(Trace.objects.values_list("created_by", flat=True)) == {None}
    call_command("generate_traces", "arithmetic", "--count", "3", "--user", "curator", stdout=StringIO())
    assert Trace.objects.filter(created_by=user).count() == 3
    call_command("build_dataset", "--name", "cli", "--dataset-version", "1", "--user", "curator", stdout=StringIO())
    assert Dataset.objects.get(key="cli-1").created_by == user
    assert AuditEntry.objects.filter(action="build", actor=user, object_id="cli-1").exists()
    with pytest.raises(CommandError, match="No user named 'ghost'"):
        call_command("score_traces", "--user", "ghost", stdout=StringIO())


def test_admin_lists_and_filters_by_creator(client: Any, staff_user: Any, user: Any, api_client: APIClient) -> None:
    post(api_client, "/api/traces", make_payload(7, prompt="Made through the API?"))
    call_command("generate_traces", "arithmetic", "--count", "1", stdout=StringIO())
    client.force_login(staff_user)
    page = client.get("/admin/traces/trace/")
    assert page.status_code == 200 and b"created by" in page.content
    mine = client.get("/admin/traces/trace/", {"created_by__id__exact": user.pk})
    assert b"Made through the API?" in mine.content
    assert mine.content.count(b'class="action-checkbox"') == 1


def test_dataset_and_run_admin_pages_show_and_filter_the_creator(
    client: Any, staff_user: Any, user: Any, api_client: APIClient
) -> None:
    post(api_client, "/api/traces/batch", [make_payload(n) for n in range(2)])
    post(api_client, "/api/datasets/build", {"dataset_name": "seen", "dataset_version": "1"})
    run = post(api_client, "/api/training/runs", {"dataset_key": "seen-1"}).json()
    item = {"id": "q", "prompt": "What is 1 + 1?", "expected_answer": "2"}
    post(api_client, "/api/eval/sets", {"name": "held", "items": [item]})
    client.force_login(staff_user)
    for url in ("/admin/datasets/dataset/", "/admin/training/trainingrun/", "/admin/training/evalset/"):
        page = client.get(url, {"created_by__id__exact": user.pk})
        assert page.status_code == 200, url
        assert b"curator" in page.content, url
    page = client.get(f"/admin/training/trainingrun/{run['run_id']}/change/")
    assert b"curator" in page.content
