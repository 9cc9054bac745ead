from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from traces.models import Score, Trace
from traces.services import trace_score
from traces.tests.factories import TraceFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client: Client, staff_user: Any) -> Client:
    client.force_login(staff_user)
    return client


CHANGELIST = "/admin/traces/trace/"


def test_changelist_shows_columns_without_per_row_queries(
    admin_client: Client, django_assert_max_num_queries: Any
) -> None:
    for trace in TraceFactory.create_batch(20):
        trace_score(trace=trace)
    Trace.objects.first().tags.create(name="gold")  # type: ignore[union-attr]
    with django_assert_max_num_queries(10):
        response = admin_client.get(CHANGELIST)
    assert response.status_code == 200
    html = response.content.decode()
    assert "gold" in html and "factory" in html and "baseline" in html


def test_changelist_filters_and_search(admin_client: Client) -> None:
    TraceFactory.create(prompt="needle here", status="approved")
    TraceFactory.create(prompt="hay")
    assert "needle here" in admin_client.get(CHANGELIST, {"q": "needle"}).content.decode()
    assert "hay" not in admin_client.get(CHANGELIST, {"status__exact": "approved"}).content.decode()


def test_source_filter_names_the_empty_source_and_filters_by_it(admin_client: Client) -> None:
    TraceFactory.create(prompt="sourceless trace", meta={"k": 1})
    TraceFactory.create(prompt="sourced trace", meta={"source": "game"})
    html = admin_client.get(CHANGELIST).content.decode()
    assert 'href="?source=">(none)</a>' in html
    assert 'href="?source=game">game</a>' in html
    html = admin_client.get(CHANGELIST, {"source": ""}).content.decode()
    assert "sourceless trace" in html and "sourced trace" not in html
    html = admin_client.get(CHANGELIST, {"source": "", "_facets": "True"}).content.decode()
    assert ">(none) (1)</a>" in html


def test_view_site_leads_to_the_api_docs(admin_client: Client) -> None:
    html = admin_client.get("/admin/").content.decode()
    assert '<a href="/api/docs">View site</a>' in html
    assert admin_client.get("/api/docs").status_code == 200


def test_change_page_shows_steps_meta_and_scores_read_only(admin_client: Client) -> None:
    trace = TraceFactory.create(
        steps=[{"i": 0, "type": "calc", "content": "two plus two"}], meta={"source": "x", "k": 1}
    )
    trace_score(trace=trace)
    html = admin_client.get(f"{CHANGELIST}{trace.id}/change/").content.decode()
    assert "<ol><li><small>[calc]</small>" in html
    assert "&quot;k&quot;: 1" in html
    assert 'name="prompt"' not in html
    assert 'name="status"' in html


def test_change_page_saves_curation_through_service(admin_client: Client) -> None:
    trace = TraceFactory.create()
    tag = trace.tags.create(name="keep")
    trace.tags.clear()
    response = admin_client.post(
        f"{CHANGELIST}{trace.id}/change/", {"status": "approved", "tags": [tag.id], "notes": "looks right"}
    )
    assert response.status_code == 302
    trace.refresh_from_db()
    assert trace.status == "approved" and trace.notes == "looks right"
    assert [t.name for t in trace.tags.all()] == ["keep"]


def _action(client: Client, action: str, traces: list[Trace], **extra: Any) -> Any:
    data = {"action": action, "_selected_action": [str(t.id) for t in traces], **extra}
    return client.post(CHANGELIST, data)


def test_actions_approve_reject_score(admin_client: Client) -> None:
    traces = TraceFactory.create_batch(2)
    _action(admin_client, "approve", traces)
    assert set(Trace.objects.values_list("status", flat=True)) == {"approved"}
    _action(admin_client, "reject", traces[:1])
    assert Trace.objects.get(id=traces[0].id).status == "rejected"
    _action(admin_client, "score_baseline", traces)
    assert Score.objects.count() == 2


def test_add_tag_action_asks_then_applies(admin_client: Client) -> None:
    traces = TraceFactory.create_batch(2)
    form = _action(admin_client, "add_tag", traces)
    assert form.status_code == 200 and b'name="tag"' in form.content
    bad = _action(admin_client, "add_tag", traces, apply="1", tag="not ok")
    assert bad.status_code == 200
    done = _action(admin_client, "add_tag", traces, apply="1", tag="reviewed")
    assert done.status_code == 302
    assert Trace.objects.filter(tags__name="reviewed").count() == 2


def test_compare_action_and_page(admin_client: Client) -> None:
    first, second = TraceFactory.create_batch(2)
    redirect = _action(admin_client, "compare_two", [first, second])
    assert redirect.status_code == 302
    page = admin_client.get(redirect["Location"])
    assert page.status_code == 200
    assert first.prompt in page.content.decode() and second.prompt in page.content.decode()
    one = _action(admin_client, "compare_two", [first])
    assert one.status_code == 302
    missing = admin_client.get(reverse("admin:traces_trace_compare"), {"base": "x", "other": "y"})
    assert missing.status_code == 302


def test_delete_through_admin(admin_client: Client) -> None:
    traces = TraceFactory.create_batch(2)
    response = _action(admin_client, "delete_selected", traces, post="yes")
    assert response.status_code == 302
    assert Trace.objects.count() == 0
    trace = TraceFactory.create()
    admin_client.post(f"{CHANGELIST}{trace.id}/delete/", {"post": "yes"})
    assert Trace.objects.count() == 0
