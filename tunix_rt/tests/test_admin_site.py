"""The admin home: panels by permission with numbers from the data, a query budget, navigation grouped by task."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from datasets.tests.factories import DatasetFactory
from traces.tests.factories import TraceFactory
from training.tests.factories import EvalSetFactory, EvaluationRunFactory, TrainingRunFactory
from tunix_rt.dashboard import bar_chart
from tunix_rt.roles import CURATOR, TRAINER, VIEWER, role_apply, roles_sync_permissions

pytestmark = pytest.mark.django_db

User = get_user_model()


def signed_in(role: str, *, staff: bool = True, superuser: bool = False) -> Client:
    roles_sync_permissions()
    user = User.objects.create_user(username=f"home-{role or 'none'}-{superuser}", password="pw-home-123")
    if role:
        role_apply(user, role)
    user.is_staff, user.is_superuser = staff or superuser, superuser
    user.save()
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def work() -> dict[str, Any]:
    """Traces in every status from two sources, datasets and runs with before/after accuracy."""
    for status, source, n in (("pending", "gsm8k", 3), ("approved", "gsm8k", 2), ("rejected", "manual", 1)):
        for _ in range(n):
            TraceFactory.create(status=status, meta={"source": source})
    datasets = [DatasetFactory.create(name=f"home{i}", key=f"home{i}-1.0", trace_count=i) for i in range(7)]
    eval_set = EvalSetFactory.create(name="held-out")
    run = TrainingRunFactory.create(recipe="sft_tiny")
    EvaluationRunFactory.create(training_run=run, eval_set=eval_set, checkpoint="initial", accuracy=0.25)
    EvaluationRunFactory.create(training_run=run, eval_set=eval_set, checkpoint="final", accuracy=0.75)
    return {"datasets": datasets, "run": run}


def panel_ids(html: str) -> list[str]:
    return re.findall(r'id="panel-([a-z]+)"', html)


@pytest.mark.parametrize("role", [VIEWER, CURATOR, TRAINER])
def test_each_role_sees_every_panel_with_the_numbers_of_the_data(role: str, work: dict[str, Any]) -> None:
    html = signed_in(role).get("/admin/").content.decode()
    assert panel_ids(html) == ["curation", "datasets", "training"]
    assert re.search(r'id="dashboard-review-queue"><strong class="dashboard-number">3</strong>', html)
    assert '<a href="/admin/traces/trace/?status__exact=pending">3</a>' in html
    assert '<a href="/admin/traces/trace/?status__exact=approved">2</a>' in html
    assert '<a href="/admin/traces/trace/?status__exact=rejected">1</a>' in html
    assert '<a href="/admin/traces/trace/?source=gsm8k">5</a>' in html
    assert '<a href="/admin/traces/trace/?source=manual">1</a>' in html
    assert ">6 traces</a>" in html
    newest = [d.key for d in reversed(work["datasets"])][:5]
    shown = re.findall(r'<a href="/admin/datasets/dataset/\d+/change/">([^<]+)</a>', html)
    assert shown == newest
    run = work["run"]
    assert f'href="/admin/training/trainingrun/{run.pk}/change/">sft_tiny {str(run.pk)[:8]}</a>' in html
    assert ">0.250</a>" in html and ">0.750</a>" in html
    assert 'id="dashboard-accuracy-chart"' in html and "<title>before: 25%</title>" in html
    assert "<title>after: 75%</title>" in html and "<script" not in html.split('id="dashboard-panels"')[1][:5000]


def test_each_number_links_to_the_list_it_counts(work: dict[str, Any]) -> None:
    client = signed_in(CURATOR)
    TraceFactory.create(meta={})
    html = client.get("/admin/").content.decode()
    links = dict(
        re.findall(r'<tr><th scope="row"><a href="([^"]+)">([^<]+)</a>', html.split('id="dashboard-trace-status"')[1])
    )
    assert set(links.values()) >= {"Pending", "gsm8k", "(none)"}
    for url, label in links.items():
        count = re.search(rf'<a href="{re.escape(url)}">(\d+)</a></td>', html)
        assert count is not None, label
        listing = client.get(url.replace("&amp;", "&")).content.decode()
        assert re.search(rf"{count.group(1)} results? \(", listing), (label, url)


def test_staff_without_a_role_sees_no_panel_and_only_the_team_group(work: dict[str, Any]) -> None:
    html = signed_in("").get("/admin/").content.decode()
    assert panel_ids(html) == []
    assert re.findall(r'class="section"[^>]*>([^<]+)</a>', html) == ["Team"]


def test_an_empty_database_reads_as_zero(db: Any) -> None:
    html = signed_in(VIEWER).get("/admin/").content.decode()
    assert re.search(r'id="dashboard-review-queue"><strong class="dashboard-number">0</strong>', html)
    assert "No datasets yet." in html and "No runs yet." in html and 'id="dashboard-accuracy-chart"' not in html


def test_the_home_page_reads_in_a_bounded_number_of_queries(
    work: dict[str, Any], django_assert_max_num_queries: Any
) -> None:
    client = signed_in(TRAINER)
    client.get("/admin/")
    for _ in range(20):
        run = TrainingRunFactory.create()
        EvaluationRunFactory.create(training_run=run, checkpoint="final", accuracy=0.5)
        TraceFactory.create(meta={"source": f"s{_}"})
    with django_assert_max_num_queries(12):
        assert client.get("/admin/").status_code == 200


def groups(client: Client) -> list[tuple[str, list[str]]]:
    """(group, its entries) as the home page's app list draws them."""
    html = client.get("/admin/").content.decode().split('id="dashboard-panels"')[-1]
    found = []
    for block in re.split(r'<div class="app-', html)[1:]:
        name = re.search(r'class="section"[^>]*>([^<]+)</a>', block)
        assert name is not None
        found.append(
            (name.group(1), re.findall(r'<th scope="row" id="[^"]+">\s*<a href="[^"]+"[^>]*>([^<]+)</a>', block))
        )
    return found


