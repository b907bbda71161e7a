"""Caterpillar and QQ plots of the conditional modes (mixedmodels.plots.ranef)."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pytest
from scipy import stats

import mixedmodels as mm
from mixedmodels import plots
from mixedmodels.plots import PlotError

from ._plotting import (
    Z95,
    collections_of,
    lines_with_label,
    render,
)


def test_caterpillar_draws_sorted_modes_with_intervals(sleep):
    fig = plots.caterpillar(sleep)
    render(fig)
    assert len(fig.axes) == 2
    assert [ax.get_title() for ax in fig.axes] == ["(Intercept)", "Days"]
    ranef = sleep.ranef["Subject"]
    expected_order = [str(v) for v in ranef["(Intercept)"].sort_values().index]
    labels = [t.get_text() for t in fig.axes[0].get_yticklabels()]
    assert labels == expected_order
    assert fig.axes[0].get_ylabel() == "Subject"
    table = sleep.ranef_table.set_index(["term", "level"])
    for ax, term in zip(fig.axes, ["(Intercept)", "Days"], strict=True):
        (points,) = lines_with_label(ax, "conditional mode")
        x, y = points.get_data()
        assert len(x) == 18
        np.testing.assert_allclose(y, np.arange(18))
        np.testing.assert_allclose(x, ranef.loc[expected_order, term])
        (bars,) = collections_of(ax)
        segments = bars.get_segments()
        assert len(segments) == 18
        condsd = table.loc[term].loc[expected_order, "condsd"].to_numpy()
        widths = np.array([seg[1, 0] - seg[0, 0] for seg in segments])
        np.testing.assert_allclose(widths, 2 * Z95 * condsd)


def test_caterpillar_unsorted_other_group_level_and_ax(penicillin):
    fig, ax = plt.subplots()
    out = plots.caterpillar(penicillin, "sample", sort=False, level=0.5, ax=ax)
    assert out is fig
    assert [t.get_text() for t in ax.get_yticklabels()] == list("ABCDEF")
    (bars,) = collections_of(ax)
    sd = penicillin.ranef_table.query("group == 'sample'")["condsd"].to_numpy()
    widths = [seg[1, 0] - seg[0, 0] for seg in bars.get_segments()]
    np.testing.assert_allclose(widths, 2 * stats.norm.ppf(0.75) * sd)
    render(fig)


def test_caterpillar_many_levels_unlabelled():
    fit = mm.lmer("Weight ~ Time + (1 | Pig)", mm.datasets.load("dietox"))
    fig = plots.caterpillar(fit)
    render(fig)
    (ax,) = fig.axes
    (points,) = lines_with_label(ax, "conditional mode")
    assert len(points.get_xdata()) == 72
    assert np.all(np.diff(points.get_xdata()) >= 0)  # sorted
    assert len(collections_of(ax)[0].get_segments()) == 72
    assert ax.get_yticks().size == 0  # 72 names would overlap
    assert fig.get_figheight() > 10  # grows with the number of levels


def test_caterpillar_bad_arguments(sleep):
    with pytest.raises(PlotError, match="no grouping factor 'Batch'"):
        plots.caterpillar(sleep, "Batch")
    _, ax = plt.subplots()
    with pytest.raises(PlotError, match="2 panel"):
        plots.caterpillar(sleep, ax=ax)
    with pytest.raises(PlotError, match="level"):
        plots.caterpillar(sleep, level=1.5)


# -- QQ plots --------------------------------------------------------------------------------
def test_qq_ranef_points_and_intervals(sleep):
    fig = sleep.plot.qq_ranef()
    render(fig)
    assert len(fig.axes) == 2
    for ax, term in zip(fig.axes, ["(Intercept)", "Days"], strict=True):
        (points,) = lines_with_label(ax, "conditional mode")
        x, y = points.get_data()
        np.testing.assert_allclose(y, np.sort(sleep.ranef["Subject"][term]))
        assert np.all(np.diff(x) > 0)
        assert x[0] == pytest.approx(-x[-1])
        (bars,) = collections_of(ax)
        assert len(bars.get_segments()) == 18
        assert ax.get_xlabel() == "standard normal quantiles"
