"""The model-check panel (performance's ``check_model``) and its other panels.

Its influence and scale-location panels are also drawn alone.

:func:`check_model` draws, for a linear mixed model: residuals against fitted values with a
smooth (linearity), the scale-location plot (``sqrt(|standardised residual|)`` against fitted
values, homogeneity of variance), the influence plot (standardised residuals against
leverage with Cook's distance contours at 0.5 and 1), the normal QQ plot of the residuals and
one normal QQ plot per random-effect term of every grouping factor.
"""

from __future__ import annotations

import math

import numpy as np

from mixedmodels.influence import cooks_distance, leverage, pearson_residuals
from mixedmodels.plots._common import (
    _POINT,
    _REFERENCE,
    _fit_rows,
    _panels,
    _ppoints,
    _single_axes,
)

__all__ = ["check_model", "influence_plot", "scale_location", "smooth"]

_SMOOTH = {"color": "C1", "linewidth": 1.4}
_COOK_LEVELS = (0.5, 1.0)


def smooth(x: np.ndarray, y: np.ndarray, frac: float = 2 / 3, points: int = 60):
    """A local linear smoother (tricube weights over the ``frac`` nearest points).

    Evaluated at ``points`` values over the range of ``x``; a loess-like line for the
    diagnostic panels without a statistics dependency.

    Returns
    -------
    grid, fitted
    """
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    grid = np.linspace(x.min(), x.max(), points)
    k = max(3, int(math.ceil(frac * x.size)))
    fitted = np.empty(points)
    for i, g in enumerate(grid):
        distance = np.abs(x - g)
        h = np.partition(distance, k - 1)[k - 1] or 1.0
        w = np.clip(1 - (distance / h) ** 3, 0, None) ** 3
        sw = w.sum()
        mx, my = (w @ x) / sw, (w @ y) / sw
        sxx = w @ (x - mx) ** 2
        slope = (w @ ((x - mx) * (y - my))) / sxx if sxx > 0 else 0.0
        fitted[i] = my + slope * (g - mx)
    return grid, fitted


def _standardised(result) -> np.ndarray:
    """Residuals over ``sigma sqrt(1 - h)``, times ``sqrt(w)``: internally studentised."""
    h = leverage(result).to_numpy()
    r = pearson_residuals(result).to_numpy()
    with np.errstate(divide="ignore", invalid="ignore"):
        return r / (result.sigma * np.sqrt(1.0 - h))


def scale_location(result, *, ax=None):
    """Scale-location plot: ``sqrt(|standardised residual|)`` against fitted values.

    A flat smooth means homogeneous residual variance.

    Returns
    -------
    matplotlib.axes.Axes
    """
    ax = _single_axes(ax)
    fitted = _fit_rows(result, result.fitted)
    value = np.sqrt(np.abs(_standardised(result)))
    ax.scatter(fitted, value, s=10, color="C0", alpha=0.6, label="observations")
    ax.plot(*smooth(fitted, value), label="smooth", **_SMOOTH)
    ax.set_xlabel("fitted values")
    ax.set_ylabel(r"$\sqrt{|\mathrm{standardised\ residual}|}$")
    ax.set_title("Homogeneity of variance")
    return ax