def test_navigation_is_grouped_by_task_and_hides_framework_internals_from_staff(db: Any) -> None:
    assert groups(signed_in(TRAINER)) == [
        ("Curate", ["Traces", "Tags", "Scores", "Preferences", "Review queue"]),
        ("Datasets", ["Datasets"]),
        ("Train and evaluate", ["Training runs", "Eval sets", "Evaluation runs", "Evaluation results"]),
    ]
    superuser = groups(signed_in("", superuser=True))
    assert [name for name, _ in superuser] == [
        "Curate",
        "Datasets",
        "Train and evaluate",
        "Team",
        "Framework internals",
    ]
    assert dict(superuser)["Team"] == ["Users", "Groups", "Tokens", "Audit entries"]
    assert dict(superuser)["Framework internals"] == ["Task Results"]


def test_the_sidebar_on_a_list_page_uses_the_same_groups(db: Any) -> None:
    html = signed_in(CURATOR).get("/admin/traces/trace/").content.decode()
    sidebar = html.split('id="nav-sidebar"')[1].split("</nav>")[0]
    assert sidebar.index(">Curate<") < sidebar.index(">Datasets<") < sidebar.index(">Train and evaluate<")
    assert 'href="/admin/traces/trace/review/"' in sidebar and "Task Results" not in sidebar


def test_an_app_page_still_lists_that_app(db: Any) -> None:
    client = signed_in(VIEWER)
    html = client.get("/admin/traces/").content.decode()
    assert "<h1>Reasoning traces administration</h1>" in html
    assert re.findall(r'class="section"[^>]*>([^<]+)</a>', html.split('id="content-main"')[1]) == ["Reasoning traces"]
    assert client.get("/admin/auth/").status_code == 404


def test_bar_chart_scales_fractions_to_the_plot_and_marks_missing_values() -> None:
    chart = bar_chart(pairs=[("a", 0.5, 1.0), ("b", None, 2.0)], width=370)
    plot = 370 - 120 - 50
    (a_before, a_after), (b_before, b_after) = ([bar for bar in row["bars"]] for row in chart["rows"])
    assert (a_before["width"], a_after["width"]) == (plot / 2, plot)
    assert (b_before["width"], b_before["text"]) == (0, "–")
    assert (b_after["width"], b_after["text"]) == (plot, "200%")
    assert chart["height"] == 2 * (10 + 2 + 10 + 10) - 10
