"""Deleting a trace that datasets hold: the datasets app tells the traces app through its holder registry."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.test import Client
from rest_framework.test import APIClient

from datasets.tests.factories import build
from traces.holders import trace_holdings
from traces.models import Trace
from traces.services import trace_score
from traces.tests.factories import TraceFactory

pytestmark = pytest.mark.django_db

CHANGELIST = "/admin/traces/trace/"


@pytest.fixture
def admin_client(client: Client, staff_user: Any) -> Client:
    client.force_login(staff_user)
    return client


def held_trace() -> Trace:
    trace = TraceFactory.create()
    other = TraceFactory.create()
    build(name="beta", trace_ids=[trace.id, other.id], limit=2)
    build(name="alpha", trace_ids=[trace.id], limit=1)
    build(name="gamma", trace_ids=[other.id], limit=1)
    return trace


def test_api_delete_answers_204_naming_the_datasets_that_held_the_trace(api_client: APIClient) -> None:
    trace = held_trace()
    response = api_client.delete(f"/api/traces/{trace.id}")
    assert response.status_code == 204
    assert response.content == b""
    assert response["Held-By-Datasets"] == "alpha-1.0, beta-1.0"
    assert response["Warning"] == (
        '299 tunix-rt "The deleted trace was held by datasets alpha-1.0, beta-1.0. Their manifests keep the ids, '
        "but their exports skip deleted traces (one line fewer each) and `export_dataset --verify` names the "
        'deleted ids."'
    )
    assert not Trace.objects.filter(id=trace.id).exists()


def test_api_delete_of_a_trace_no_dataset_holds_has_no_warning(api_client: APIClient) -> None:
    held_trace()
    loose = TraceFactory.create()
    response = api_client.delete(f"/api/traces/{loose.id}")
    assert response.status_code == 204
    assert "Held-By-Datasets" not in response and "Warning" not in response


def test_holdings_are_bounded_and_cost_two_queries(django_assert_num_queries: Any) -> None:
    trace = held_trace()
    with django_assert_num_queries(2):
        (holding,) = trace_holdings(trace_ids=[trace.id], limit=1)
    assert (holding.kind, holding.keys, holding.total) == ("datasets", ["alpha-1.0"], 2)
    assert holding.describe() == "datasets alpha-1.0 and 1 more"
    assert trace_holdings(trace_ids=[]) == []


def test_admin_delete_page_warns_with_the_dataset_keys_and_lists_no_tag_rows(admin_client: Client) -> None:
    trace = held_trace()
    trace.tags.create(name="gold")
    trace_score(trace=trace)
    html = admin_client.get(f"{CHANGELIST}{trace.id}/delete/").content.decode()
    assert "This trace is held by datasets alpha-1.0, beta-1.0." in html
    assert "Trace_tags object" not in html and "relationship" not in html
    assert "Score: <a" in html
    response = admin_client.post(f"{CHANGELIST}{trace.id}/delete/", {"post": "yes"}, follow=True)
    assert not Trace.objects.filter(id=trace.id).exists()
    html = response.content.decode()
    assert "The deleted trace was held by datasets alpha-1.0, beta-1.0." in html
    assert "This trace is held" not in html


def test_admin_bulk_delete_warns_on_the_confirmation_page_and_after(admin_client: Client) -> None:
    trace = held_trace()
    loose = TraceFactory.create()
    selection = {"action": "delete_selected", ACTION_CHECKBOX_NAME: [str(trace.id), str(loose.id)]}
    html = admin_client.post(CHANGELIST, selection).content.decode()
    assert "These traces are held by datasets alpha-1.0, beta-1.0." in html
    assert Trace.objects.filter(id=trace.id).exists()
    response = admin_client.post(CHANGELIST, {**selection, "post": "yes"}, follow=True)
    assert "The deleted traces were held by datasets alpha-1.0, beta-1.0." in response.content.decode()
    assert not Trace.objects.filter(id__in=[trace.id, loose.id]).exists()


def test_admin_delete_of_a_loose_trace_has_no_warning(admin_client: Client) -> None:
    held_trace()
    loose = TraceFactory.create()
    html = admin_client.get(f"{CHANGELIST}{loose.id}/delete/").content.decode()
    assert "held by" not in html
    response = admin_client.post(f"{CHANGELIST}{loose.id}/delete/", {"post": "yes"}, follow=True)
    assert "held by" not in response.content.decode()
