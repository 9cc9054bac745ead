"""Metric curves (loss, rewards, KL, margins) as inline SVG, rendered on the server: no JavaScript build needed."""

from __future__ import annotations

from collections.abc import Sequence

from django.utils.html import format_html
from django.utils.safestring import SafeString

WIDTH, HEIGHT, PAD = 640, 240, 40


def loss_curve_svg(points: Sequence[tuple[int, float]], name: str = "loss") -> SafeString:
    """``points`` are (step, value) pairs of metric ``name`` in step order; fewer than two gives a note."""
    finite = [(s, v) for s, v in points if v == v and v not in (float("inf"), float("-inf"))]
    if len(finite) < 2:
        return format_html("<p>{}</p>", "Not enough logged steps for a curve yet.")
    steps = [s for s, _ in finite]
    losses = [v for _, v in finite]
    x0, x1 = min(steps), max(steps)
    y0, y1 = min(losses), max(losses)
    span_x = (x1 - x0) or 1
    span_y = (y1 - y0) or 1.0

    def xy(step: int, loss: float) -> str:
        x = PAD + (step - x0) / span_x * (WIDTH - 2 * PAD)
        y = HEIGHT - PAD - (loss - y0) / span_y * (HEIGHT - 2 * PAD)
        return f"{x:.1f},{y:.1f}"

    polyline = " ".join(xy(s, v) for s, v in finite)
    return format_html(
        '<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" viewBox="0 0 {w} {h}" '
        'role="img" aria-label="{name} by step">'
        '<rect x="0" y="0" width="{w}" height="{h}" fill="white" stroke="#ccc"/>'
        '<polyline fill="none" stroke="#447e9b" stroke-width="2" points="{points}"/>'
        '<text x="{pad}" y="20" font-size="12">{name} {top}</text>'
        '<text x="{pad}" y="{bottom_y}" font-size="12">{name} {bottom}</text>'
        '<text x="{right}" y="{bottom_y}" font-size="12" text-anchor="end">step {last}</text>'
        "</svg>",
        w=WIDTH, h=HEIGHT, pad=PAD, name=name, points=polyline, top=f"{y1:.4g}", bottom=f"{y0:.4g}",
        bottom_y=HEIGHT - 8, right=WIDTH - PAD, last=x1,
    )  # fmt: skip
