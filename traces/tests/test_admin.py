from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.contrib.messages import get_messages
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from traces.models import Score, Trace
from traces.services import trace_score, trace_update_curation
from traces.tests.factories import TraceFactory
from tunix_rt.models import AuditEntry

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


def test_view_site_leads_to_the_landing_page(admin_client: Client) -> None:
    html = admin_client.get("/admin/").content.decode()
    assert '<a href="/">View site</a>' in html
    assert admin_client.get("/").status_code == 200


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


def test_select_across_form_carries_filters_not_ids(admin_client: Client, settings: Any) -> None:
    settings.DATA_UPLOAD_MAX_NUMBER_FIELDS = 20  # far fewer than the traces selected
    TraceFactory.create_batch(30, meta={"source": "many"})
    TraceFactory.create(meta={"source": "other"})
    url = f"{CHANGELIST}?source__exact=many"
    page_ids = [str(pk) for pk in Trace.objects.filter(source="many").values_list("id", flat=True)[:2]]
    data = {"action": "add_tag", "select_across": "1", "_selected_action": page_ids}
    form = admin_client.post(url, data)
    html = form.content.decode()
    assert form.status_code == 200 and "30 trace(s) selected (all traces matching the filters)" in html
    assert html.count('name="_selected_action"') == 2 and 'name="select_across" value="1"' in html
    done = admin_client.post(url, {**data, "apply": "1", "tag": "bulk"})
    assert done.status_code == 302
    assert Trace.objects.filter(tags__name="bulk").count() == 30
    removed = admin_client.post(url, {**data, "action": "remove_tag", "apply": "1", "tag": "bulk"})
    assert removed.status_code == 302 and Trace.objects.filter(tags__name="bulk").count() == 0
    admin_client.post(url, {**data, "action": "approve"})
    assert Trace.objects.filter(status="approved").count() == 30
    assert Trace.objects.get(source="other").status == "pending"


def test_keep_oldest_duplicate_action_and_filter(admin_client: Client) -> None:
    traces = [TraceFactory.create(prompt="dup", final_answer="x") for _ in range(3)]
    single = TraceFactory.create()
    assert "dup" in admin_client.get(CHANGELIST, {"duplicates": "yes"}).content.decode()
    _action(admin_client, "keep_oldest_duplicate", [*traces, single])
    statuses = sorted(Trace.objects.filter(prompt="dup").values_list("status", flat=True))
    assert statuses == ["pending", "rejected", "rejected"]
    assert Trace.objects.get(pk=single.pk).status == "pending"


def test_verify_action_and_verdict_filters(admin_client: Client) -> None:
    right = TraceFactory.create(prompt="What is 2 + 2?", final_answer="4")
    wrong = TraceFactory.create(prompt="What is 2 + 3?", final_answer="6")
    poem = TraceFactory.create(prompt="A poem, please.")
    response = _action(admin_client, "verify", [right, wrong, poem])
    assert response.status_code == 302
    assert Score.objects.filter(criteria="answer_match").count() == 2
    assert Score.objects.filter(criteria="format_match").count() == 3
    assert Score.objects.filter(criteria="step_match").count() == 2
    wrong_page = admin_client.get(CHANGELIST, {"answer": "wrong"}).content.decode()
    assert "What is 2 + 3?" in wrong_page and "What is 2 + 2?" not in wrong_page
    assert "A poem" in admin_client.get(CHANGELIST, {"answer": "unscored"}).content.decode()
    assert "What is 2 + 2?" in admin_client.get(CHANGELIST, {"answer": "right"}).content.decode()
    assert "What is" not in admin_client.get(CHANGELIST, {"format": "wrong"}).content.decode()


def test_changelist_links_to_the_review_queue_with_its_filters(admin_client: Client) -> None:
    TraceFactory.create()
    html = admin_client.get(CHANGELIST, {"status__exact": "pending"}).content.decode()
    assert 'href="/admin/traces/trace/review/?status__exact=pending"' in html


REVIEW = "/admin/traces/trace/review/"


def test_review_queue_pending_first_and_moves_on(admin_client: Client) -> None:
    approved = TraceFactory.create(status="approved")
    older, newer = TraceFactory.create(), TraceFactory.create()
    start = admin_client.get(REVIEW)
    assert start.status_code == 302 and f"trace={newer.pk}" in start["Location"]
    page = admin_client.get(start["Location"]).content.decode()
    assert "1 of 3" in page and newer.prompt in page and "0 exact duplicate(s)" in page
    step = admin_client.post(start["Location"], {"trace": str(newer.pk), "op": "approve"})
    assert f"trace={older.pk}" in step["Location"] and "pos=2" in step["Location"]
    last = admin_client.post(step["Location"], {"trace": str(older.pk), "op": "skip"})
    assert f"trace={approved.pk}" in last["Location"]
    done = admin_client.post(last["Location"], {"trace": str(approved.pk), "op": "reject"})
    assert done["Location"].startswith(CHANGELIST)
    assert dict(Trace.objects.values_list("pk", "status")) == {
        approved.pk: "rejected",
        older.pk: "pending",
        newer.pk: "approved",
    }


def test_review_queue_edge_cases(admin_client: Client) -> None:
    assert admin_client.get(REVIEW, {"status__exact": "approved"})["Location"].startswith(CHANGELIST)
    assert admin_client.get(REVIEW, {"nonsense__field": "1"})["Location"].startswith(CHANGELIST)
    trace = TraceFactory.create()
    assert admin_client.get(REVIEW, {"trace": "missing"}).status_code == 302
    first = admin_client.get(REVIEW, {"trace": str(trace.pk), "move": "prev"})
    assert first.status_code == 302
    bad_tag = admin_client.post(f"{REVIEW}?trace={trace.pk}", {"trace": str(trace.pk), "op": "tag", "tag": "a b"})
    assert bad_tag.status_code == 302 and trace.tags.count() == 0
    unknown = admin_client.post(f"{REVIEW}?trace={trace.pk}&pos=x", {"trace": str(trace.pk), "op": "dance"})
    assert f"trace={trace.pk}" in unknown["Location"]
    end = admin_client.get(REVIEW, {"trace": str(trace.pk), "move": "next"})
    assert end["Location"].startswith(CHANGELIST)


