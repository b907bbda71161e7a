"""``fit.plot``: each method draws what its plot function draws (mixedmodels.plots.accessor)."""

from __future__ import annotations

import numpy as np
import pytest

from mixedmodels import plots
from mixedmodels.plots.accessor import PlotAccessor


def drawn(figure_or_axes):
    """Titles and the data of every line and scatter, panel by panel."""
    fig = getattr(figure_or_axes, "figure", figure_or_axes)
    out = []
    for ax in fig.axes:
        lines = [np.asarray(line.get_xydata()) for line in ax.get_lines()]
        points = [np.asarray(c.get_offsets()) for c in ax.collections if hasattr(c, "get_offsets")]
        out.append((ax.get_title(), lines, points))
    return out


def assert_same(a, b):
    left, right = drawn(a), drawn(b)
    assert len(left) == len(right)
    for (title_a, lines_a, points_a), (title_b, lines_b, points_b) in zip(left, right, strict=True):
        assert title_a == title_b
        for x, y in zip(lines_a, lines_b, strict=True):
            np.testing.assert_array_equal(x, y)
        for x, y in zip(points_a, points_b, strict=True):
            np.testing.assert_array_equal(x, y)


def test_the_accessor_is_the_fits(sleep):
    assert isinstance(sleep.plot, PlotAccessor)
    assert "caterpillar" in repr(sleep.plot)


@pytest.mark.parametrize(
    ("method", "function", "args"),
    [
        ("caterpillar", plots.caterpillar, ()),
        ("qq_ranef", plots.qq_ranef, ()),
        ("residuals", plots.residuals_vs_fitted, ()),
        ("qq", plots.qq_residuals, ()),
        ("trajectories", plots.trajectories, ("Days",)),
        ("effects", plots.effects, ("Days",)),
    ],
)
def test_each_method_draws_its_function(sleep, method, function, args):
    assert_same(getattr(sleep.plot, method)(*args), function(sleep, *args))


def test_a_group_is_passed_on(penicillin):
    fig = penicillin.plot.caterpillar("sample")
    assert_same(fig, plots.caterpillar(penicillin, "sample"))
    assert len(fig.axes) == 1
