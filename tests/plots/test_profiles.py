"""Plots of likelihood profiles (mixedmodels.plots.profiles)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pytest

import mixedmodels as mm
from mixedmodels import plots
from mixedmodels.plots import PlotError

from ._plotting import (
    Z95,
    collections_of,
    lines_with_label,
    render,
)


@dataclass(frozen=True)
class HandProfile:
    """A profile laid out as inference.profile's contract: parameter, zeta, one column each."""

    table: pd.DataFrame
    lower: pd.Series


def hand_profile() -> HandProfile:
    """Quadratic deviance profiles around made-up estimates, with linear traces."""
    estimates = {
        "sd_(Intercept)|Subject": 25.0,
        "cor_Days.(Intercept)|Subject": 0.07,
        "sd_Days|Subject": 6.0,
        "sigma": 25.6,
        "(Intercept)": 251.4,
    }
    scales = dict(zip(estimates, [6.0, 0.3, 1.3, 1.5, 6.8], strict=True))
    lower = pd.Series([0.0, -1.0, 0.0, 0.0, -np.inf], index=list(estimates))
    rows = []
    for name in estimates:
        for zeta in np.linspace(-3, 3, 13):
            row = {"parameter": name, "zeta": zeta}
            for other, est in estimates.items():
                drift = 0.0 if other == name else 0.1 * zeta * scales[other]
                row[other] = est + (zeta * scales[name] if other == name else drift)
            rows.append(row)
    return HandProfile(pd.DataFrame(rows), lower)


def test_profile_zeta_against_hand_profile(sleep):
    profile = hand_profile()
    fig = sleep.plot.profile_zeta(profile)
    render(fig)
    assert [ax.get_xlabel() for ax in fig.axes] == list(profile.table["parameter"].unique())
    ax = fig.axes[0]
    (curve,) = lines_with_label(ax, "zeta")
    assert len(curve.get_xdata()) == 13
    np.testing.assert_allclose(curve.get_ydata(), np.linspace(-3, 3, 13))
    # 5 levels, both ends inside +-3 for each: the 95% ends at 25 -+ 1.96 * 6
    ends = np.concatenate([np.asarray(c.get_segments())[:, 0, 0] for c in collections_of(ax)])
    assert ends.size == 10
    assert np.min(np.abs(ends - (25.0 - Z95 * 6.0))) < 1e-9
    assert fig.axes[0].get_ylabel() == "zeta"


def test_profile_zeta_selected_parameters_and_errors():
    profile = hand_profile()
    fig = plots.profile_zeta(profile, ["sigma"])
    assert len(fig.axes) == 1
    with pytest.raises(PlotError, match="not profiled: theta"):
        plots.profile_zeta(profile, ["theta"])
    with pytest.raises(PlotError, match="columns 'parameter' and 'zeta'"):
        plots.profile_zeta(pd.DataFrame({"x": [1.0]}))


def test_profile_pairs_variance_parameters_only():
    profile = hand_profile()
    fig = plots.profile_pairs(profile)
    render(fig)
    names = list(profile.lower.index[:4])  # (Intercept), a fixed effect, has no lower bound
    assert len(fig.axes) == 16
    assert [fig.axes[5 * i].texts[0].get_text() for i in range(4)] == names
    row, column = "cor_Days.(Intercept)|Subject", "sigma"
    panel = fig.axes[1 * 4 + 3]
    (solid,) = lines_with_label(panel, f"profile of {column}")
    (dashed,) = lines_with_label(panel, f"profile of {row}")
    along = profile.table[profile.table["parameter"] == column]
    np.testing.assert_allclose(solid.get_xdata(), along[column])
    np.testing.assert_allclose(solid.get_ydata(), along[row])
    assert len(dashed.get_xdata()) == 13
    assert fig.axes[3 * 4 + 0].get_xlabel() == names[0]
    assert [fig.axes[4 * i].get_ylabel() for i in range(4)] == names
    with pytest.raises(PlotError, match="at least two"):
        plots.profile_pairs(profile, ["sigma"])


def test_profile_pairs_without_bounds_goes_by_name():
    profile = hand_profile()
    fig = plots.profile_pairs(profile.table)  # a bare table: names sd_*, cor_*, sigma
    assert len(fig.axes) == 16


def test_profile_plots_with_real_profile():
    profile_module = pytest.importorskip("mixedmodels.inference.profile")
    fit = mm.lmer("Yield ~ 1 + (1|Batch)", mm.datasets.load("dyestuff"))
    profile = profile_module.profile(fit)
    table = profile.table[np.isfinite(profile.table["zeta"])]
    names = list(dict.fromkeys(table["parameter"]))
    fig = plots.profile_zeta(profile)
    render(fig)
    assert len(fig.axes) == len(names) == 3  # sd, sigma, (Intercept)
    for ax, name in zip(fig.axes, names, strict=True):
        (curve,) = lines_with_label(ax, "zeta")
        assert len(curve.get_xdata()) == (table["parameter"] == name).sum()
        assert ax.get_xlabel() == name
    fig = plots.profile_pairs(profile)
    render(fig)
    assert len(fig.axes) == 4  # sd and sigma
