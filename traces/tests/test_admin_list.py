"""The trace changelist reads at 1366 px: prompts clamped to two lines with the text in the title, a named "No tag"."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client

from traces.models import Tag
from traces.selectors import ADMIN_EXCERPT_CHARS
from traces.tests.factories import TraceFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client_(django_user_model: Any) -> Client:
    user = django_user_model.objects.create_superuser(username="lister", password="pw-list-123")
    client = Client()
    client.force_login(user)
    return client


def test_the_prompt_is_clamped_with_its_text_in_the_title(admin_client_: Client) -> None:
    long_prompt = "Tom & Jerry <share> " + "apples " * 200
    TraceFactory.create(prompt="What is 2 + 2?")
    TraceFactory.create(prompt=long_prompt)
    html = admin_client_.get("/admin/traces/trace/").content.decode()
    assert '<span class="prompt-clamp" title="What is 2 + 2?">What is 2 + 2?</span>' in html
    shown = long_prompt[: ADMIN_EXCERPT_CHARS - 1].replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    assert f'<span class="prompt-clamp" title="{shown}…">{shown}…</span>' in html
    assert "tunix_rt/admin.css" in html


def test_the_tags_filter_names_its_empty_choice(admin_client_: Client) -> None:
    tagged, bare = TraceFactory.create(), TraceFactory.create()
    tagged.tags.add(Tag.objects.create(name="gold"))
    html = admin_client_.get("/admin/traces/trace/").content.decode()
    tags = html.split("By tags")[1].split("</details>")[0]
    assert re.findall(r'<a href="[^"]*">([^<]+)</a>', tags) == ["All", "gold", "No tag"]
    filtered = admin_client_.get("/admin/traces/trace/?tags__isnull=True").content.decode()
    assert str(bare.id) in filtered and str(tagged.id) not in filtered