def influence_plot(result, *, ax=None, label_top: int = 3):
    """Standardised residuals against leverage, with Cook's distance contours.

    The contours are where lme4's Cook's distance equals 0.5 and 1; the ``label_top`` rows of
    largest Cook's distance are labelled with their row labels.

    Returns
    -------
    matplotlib.axes.Axes
    """
    ax = _single_axes(ax)
    h = leverage(result).to_numpy()
    r = _standardised(result)
    ax.scatter(h, r, s=10, color="C0", alpha=0.6, label="observations")
    p = result.n_fixed
    top = max(h.max() * 1.05, 1e-3)
    grid = np.linspace(1e-4, min(top, 0.999), 100)
    for level in _COOK_LEVELS:
        # D = r_s^2 h / (p (1 - h)) with r_s the standardised residual
        bound = np.sqrt(level * p * (1 - grid) / grid)
        ax.plot(grid, bound, color="C3", linestyle="--", linewidth=0.9,
                label=f"Cook's distance {level:g}")  # fmt: skip
        ax.plot(grid, -bound, color="C3", linestyle="--", linewidth=0.9, label="_")
    limit = max(3.0, 1.1 * np.nanmax(np.abs(r)))
    ax.set_ylim(-limit, limit)
    ax.set_xlim(0, top)
    d = cooks_distance(result).to_numpy()
    labels = result.design.row_index
    for i in np.argsort(np.nan_to_num(d, nan=-1.0))[::-1][:label_top]:
        ax.annotate(str(labels[i]), (h[i], r[i]), fontsize="x-small", xytext=(3, 3),
                    textcoords="offset points")  # fmt: skip
    ax.axhline(0.0, **_REFERENCE)
    ax.set_xlabel("leverage")
    ax.set_ylabel("standardised residuals")
    ax.set_title("Influential observations")
    cook = [line for line in ax.get_lines() if line.get_label().startswith("Cook")]
    ax.legend(handles=cook[:1], labels=["Cook's distance 0.5, 1"], loc="lower right",
              fontsize="x-small", frameon=False)  # fmt: skip
    return ax


def _qq_panel(ax, values: np.ndarray, title: str, ylabel: str) -> None:
    from scipy import stats

    sample = np.sort(values)
    theoretical = stats.norm.ppf(_ppoints(sample.size))
    ax.plot(theoretical, sample, label="quantiles", **_POINT)
    q = np.quantile(sample, [0.25, 0.75])
    qn = stats.norm.ppf([0.25, 0.75])
    slope = (q[1] - q[0]) / (qn[1] - qn[0])
    ends = np.array([theoretical[0], theoretical[-1]])
    ax.plot(ends, q[0] + slope * (ends - qn[0]), color="C1", linewidth=1, label="quartile line")
    ax.set_title(title)
    ax.set_xlabel("standard normal quantiles")
    ax.set_ylabel(ylabel)


def _linearity(result, ax) -> None:
    fitted = _fit_rows(result, result.fitted)
    resid = _fit_rows(result, result.residuals)
    ax.scatter(fitted, resid, s=10, color="C0", alpha=0.6, label="observations")
    ax.plot(*smooth(fitted, resid), label="smooth", **_SMOOTH)
    ax.axhline(0.0, **_REFERENCE)
    ax.set_xlabel("fitted values")
    ax.set_ylabel("residuals")
    ax.set_title("Linearity")


def check_model(result, *, ax=None):
    """The model-check panel of performance's ``check_model``.

    Panels: linearity (residuals vs fitted), homogeneity of variance (scale-location),
    influential observations (leverage), normality of residuals (QQ), then one QQ panel per
    random-effect term of every grouping factor (normality of the random effects).

    Parameters
    ----------
    result
        A fitted :class:`~mixedmodels.results.LmerResult`.
    ax
        Axes to draw on, one per panel (4 plus the number of random-effect terms).

    Returns
    -------
    matplotlib.figure.Figure
    """
    table = result.ranef_table
    terms = list(dict.fromkeys(zip(table["group"], table["term"])))
    fig, axes = _panels(ax, 4 + len(terms), ncols=3, size=3.4, height=3.0)
    _linearity(result, axes[0])
    scale_location(result, ax=axes[1])
    influence_plot(result, ax=axes[2])
    _qq_panel(axes[3], _fit_rows(result, result.residuals) / result.sigma, "Normality of residuals",
              "scaled residuals")  # fmt: skip
    for panel, (group, term) in zip(axes[4:], terms, strict=True):
        rows = table[(table["group"] == group) & (table["term"] == term)]
        _qq_panel(panel, rows["condval"].to_numpy(), f"{group}: {term}",
                  "conditional modes")  # fmt: skip
    if ax is None:
        fig.suptitle("Model checks")
    return fig
