"""The admin home's panels: each app registers the panels over its own data in its ``dashboard`` module.

The site (``tunix_rt.admin_site``) discovers those modules and shows a panel only to a user holding
its ``permission``, so no layer reads another's models to draw the home page.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.http import HttpRequest


@dataclass(frozen=True)
class Panel:
    """``build`` returns the template's context; ``order`` places the panel on the page."""

    key: str
    title: str
    template: str
    permission: str
    build: Callable[[HttpRequest], dict[str, Any]]
    order: int = 100


_PANELS: dict[str, Panel] = {}


def panel_register(panel: Panel) -> None:
    """Registers ``panel``, replacing one with the same key (a module imported twice registers once)."""
    _PANELS[panel.key] = panel


def dashboard_panels(*, request: HttpRequest) -> list[dict[str, Any]]:
    """The panels ``request.user`` may see, in order, each built: ``{"key", "title", "template", ...}``."""
    shown = []
    for panel in sorted(_PANELS.values(), key=lambda p: (p.order, p.key)):
        if request.user.has_perm(panel.permission):
            context = panel.build(request)
            shown.append({"key": panel.key, "title": panel.title, "template": panel.template, **context})
    return shown


def bar_chart(*, pairs: list[tuple[str, float | None, float | None]], width: int = 360) -> dict[str, Any]:
    """Geometry of a before/after bar chart of fractions in [0, 1]: one row per label, two bars each.

    Drawn as inline SVG by ``admin/dashboard/bar_chart.html``; a missing value draws no bar and reads "–".
    """
    label_w, bar_h, gap, row_gap = 120, 10, 2, 10
    plot_w = width - label_w - 50
    rows = []
    for index, (label, before, after) in enumerate(pairs):
        y = index * (2 * bar_h + gap + row_gap)
        bars = []
        for offset, kind, value in ((0, "before", before), (bar_h + gap, "after", after)):
            clamped = None if value is None else min(max(value, 0.0), 1.0)
            bars.append(
                {
                    "kind": kind,
                    "y": y + offset,
                    "width": 0 if clamped is None else round(clamped * plot_w, 1),
                    "text": "–" if value is None else f"{value:.0%}",
                    "text_x": label_w + (0 if clamped is None else round(clamped * plot_w, 1)) + 4,
                    "text_y": y + offset + bar_h - 1,
                }
            )
        rows.append({"label": label, "label_y": y + bar_h + gap, "bars": bars})
    height = max(len(pairs) * (2 * bar_h + gap + row_gap) - row_gap, 0)
    return {"rows": rows, "width": width, "height": height, "label_w": label_w, "bar_h": bar_h}
