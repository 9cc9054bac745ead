from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from datasets import selectors
from datasets.models import Dataset
from datasets.tests.factories import aged_traces, build, golden_trace
from traces.models import Trace

pytestmark = pytest.mark.django_db

CHANGELIST = "/admin/datasets/dataset/"
TRACES = "/admin/traces/trace/"


@pytest.fixture
def admin_client(client: Client, staff_user: Any) -> Client:
    client.force_login(staff_user)
    return client


def test_list_and_read_only_detail_with_stats_downloads_and_preview(admin_client: Client) -> None:
    golden_trace(prompt="Add <b>2</b> and 3")
    dataset = build(name="gold", version="1.0")
    listing = admin_client.get(CHANGELIST).content.decode()
    assert "gold-1.0" in listing and "Add dataset" not in listing
    admin_client.get("/api/datasets/gold-1.0/export.jsonl", {"format": "trace"}).getvalue()
    html = admin_client.get(f"{CHANGELIST}{dataset.pk}/change/").content.decode()
    assert "avg_total_chars" in html and "max_step_count" in html
    for fmt in ["trace", "tunix_sft", "training_example", "prompt_completion", "chat"]:
        assert f'href="/api/datasets/gold-1.0/export.jsonl?format={fmt}"' in html
    assert 'class="preview-prompt"' in html and 'class="preview-completion"' in html
    assert "Add &lt;b&gt;2&lt;/b&gt; and 3&lt;end_of_turn&gt;" in html
    assert "&lt;answer&gt;14&lt;/answer&gt;&lt;end_of_turn&gt;" in html
    assert "<b>2</b>" not in html
    assert "No export computed yet." not in html
    assert 'name="name"' not in html


def test_preview_when_every_trace_is_gone(admin_client: Client) -> None:
    dataset = build(trace_ids=[t.id for t in aged_traces(1)], limit=1)
    Trace.objects.all().delete()
    html = admin_client.get(f"{CHANGELIST}{dataset.pk}/change/").content.decode()
    assert "None of this dataset&#x27;s traces exist any more." in html
    assert "No export computed yet." in html


def _action(client: Client, traces: list[Trace], **extra: Any) -> Any:
    data = {"action": "build_dataset", "_selected_action": [str(t.id) for t in traces], **extra}
    return client.post(TRACES, data)


def test_build_dataset_action_asks_then_builds_from_the_selection(admin_client: Client) -> None:
    traces = aged_traces(4)
    form = _action(admin_client, traces[:3])
    assert form.status_code == 200 and b'name="name"' in form.content and b'name="version"' in form.content
    assert _action(admin_client, traces[:3], apply="1", name="bad name", version="1").status_code == 200
    done = _action(admin_client, traces[:3], apply="1", name="picked", version="1.0")
    assert done.status_code == 302
    dataset = selectors.dataset_get(key="picked-1.0")
    assert selectors.dataset_trace_ids(dataset=dataset) == [traces[2].id, traces[1].id, traces[0].id]
    assert "Built dataset" in admin_client.get(done["Location"]).content.decode()
    again = _action(admin_client, traces[:1], apply="1", name="picked", version="1.0")
    assert "already exists" in admin_client.get(again["Location"]).content.decode()
    assert Dataset.objects.count() == 1


def test_build_dataset_action_refuses_too_many(admin_client: Client, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("datasets.admin_actions.LIMIT_MAX", 2)
    traces = aged_traces(3)
    done = _action(admin_client, traces, apply="1", name="big", version="1")
    assert "at most 2 traces" in admin_client.get(done["Location"]).content.decode()
    assert Dataset.objects.count() == 0


def test_change_page_shows_the_splits(admin_client: Client) -> None:
    for n in range(4):
        aged_traces(2, prompt=f"Same question {n}")
    dataset = build(name="sp", version="1", splits={"train": 0.75, "test": 0.25})
    html = admin_client.get(f"{CHANGELIST}{dataset.pk}/change/").content.decode()
    assert "<td>train</td><td>0.75</td><td>6</td><td>3</td>" in html
    assert "grouped by prompt; groups in more than one split: 0" in html
    assert f'href="{CHANGELIST}{dataset.pk}/diff/"' in html
    plain = build(name="plain", version="1")
    assert "Built without splits." in admin_client.get(f"{CHANGELIST}{plain.pk}/change/").content.decode()


def test_diff_page_shows_counts_ids_and_stats_side_by_side(admin_client: Client) -> None:
    traces = aged_traces(5)
    base = build(name="d", version="1", trace_ids=[t.id for t in traces[:3]])
    build(name="d", version="2", trace_ids=[t.id for t in traces[1:]])
    form = admin_client.get(f"{CHANGELIST}{base.pk}/diff/").content.decode()
    assert 'name="against"' in form and '<option value="d-2">' in form and "diff-added-count" not in form
    html = admin_client.get(f"{CHANGELIST}{base.pk}/diff/", {"against": "d-2"}).content.decode()
    assert '<td class="diff-added-count">2</td>' in html
    assert '<td class="diff-removed-count">1</td>' in html
    assert '<td class="diff-common-count">2</td>' in html
    assert f"<code>{traces[4].id}</code>" in html and f"<code>{traces[0].id}</code>" in html
    assert "<tr><th>trace_count</th><td>3</td><td>4</td></tr>" in html
    assert admin_client.get(f"{CHANGELIST}{base.pk}/diff/", {"against": "nope-1"}).status_code == 404
    assert admin_client.get(f"{CHANGELIST}999999/diff/").status_code == 404
    assert admin_client.get(f"{CHANGELIST}abc/diff/").status_code == 404
