"""The review queue's confirmation and the training pages at 1366×768 in a real browser, as a curator
and as a trainer would use them (Playwright with the system Chromium; skipped locally without it).

With ``ADMIN_SCREENSHOTS`` set to a folder, each page is saved there as a PNG.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth import get_user_model

from traces.models import Trace
from traces.tests.factories import TraceFactory
from traces.tests.test_review_browser import page  # noqa: F401 - the browser fixture
from training.engine.stack import INSTALL_HINT, TrainingStackMissing
from training.models import TrainingMetric
from training.tests.factories import EvalSetFactory, EvaluationResultFactory, EvaluationRunFactory, TrainingRunFactory
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
    tab.wait_for_url(f"{live_server.url}/admin/")


def _shot(tab: Any, name: str) -> None:
    folder = os.environ.get("ADMIN_SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        tab.screenshot(path=str(Path(folder) / f"{name}.png"), full_page=True)


def _fits(tab: Any, selector: str) -> None:
    box = tab.locator(selector).first.bounding_box()
    assert box is not None and box["width"] > 100 and box["x"] + box["width"] <= WIDTH, (selector, box)


@pytest.mark.django_db(transaction=True)
def test_a_curator_approves_then_undoes_in_the_review_queue(page: Any, live_server: Any) -> None:  # noqa: F811
    from playwright.sync_api import expect

    roles_sync_permissions()
    trace = TraceFactory.create(prompt="What is 6 + 7?")
    _sign_in(page, live_server, CURATOR)
    page.goto(f"{live_server.url}/admin/traces/trace/review/?status__exact=pending")
    expect(page.locator("#review-progress")).to_have_text("Item 1 of 1 · 1 left · 0 reviewed today (by you)")
    expect(page.locator("#review-prev")).to_be_disabled()
    expect(page.locator("#review-next")).to_be_disabled()
    _shot(page, "curator-review")
    page.keyboard.press("a")
    expect(page.locator("#review-undo")).to_be_visible()  # the end of the queue: back on the list, with Undo
    assert Trace.objects.get(pk=trace.pk).status == "approved"
    _shot(page, "curator-review-approved")
    page.click("#review-undo")
    expect(page.locator("#review-status")).to_have_text("pending")
    expect(page.locator("#review-progress")).to_contain_text("1 left · 1 reviewed today (by you)")
    assert Trace.objects.get(pk=trace.pk).status == "pending"
    assert "status__exact=pending" in page.url
    _shot(page, "curator-review-undone")


@pytest.mark.django_db(transaction=True)
def test_a_trainer_starts_a_run_and_reads_its_pages(
    page: Any,  # noqa: F811
    live_server: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from playwright.sync_api import expect

    def missing() -> None:
        raise TrainingStackMissing(f"training stack not installed (missing: jax); run: {INSTALL_HINT}")

    monkeypatch.setattr("training.services.execution.ensure_training_stack", missing)
    roles_sync_permissions()
    run = TrainingRunFactory.create(kind="grpo", steps=20)
    for step in range(1, 21):
        values = {"loss": 2.0 / step, "reward": step / 4}
        TrainingMetric.objects.create(run=run, step=step, loss=2.0 / step, values=values)
    held = EvalSetFactory.create(name="held-out")
    EvaluationRunFactory.create(training_run=run, eval_set=held, checkpoint="initial", accuracy=0.3)
    add = {"count": 3, "accuracy": 2 / 3, "format_rate": 1.0}
    after = EvaluationRunFactory.create(training_run=run, eval_set=held, accuracy=0.6, per_category={"add": add})
    for n in range(3):
        EvaluationResultFactory.create(evaluation=after, example_id=f"ex-{n}", correct=n > 0, category="add")
    _sign_in(page, live_server, TRAINER)

    page.goto(f"{live_server.url}/admin/training/trainingrun/start/")
    expect(page.locator("#training-stack-missing")).to_contain_text("make install-training")
    expect(page.locator("#id_dataset_key")).to_be_visible()
    _shot(page, "trainer-start-form")

    page.goto(f"{live_server.url}/admin/training/trainingrun/{run.run_id}/change/")
    expect(page.locator('svg[aria-label="loss by step"]')).to_be_visible()
    expect(page.locator('svg[aria-label="reward by step"]')).to_be_visible()
    expect(page.locator("#run-evaluations-chart rect")).to_have_count(2)
    _fits(page, 'svg[aria-label="loss by step"]')
    _shot(page, "trainer-run")

    page.goto(f"{live_server.url}/admin/training/evaluationrun/{after.pk}/change/")
    expect(page.locator('svg[aria-label="Accuracy overall and per category"] rect')).to_have_count(2)
    expect(page.locator("#wrong-answers-count")).to_have_text("1 wrong answer.")
    _fits(page, 'svg[aria-label="Accuracy overall and per category"]')
    _shot(page, "trainer-evaluation")
    page.click("#wrong-answers a")
    expect(page.locator("h1")).to_contain_text("evaluation result")
