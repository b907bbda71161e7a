"""The model-check panel and the caterpillar plots of every grouping factor: what they draw."""

from __future__ import annotations

import numpy as np
import pytest
from _postfit import fit

from mixedmodels.influence import cooks_distance, leverage
from mixedmodels.plots import PlotError, caterpillar, check_model, influence_plot
from mixedmodels.plots.check import smooth

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")
from matplotlib.collections import LineCollection, PathCollection  # noqa: E402


@pytest.fixture(autouse=True)
def _close_figures():
    import matplotlib.pyplot as plt

    yield
    plt.close("all")


def _scatter(ax):
    (points,) = [c for c in ax.collections if isinstance(c, PathCollection)]
    return points.get_offsets()


def test_check_model_panels_and_their_content():
    own = fit("penicillin")
    fig = check_model(own)
    titles = [ax.get_title() for ax in fig.axes]
    assert titles == [
        "Linearity",
        "Homogeneity of variance",
        "Influential observations",
        "Normality of residuals",
        "plate: (Intercept)",
        "sample: (Intercept)",
    ]
    linearity = _scatter(fig.axes[0])
    np.testing.assert_allclose(linearity[:, 0], own.fitted)
    np.testing.assert_allclose(linearity[:, 1], own.residuals)
    assert any(line.get_label() == "smooth" for line in fig.axes[0].get_lines())
    influence = _scatter(fig.axes[2])
    np.testing.assert_allclose(influence[:, 0], leverage(own))
    qq = fig.axes[5].get_lines()[0]
    np.testing.assert_allclose(qq.get_ydata(), np.sort(own.ranef["sample"]["(Intercept)"]))
    assert fig._suptitle.get_text() == "Model checks"


def test_influence_plot_contours_and_labels():
    own = fit("sleepstudy")
    ax = influence_plot(own, label_top=2)
    contours = [line for line in ax.get_lines() if line.get_label().startswith("Cook")]
    assert [c.get_label() for c in contours] == ["Cook's distance 0.5", "Cook's distance 1"]
    # on a contour the Cook's distance of lme4 is the contour's level
    x, y = contours[1].get_data()
    i = len(x) // 2
    assert y[i] ** 2 * x[i] / (own.n_fixed * (1 - x[i])) == pytest.approx(1.0)
    labels = [t.get_text() for t in ax.texts]
    top = cooks_distance(own).sort_values(ascending=False).index[:2]
    assert labels == [str(v) for v in top]


def test_caterpillar_draws_every_grouping_factor():
    own = fit("pastes")
    fig = caterpillar(own)
    ylabels = [ax.get_ylabel() for ax in fig.axes]
    assert ylabels == ["cask:batch", "batch"]
    for ax, group in zip(fig.axes, ylabels, strict=True):
        (bars,) = [c for c in ax.collections if isinstance(c, LineCollection)]
        assert len(bars.get_segments()) == len(own.ranef[group])
    single = caterpillar(own, "batch")
    assert [ax.get_ylabel() for ax in single.axes] == ["batch"]


def test_caterpillar_on_given_axes_for_all_factors():
    import matplotlib.pyplot as plt

    own = fit("penicillin")
    fig, axes = plt.subplots(1, 2)
    assert caterpillar(own, ax=axes) is fig
    with pytest.raises(PlotError, match="2 panel"):
        caterpillar(own, ax=axes[0])


def test_smooth_recovers_a_line():
    x = np.linspace(0, 10, 200)
    grid, fitted = smooth(x, 2 * x + 1)
    np.testing.assert_allclose(fitted, 2 * grid + 1, atol=1e-9)
