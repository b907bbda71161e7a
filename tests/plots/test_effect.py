"""Effect plots: the bands, lines, points and labels drawn are the predictions and their
confidence intervals."""

from __future__ import annotations

import io

import numpy as np
import pytest
from _postfit import data, fit

from mixedmodels.plots import PlotError, effects, effects_frame
from mixedmodels.predict_intervals import predict_frame

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")
from matplotlib.collections import PathCollection, PolyCollection  # noqa: E402


@pytest.fixture(autouse=True)
def _close_figures():
    import matplotlib.pyplot as plt

    yield
    plt.close("all")


def _png(fig) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=40)
    return buffer.getvalue()


def test_effects_frame_is_the_fixed_prediction_over_the_grid():
    own = fit("dietox")
    table = effects_frame(own, "Time", by="Evit", n=7)
    assert list(dict.fromkeys(table["group"])) == ["Evit000", "Evit100", "Evit200"]
    assert len(table) == 21
    one = table[table["group"] == "Evit100"]
    np.testing.assert_allclose(one["x"], np.linspace(1, 12, 7))
    assert (one["Cu"] == "Cu000").all()  # other factors at their first level
    beta = own.fixef
    expected = (
        beta["(Intercept)"]
        + beta["EvitEvit100"]
        + (beta["Time"] + beta["Time:EvitEvit100"]) * one["x"].astype(float)
    )
    np.testing.assert_allclose(one["predicted"], expected)
    direct = predict_frame(own, one.rename(columns={"x": "Time", "group": "Evit"}), "~0")
    np.testing.assert_allclose(one["lower"], direct["lower"])
    np.testing.assert_allclose(one["upper"], direct["upper"])


def test_effect_plot_draws_one_line_and_band_per_level():
    own = fit("dietox")
    ax = effects(own, "Time", by="Evit", n=9)
    table = effects_frame(own, "Time", by="Evit", n=9)
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend == ["Evit000", "Evit100", "Evit200"]
    bands = [c for c in ax.collections if isinstance(c, PolyCollection)]
    assert len(bands) == 3
    for level in legend:
        (line,) = [ln for ln in ax.get_lines() if ln.get_label() == level]
        part = table[table["group"] == level]
        np.testing.assert_allclose(line.get_ydata(), part["predicted"])
    # the band of the first level spans exactly its confidence interval
    vertices = bands[0].get_paths()[0].vertices
    part = table[table["group"] == "Evit000"]
    assert vertices[:, 1].min() == pytest.approx(part["lower"].min())
    assert vertices[:, 1].max() == pytest.approx(part["upper"].max())
    points = [c for c in ax.collections if isinstance(c, PathCollection)]
    assert sum(len(c.get_offsets()) for c in points) == own.nobs  # the data behind
    assert ax.get_xlabel() == "Time"
    assert ax.get_ylabel() == "Weight"
    assert ax.get_title() == "Predicted values of Weight"
    assert _png(ax.figure)[:4] == b"\x89PNG"


def test_factor_x_gives_points_with_error_bars():
    own = fit("dietox")
    ax = effects(own, "Cu", by="Evit", show_data=False)
    assert [t.get_text() for t in ax.get_xticklabels()] == ["Cu000", "Cu035", "Cu175"]
    table = effects_frame(own, "Cu", by="Evit")
    first = [c for c in ax.containers][0]  # errorbar container of Evit000
    y = first.lines[0].get_ydata()
    np.testing.assert_allclose(y, table[table["group"] == "Evit000"]["predicted"])
    assert not [c for c in ax.collections if isinstance(c, PathCollection)]


def test_numeric_by_and_no_by():
    own = fit("sleepstudy")
    ax = effects(own, "Days")
    assert ax.get_legend() is None
    (line,) = [ln for ln in ax.get_lines() if not ln.get_label().startswith("_")] or [
        ln for ln in ax.get_lines()
    ]
    assert len(line.get_xdata()) == 50


def test_effect_plot_errors():
    own = fit("dietox")
    with pytest.raises(PlotError, match="no column 'Age'"):
        effects(own, "Age")
    with pytest.raises(PlotError, match="not a fixed-effect variable"):
        effects(own, "Pig")
    refit = own.model.refit(own.design.y)
    with pytest.raises(PlotError, match="pass data="):
        effects(refit, "Time")
    assert effects(refit, "Time", data=data("dietox")) is not None
