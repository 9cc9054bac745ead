"""Geometry of the admin's inline SVG charts: data in, viewbox coordinates out; templates only draw.

Every coordinate returned lies inside ``0..width`` × ``0..height`` whatever the finite inputs
(huge, tiny or equal values included); non-finite values are dropped, never drawn.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class LineChart:
    width: int
    height: int
    pad: int
    points: tuple[tuple[float, float], ...]
    x_min: float
    x_max: float
    y_min: float
    y_max: float

    @property
    def polyline(self) -> str:
        """The ``points`` attribute of an SVG ``<polyline>``."""
        return " ".join(f"{x:.1f},{y:.1f}" for x, y in self.points)


@dataclass(frozen=True)
class Bar:
    label: str
    value: float | None
    text: str
    x: float
    y: float
    width: float
    height: float
    label_y: float
    text_x: float
    kind: str = ""


@dataclass(frozen=True)
class BarChart:
    width: int
    height: int
    label_width: int
    bars: tuple[Bar, ...]


def _fraction(value: float, low: float, high: float) -> float:
    """Where ``value`` lies between ``low`` and ``high``, in 0..1; halves keep huge spans finite."""
    span = high / 2 - low / 2
    if span <= 0:
        return 0.5
    return min(1.0, max(0.0, (value / 2 - low / 2) / span))


def line_chart(
    points: Sequence[tuple[float, float]], *, width: int = 640, height: int = 240, pad: int = 40
) -> LineChart | None:
    """(x, y) pairs in x order mapped into the plot area (``pad`` from each edge, y up);
    ``None`` below two finite points."""
    finite = [(float(x), float(y)) for x, y in points if math.isfinite(x) and math.isfinite(y)]
    if len(finite) < 2:
        return None
    xs, ys = [x for x, _ in finite], [y for _, y in finite]
    x0, x1, y0, y1 = min(xs), max(xs), min(ys), max(ys)
    inner_w, inner_h = width - 2 * pad, height - 2 * pad
    mapped = tuple(
        (pad + _fraction(x, x0, x1) * inner_w, height - pad - _fraction(y, y0, y1) * inner_h) for x, y in finite
    )
    return LineChart(width, height, pad, mapped, x0, x1, y0, y1)


def bar_chart(
    rows: Sequence[tuple[str, float | None, str]],
    *,
    maximum: float = 1.0,
    width: int = 480,
    label_width: int = 180,
    bar_height: int = 18,
    gap: int = 6,
) -> BarChart:
    """Horizontal bars of (label, value, kind) rows scaled so ``maximum`` fills the plot; a missing or
    non-finite value draws no bar and reads "–"; values are clamped to ``0..maximum``."""
    plot = width - label_width - 48
    bars = []
    for n, (label, value, kind) in enumerate(rows):
        y = gap + n * (bar_height + gap)
        shown = value if value is not None and math.isfinite(value) else None
        length = 0.0 if shown is None or maximum <= 0 else min(1.0, max(0.0, shown / maximum)) * plot
        text = "–" if shown is None else (f"{shown:.1%}" if maximum == 1.0 else f"{shown:.4g}")
        bars.append(
            Bar(
                label=label,
                value=shown,
                text=text,
                x=float(label_width),
                y=float(y),
                width=round(length, 1),
                height=float(bar_height),
                label_y=float(y + bar_height - 5),
                text_x=round(label_width + length + 4, 1),
                kind=kind,
            )
        )
    return BarChart(width, gap + len(bars) * (bar_height + gap), label_width, tuple(bars))
