from __future__ import annotations

import math

from hypothesis import given
from hypothesis import strategies as st

from tunix_rt.charts import bar_chart, line_chart


def test_line_chart_maps_extremes_to_the_plot_edges_with_y_up() -> None:
    chart = line_chart([(0, 2.0), (50, 1.0), (100, 0.0)], width=640, height=240, pad=40)
    assert chart is not None
    assert chart.points == ((40.0, 40.0), (320.0, 120.0), (600.0, 200.0))
    assert chart.polyline == "40.0,40.0 320.0,120.0 600.0,200.0"
    assert (chart.x_min, chart.x_max, chart.y_min, chart.y_max) == (0, 100, 0.0, 2.0)


def test_line_chart_draws_a_flat_series_in_the_middle_and_drops_non_finite_points() -> None:
    chart = line_chart([(1, 0.5), (2, float("nan")), (3, 0.5), (4, float("inf"))], width=100, height=100, pad=10)
    assert chart is not None and chart.points == ((10.0, 50.0), (90.0, 50.0))
    assert line_chart([(1, 1.0)]) is None
    assert line_chart([(1, float("nan")), (2, float("-inf"))]) is None


def test_bar_chart_scales_to_the_maximum_and_marks_missing_values() -> None:
    chart = bar_chart([("all", 0.5, "overall"), ("add", None, ""), ("sub", 1.5, "")], width=480, label_width=180)
    plot = 480 - 180 - 48
    first, missing, clamped = chart.bars
    assert (first.x, first.y, first.width, first.text, first.kind) == (180.0, 6.0, plot / 2, "50.0%", "overall")
    assert (missing.width, missing.text, missing.value) == (0.0, "–", None)
    assert (clamped.width, clamped.text) == (float(plot), "150.0%")
    assert clamped.y == 6 + 2 * 24 and chart.height == 6 + 3 * 24
    assert bar_chart([("loss", 2.0, "")], maximum=4.0).bars[0].text == "2"


finite = st.floats(allow_nan=False, allow_infinity=False)
any_float = st.floats()
sizes = st.tuples(st.integers(20, 2000), st.integers(20, 2000), st.integers(0, 9))


@given(st.lists(st.tuples(st.integers(0, 10**12) | finite, any_float), max_size=40), sizes)
def test_every_line_point_lies_inside_the_viewbox(
    points: list[tuple[float, float]], size: tuple[int, int, int]
) -> None:
    width, height, pad = size
    chart = line_chart(points, width=width, height=height, pad=pad)
    kept = [p for p in points if math.isfinite(p[0]) and math.isfinite(p[1])]
    if len(kept) < 2:
        assert chart is None
        return
    assert chart is not None and len(chart.points) == len(kept)
    for x, y in chart.points:
        assert pad <= x <= width - pad and pad <= y <= height - pad
    for pair in chart.polyline.split():
        x, y = (float(v) for v in pair.split(","))
        assert 0 <= x <= width and 0 <= y <= height


@given(st.lists(st.tuples(st.text(max_size=5), any_float | st.none(), st.just("")), max_size=30), finite)
def test_every_bar_lies_inside_the_viewbox(rows: list[tuple[str, float | None, str]], maximum: float) -> None:
    chart = bar_chart(rows, maximum=maximum)
    assert len(chart.bars) == len(rows)
    for bar in chart.bars:
        assert 0 <= bar.x and bar.x + bar.width <= chart.width and 0 <= bar.text_x <= chart.width
        assert 0 <= bar.y and bar.y + bar.height <= chart.height and 0 <= bar.label_y <= chart.height
