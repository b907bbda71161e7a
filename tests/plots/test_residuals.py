"""Residual plots (mixedmodels.plots.residuals): QQ plot and residuals against fitted."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pytest
from matplotlib.collections import PathCollection
from scipy import stats

from mixedmodels import plots

from ._plotting import (
    collections_of,
    lines_with_label,
    render,
)


def test_qq_residuals(sleep):
    ax = sleep.plot.qq()
    render(ax.figure)
    (points,) = lines_with_label(ax, "scaled residuals")
    x, y = points.get_data()
    assert len(x) == sleep.nobs
    np.testing.assert_allclose(y, np.sort(sleep.residuals / sleep.sigma))
    # R: ppoints(180) = (1:180 - 0.5) / 180
    np.testing.assert_allclose(x, stats.norm.ppf((np.arange(1, 181) - 0.5) / 180))
    (line,) = lines_with_label(ax, "quartile line")
    lx, ly = line.get_data()
    slope = (ly[1] - ly[0]) / (lx[1] - lx[0])
    q = np.quantile(y, [0.25, 0.75])
    assert slope == pytest.approx((q[1] - q[0]) / (2 * stats.norm.ppf(0.75)))


def test_residuals_vs_fitted(sleep):
    fig, ax = plt.subplots()
    out = plots.residuals_vs_fitted(sleep, scaled=True, ax=ax)
    assert out is ax
    render(fig)
    (scatter,) = collections_of(ax, PathCollection)
    offsets = scatter.get_offsets()
    assert offsets.shape == (180, 2)
    np.testing.assert_allclose(offsets[:, 0], sleep.fitted)
    np.testing.assert_allclose(offsets[:, 1], sleep.residuals / sleep.sigma)
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("fitted values", "scaled residuals")