@pytest.mark.parametrize("extra", [2, 40])
def test_review_page_query_count_does_not_grow(
    admin_client: Client, django_assert_max_num_queries: Any, extra: int
) -> None:
    TraceFactory.create_batch(extra)
    trace = TraceFactory.create(prompt="What is 1 + 1?", final_answer="2")
    with django_assert_max_num_queries(16):
        page = admin_client.get(REVIEW, {"trace": str(trace.pk)})
    assert page.status_code == 200 and f"1 of {extra + 1}" in page.content.decode()
    assert "expected 2 (arithmetic)" in page.content.decode()
    assert "0 of 1 reference steps, first wrong at step 1" in page.content.decode()


def test_review_progress_counts_position_pending_left_and_my_verdicts_today(
    admin_client: Client, staff_user: Any
) -> None:
    other = get_user_model().objects.create_user(username="someone-else")
    mine, earlier, theirs = TraceFactory.create_batch(3)
    trace_update_curation(trace=mine, status="approved", actor=staff_user)
    trace_update_curation(trace=mine, status="rejected", actor=staff_user)
    trace_update_curation(trace=mine, notes="a note is no verdict", actor=staff_user)
    trace_update_curation(trace=earlier, status="approved", actor=staff_user)
    AuditEntry.objects.filter(object_id=str(earlier.pk)).update(created_at=timezone.now() - timedelta(days=2))
    trace_update_curation(trace=theirs, status="approved", actor=other)
    TraceFactory.create_batch(2)
    page = admin_client.get(admin_client.get(REVIEW)["Location"]).content.decode()
    assert "Item 1 of 5 · 2 left · 1 reviewed today (by you)" in page


def test_review_verdict_confirms_with_an_undo_that_restores_and_is_audited(
    admin_client: Client, staff_user: Any
) -> None:
    older, newer = TraceFactory.create(), TraceFactory.create()
    url = f"{REVIEW}?status__exact=pending&trace={newer.pk}&pos=1"
    step = admin_client.post(url, {"trace": str(newer.pk), "op": "reject"})
    assert f"trace={older.pk}" in step["Location"] and "status__exact=pending" in step["Location"]
    [message] = [str(m) for m in get_messages(step.wsgi_request)]
    assert f"Trace {newer.pk} is now rejected." in message
    assert f'action="{REVIEW}?status__exact=pending&amp;trace={newer.pk}&amp;pos=1"' in message
    assert '<input type="hidden" name="status" value="pending">' in message and 'value="undo"' in message
    page = admin_client.get(step["Location"]).content.decode()
    assert 'id="review-undo"' in page and 'name="csrfmiddlewaretoken"' in page
    undone = admin_client.post(url, {"trace": str(newer.pk), "op": "undo", "status": "pending"})
    assert undone["Location"] == url
    assert Trace.objects.get(pk=newer.pk).status == "pending"
    changes = list(
        AuditEntry.objects.filter(object_id=str(newer.pk), actor=staff_user)
        .order_by("id")
        .values_list("changes", flat=True)
    )
    assert changes == [{"status": ["pending", "rejected"]}, {"status": ["rejected", "pending"]}]
    refused = admin_client.post(url, {"trace": str(newer.pk), "op": "undo", "status": "sideways"})
    assert refused["Location"] == url and Trace.objects.get(pk=newer.pk).status == "pending"


def test_review_previous_and_next_are_disabled_at_the_ends_and_links_keep_the_filter(admin_client: Client) -> None:
    TraceFactory.create(status="approved")
    older, newer = TraceFactory.create(), TraceFactory.create()
    first = admin_client.get(REVIEW, {"status__exact": "pending"})
    page = admin_client.get(first["Location"]).content.decode()
    assert '<button type="button" class="button" id="review-prev" disabled' in page
    assert f'<a href="{REVIEW}?status__exact=pending&amp;trace={newer.pk}&amp;pos=1&amp;move=next"' in page
    assert 'href="/admin/traces/trace/?status__exact=pending"' in page
    assert "_changelist_filters=status__exact%3Dpending" in page
    second = admin_client.get(admin_client.get(first["Location"] + "&move=next")["Location"])
    html = second.content.decode()
    assert older.prompt in html and "Item 2 of 2" in html
    assert f'<a href="{REVIEW}?status__exact=pending&amp;trace={older.pk}&amp;pos=2&amp;move=prev"' in html
    assert '<button type="button" class="button" id="review-next" disabled' in html


def test_compare_page_shows_diff_and_approves_either_side(admin_client: Client) -> None:
    first, second = TraceFactory.create_batch(2)
    url = f"{reverse('admin:traces_trace_compare')}?base={first.pk}&other={second.pk}"
    html = admin_client.get(url).content.decode()
    assert 'id="compare-diff"' in html and "Approve other" in html
    assert admin_client.post(url, {"trace": str(second.pk), "status": "approved"})["Location"] == url
    assert Trace.objects.get(pk=second.pk).status == "approved"
    admin_client.post(url, {"trace": str(first.pk), "status": "rejected"})
    assert Trace.objects.get(pk=first.pk).status == "rejected"
    assert admin_client.post(url, {"trace": "x", "status": "approved"}).status_code == 302
