"""Trajectories of the response per level (mixedmodels.plots.longitudinal)."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pytest

import mixedmodels as mm
from mixedmodels import plots
from mixedmodels.plots import PlotError

from ._plotting import (
    lines_with_label,
    render,
)


def test_trajectories_small_multiples(sleep):
    fig = sleep.plot.trajectories("Days")
    render(fig)
    assert len(fig.axes) == 18
    data = mm.datasets.load("sleepstudy")
    ax = fig.axes[1]
    assert ax.get_title() == "Subject 309"
    (observed,) = lines_with_label(ax, "observed 309")
    (fitted,) = lines_with_label(ax, "fitted 309")
    (population,) = lines_with_label(ax, "population")
    rows = data[data["Subject"] == 309].sort_values("Days")
    np.testing.assert_allclose(observed.get_xdata(), rows["Days"])
    np.testing.assert_allclose(observed.get_ydata(), rows["Reaction"])
    coef = sleep.coef["Subject"].loc["309"]
    np.testing.assert_allclose(
        fitted.get_ydata(), coef["(Intercept)"] + coef["Days"] * rows["Days"].to_numpy()
    )
    np.testing.assert_allclose(
        population.get_ydata(), sleep.fixef["(Intercept)"] + sleep.fixef["Days"] * rows["Days"]
    )


def test_trajectories_overlay_with_data_column_and_levels(sleep):
    data = mm.datasets.load("sleepstudy")
    data["Hours"] = data["Days"] * 24.0
    fig, ax = plt.subplots()
    plots.trajectories(sleep, "Hours", data=data, levels=["308", "335"], ax=ax)
    render(fig)
    assert len(fig.axes) == 1
    assert len(ax.get_lines()) == 4  # observed + fitted for two subjects
    (observed,) = lines_with_label(ax, "observed 335")
    assert observed.get_xdata().max() == pytest.approx(9 * 24.0)
    assert ax.get_xlabel() == "Hours"
    assert ax.get_ylabel() == "Reaction"
    with pytest.raises(PlotError, match="not a fixed-effect column"):
        plots.trajectories(sleep, "Hours")
    with pytest.raises(PlotError, match="unknown level"):
        plots.trajectories(sleep, "Days", levels=["999"])


def test_trajectories_caps_panels(sleep):
    fig = plots.trajectories(sleep, "Days", max_panels=4, population=False)
    assert len(fig.axes) == 4
    assert fig.get_suptitle() == "4 of 18 levels of Subject"
    assert not lines_with_label(fig.axes[0], "population")
