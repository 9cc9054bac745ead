"""Metric curves and accuracy bars as inline SVG, drawn by templates from ``tunix_rt.charts`` geometry."""

from __future__ import annotations

from collections.abc import Sequence

from django.template.loader import render_to_string
from django.utils.safestring import SafeString, mark_safe

from tunix_rt.charts import bar_chart, line_chart


def loss_curve_svg(points: Sequence[tuple[int, float]], name: str = "loss") -> SafeString:
    """``points`` are (step, value) pairs of metric ``name`` in step order; fewer than two finite ones give a note."""
    chart = line_chart(points)
    html = render_to_string("admin/training/parts/line_chart.html", {"chart": chart, "name": name})
    return mark_safe(html)  # noqa: S308 - the template autoescapes every value it draws


def accuracy_bars_svg(rows: Sequence[tuple[str, float | None, str]], label: str) -> SafeString:
    """One bar per (label, accuracy, kind) row, 0–100 %; ``kind`` styles a bar (``before``, ``after``, ``overall``)."""
    chart = bar_chart(rows)
    html = render_to_string("admin/training/parts/bar_chart.html", {"chart": chart, "label": label})
    return mark_safe(html)  # noqa: S308 - the template autoescapes every value it draws
