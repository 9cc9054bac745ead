from __future__ import annotations

from training.charts import loss_curve_svg


def test_loss_curve_scales_points_into_the_frame() -> None:
    svg = str(loss_curve_svg([(0, 2.0), (50, 1.0), (100, 0.0)]))
    assert 'points="40.0,40.0 320.0,120.0 600.0,200.0"' in svg
    assert "step 100" in svg and "loss 2<" in svg and "loss 0<" in svg


def test_too_few_points_or_non_finite_values_give_a_note() -> None:
    assert "Not enough" in str(loss_curve_svg([(1, 1.0)]))
    assert "Not enough" in str(loss_curve_svg([(1, float("nan")), (2, float("inf"))]))
