"""The trace changelist's columns: short enough that all of them fit beside both sidebars at 1366 px."""

from __future__ import annotations

from django.contrib import admin
from django.utils import timezone
from django.utils.html import format_html

from traces.models import Trace
from traces.selectors import ADMIN_EXCERPT_CHARS


def _verdict(value: float | None) -> str:
    return "–" if value is None else ("✓" if value >= 1.0 else "✗")


class TraceColumns:
    """``list_display`` methods over the annotations of ``selectors.traces_for_admin``."""

    @admin.display(description="prompt")
    def excerpt(self, obj: Trace) -> str:
        text = getattr(obj, "prompt_excerpt", "")  # two lines by CSS; the title holds all it read
        text = text if len(text) < ADMIN_EXCERPT_CHARS else text[: ADMIN_EXCERPT_CHARS - 1] + "…"
        return format_html('<span class="prompt-clamp" title="{}">{}</span>', text, text)

    @admin.display(description="created by", ordering="created_by__username")
    def creator(self, obj: Trace) -> str:
        return getattr(obj, "created_by_name", None) or "–"

    @admin.display(description="baseline", ordering="latest_baseline")
    def baseline_score(self, obj: Trace) -> str:
        value = getattr(obj, "latest_baseline", None)
        return "–" if value is None else f"{value:.2f}"

    @admin.display(description="answer", ordering="latest_answer_match")
    def answer_verdict(self, obj: Trace) -> str:
        return _verdict(getattr(obj, "latest_answer_match", None))

    @admin.display(description="format", ordering="latest_format_match")
    def format_verdict(self, obj: Trace) -> str:
        return _verdict(getattr(obj, "latest_format_match", None))

    @admin.display(description="tags")
    def tag_list(self, obj: Trace) -> str:
        return ", ".join(tag.name for tag in obj.tags.all())

    @admin.display(description="created", ordering="created_at")
    def created(self, obj: Trace) -> str:
        return timezone.localtime(obj.created_at).strftime("%Y-%m-%d %H:%M")
