"""The admin at 1366×768 in a real browser (Playwright with the system Chromium): the home page's panels and
the trace list with no column cut off and prompts in two lines.

Skipped locally without Chromium, failing under CI, as ``traces/tests/test_review_browser.py``. With
``ADMIN_SCREENSHOTS`` set to a folder, each page is saved there as a PNG.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth import get_user_model

from traces.models import Tag
from traces.tests.factories import TraceFactory
from traces.tests.test_review_browser import page  # noqa: F401 - the browser fixture
from training.tests.factories import EvalSetFactory, EvaluationRunFactory, TrainingRunFactory
from tunix_rt.roles import CURATOR, TRAINER, role_apply, roles_sync_permissions

WIDTH, HEIGHT = 1366, 768


def _sign_in(tab: Any, live_server: Any, role: str) -> None:
    user = get_user_model().objects.create_user(username=role, password="pw-browser-123")
    role_apply(user, role)
    user.is_staff = True
    user.save(update_fields=["is_staff"])
    tab.set_viewport_size({"width": WIDTH, "height": HEIGHT})
    tab.goto(f"{live_server.url}/admin/login/?next=/admin/")
    tab.fill("#id_username", role)
    tab.fill("#id_password", "pw-browser-123")
    tab.click("input[type=submit]")


def _shot(tab: Any, name: str) -> None:
    folder = os.environ.get("ADMIN_SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        tab.screenshot(path=str(Path(folder) / f"{name}.png"), full_page=True)


@pytest.mark.django_db(transaction=True)
def test_the_trace_list_fits_1366_with_prompts_in_two_lines(page: Any, live_server: Any) -> None:  # noqa: F811
    roles_sync_permissions()
    gold = Tag.objects.create(name="gold")
    for n in range(5):
        trace = TraceFactory.create(prompt=f"Question {n}: " + "a fairly long word problem about apples " * 12)
        trace.tags.add(gold)
    _sign_in(page, live_server, CURATOR)
    page.goto(f"{live_server.url}/admin/traces/trace/")
    _shot(page, "curator-trace-list")
    widths = page.locator("#result_list thead th").evaluate_all("ths => ths.map(th => [th.className, th.offsetWidth])")
    results = page.locator("#changelist-form .results")
    assert results.evaluate("e => e.scrollWidth <= e.clientWidth"), widths  # no column scrolled out of sight
    header = page.locator("#result_list th.column-created").bounding_box()
    assert header["x"] + header["width"] <= page.locator("#changelist-filter").bounding_box()["x"], widths
    prompt = page.locator("#result_list .prompt-clamp").first
    line = float(prompt.evaluate("e => parseFloat(getComputedStyle(e).lineHeight)"))
    assert prompt.bounding_box()["height"] <= 2 * line + 1
    assert re.fullmatch(r"Question \d: (a fairly long word problem about apples ){12}", prompt.get_attribute("title"))
    assert page.locator("#changelist-filter a", has_text="No tag").count() == 1


@pytest.mark.django_db(transaction=True)
def test_the_home_page_shows_a_trainer_the_work(page: Any, live_server: Any) -> None:  # noqa: F811
    roles_sync_permissions()
    TraceFactory.create_batch(3, status="pending")
    run = TrainingRunFactory.create(recipe="sft_tiny")
    eval_set = EvalSetFactory.create(name="held-out")
    EvaluationRunFactory.create(training_run=run, eval_set=eval_set, checkpoint="initial", accuracy=0.3)
    EvaluationRunFactory.create(training_run=run, eval_set=eval_set, checkpoint="final", accuracy=0.8)
    _sign_in(page, live_server, TRAINER)
    _shot(page, "trainer-home")
    assert page.locator("#dashboard-review-queue strong").inner_text() == "3"
    chart = page.locator("#dashboard-accuracy-chart svg").bounding_box()
    assert chart["width"] > 100 and chart["x"] + chart["width"] <= WIDTH
    before, after = (
        page.locator(f"#dashboard-accuracy-chart rect.bar-{k}").bounding_box() for k in ("before", "after")
    )
    assert after["width"] > before["width"] > 0
    assert page.locator("#nav-sidebar .section", has_text="Train and evaluate").count() == 0  # no sidebar on home
    page.goto(f"{live_server.url}/admin/training/trainingrun/")
    _shot(page, "trainer-run-list")
    assert page.locator("#nav-sidebar caption a.section").all_text_contents() == [
        "Curate",
        "Datasets",
        "Train and evaluate",
    ]
