"""The admin review queue driven by keyboard in a real browser (Playwright with the system Chromium).

Runs in ``make test``. Without Chromium it is skipped locally with the reason, and fails under
CI (``CI=true``), where ``.ci/run`` installs it.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.db import connections
from django.utils import timezone

from traces.models import Trace
from traces.tests.factories import TraceFactory

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")


def _browser_missing() -> str | None:
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright package is not installed (pip install -r requirements-dev.txt)"
    if not (os.path.exists(CHROMIUM) or shutil.which(CHROMIUM)):
        return f"Chromium is not installed at {CHROMIUM} (apt-get install chromium)"
    return None


@pytest.fixture
def page(live_server: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    reason = _browser_missing()
    if reason is not None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"Browser test cannot run under CI: {reason}")
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    # Playwright's sync API runs an event loop in this thread; the ORM calls below are still synchronous.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            yield browser.new_page()
        finally:
            browser.close()
            # ORM calls made while Playwright's loop runs get their own connection: close it,
            # or PostgreSQL cannot drop the test database at the end of the run.
            connections.close_all()


def _trace(prompt: str, minutes_ago: int, status: str = "pending", source: str = "browser") -> Trace:
    return TraceFactory.create(
        prompt=prompt,
        status=status,
        meta={"source": source},
        created_at=timezone.now() - timedelta(minutes=minutes_ago),
    )


@pytest.mark.django_db(transaction=True)
def test_review_queue_by_keyboard(page: Any, live_server: Any) -> None:
    from playwright.sync_api import expect

    get_user_model().objects.create_superuser(username="reviewer", password="pw-reviewer-1", email="")
    approved = _trace("Already approved, newest of all", 1, status="approved")
    first = _trace("What is 2 + 2?", 2)
    second = _trace("What is 3 + 3?", 3)
    third = _trace("What is 4 + 4?", 4)
    _trace("Outside the filter", 0, source="elsewhere")

    page.goto(f"{live_server.url}/admin/login/?next=/admin/traces/trace/%3Fsource__exact%3Dbrowser")
    page.fill("#id_username", "reviewer")
    page.fill("#id_password", "pw-reviewer-1")
    page.click("input[type=submit]")
    page.click("#review-these")

    progress, prompt = page.locator("#review-progress"), page.locator("#review-prompt")
    # pending first, although the approved trace is newer
    expect(progress).to_have_text("Item 1 of 4 · 3 left · 0 reviewed today (by you)")
    expect(prompt).to_have_text(first.prompt)

    page.keyboard.press("a")
    expect(progress).to_have_text("Item 2 of 4 · 2 left · 1 reviewed today (by you)")
    expect(prompt).to_have_text(second.prompt)

    page.keyboard.press("t")
    page.keyboard.type("needs-check")
    page.keyboard.press("Enter")
    expect(page.locator("#review-tags")).to_have_text("needs-check")
    expect(progress).to_contain_text("Item 2 of 4 ·")

    page.keyboard.press("n")
    page.keyboard.type("odd wording")
    page.keyboard.press("Enter")
    expect(page.locator("#review-notes")).to_have_value("odd wording")

    page.keyboard.press("r")
    expect(progress).to_contain_text("Item 3 of 4 ·")
    expect(prompt).to_have_text(third.prompt)

    page.keyboard.press("ArrowLeft")
    expect(prompt).to_have_text(second.prompt)
    expect(page.locator("#review-status")).to_have_text("rejected")
    page.keyboard.press("ArrowRight")
    expect(prompt).to_have_text(third.prompt)

    page.keyboard.press("s")
    expect(progress).to_contain_text("Item 4 of 4 ·")
    expect(prompt).to_have_text(approved.prompt)

    statuses = dict(Trace.objects.values_list("prompt", "status"))
    assert statuses[first.prompt] == "approved"
    assert statuses[second.prompt] == "rejected"
    assert statuses[third.prompt] == "pending"
    reviewed = Trace.objects.get(pk=second.pk)
    assert [t.name for t in reviewed.tags.all()] == ["needs-check"] and reviewed.notes == "odd wording"
