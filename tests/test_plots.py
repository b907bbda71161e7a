"""Tests for mixedmodels.plots: what each plot draws, rendered with the Agg backend."""

from __future__ import annotations

import io
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.collections import LineCollection, PathCollection  # noqa: E402
from scipy import stats  # noqa: E402

try:
    import mixedmodels  # noqa: F401
except ImportError:  # not installed: run from the source tree
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

import mixedmodels as mm  # noqa: E402
from mixedmodels import plots  # noqa: E402
from mixedmodels.plots import PlotError  # noqa: E402

Z95 = stats.norm.ppf(0.975)


@pytest.fixture(scope="module")
def sleep():
    return mm.lmer("Reaction ~ Days + (Days | Subject)", mm.datasets.load("sleepstudy"))


@pytest.fixture(scope="module")
def penicillin():
    return mm.lmer("diameter ~ 1 + (1|plate) + (1|sample)", mm.datasets.load("penicillin"))


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def render(fig) -> bytes:
    """Render to PNG (catches errors that only show when drawing)."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=40)
    data = buffer.getvalue()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return data


def lines_with_label(ax, label):
    return [line for line in ax.get_lines() if line.get_label() == label]


def collections_of(ax, kind=LineCollection):
    return [c for c in ax.collections if isinstance(c, kind)]


# -- caterpillar -----------------------------------------------------------------------------
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


# -- trajectories ----------------------------------------------------------------------------
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


# -- profiles --------------------------------------------------------------------------------
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
