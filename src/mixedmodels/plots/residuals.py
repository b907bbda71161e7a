"""Residual plots: residuals against fitted values and the normal QQ plot of the residuals."""

from __future__ import annotations

import numpy as np
from scipy import stats

from mixedmodels.plots._common import _POINT, _REFERENCE, _fit_rows, _ppoints, _single_axes


def residuals_vs_fitted(result, *, scaled: bool = False, ax=None):
    """Residuals against fitted values (conditional on the random effects).

    Parameters
    ----------
    result
        A fitted :class:`~mixedmodels.results.LmerResult`.
    scaled
        Divide the residuals by sigma.
    ax
        Axes to draw on; a new figure when None.

    Returns
    -------
    matplotlib.axes.Axes
    """
    ax = _single_axes(ax)
    resid = _fit_rows(result, result.residuals)
    if scaled:
        resid = resid / result.sigma
    ax.scatter(_fit_rows(result, result.fitted), resid, s=12, color="C0", alpha=0.8)
    ax.axhline(0.0, **_REFERENCE)
    ax.set_xlabel("fitted values")
    ax.set_ylabel("scaled residuals" if scaled else "residuals")
    ax.set_title("Residuals vs fitted")
    return ax


def qq_residuals(result, *, ax=None):
    """Normal QQ plot of the scaled residuals with R's ``qqline`` through the quartiles.

    Parameters
    ----------
    result
        A fitted :class:`~mixedmodels.results.LmerResult`.
    ax
        Axes to draw on; a new figure when None.

    Returns
    -------
    matplotlib.axes.Axes
    """
    ax = _single_axes(ax)
    sample = np.sort(_fit_rows(result, result.residuals) / result.sigma)
    theoretical = stats.norm.ppf(_ppoints(sample.size))
    ax.plot(theoretical, sample, label="scaled residuals", **_POINT)
    q_sample = np.quantile(sample, [0.25, 0.75])
    q_norm = stats.norm.ppf([0.25, 0.75])
    slope = (q_sample[1] - q_sample[0]) / (q_norm[1] - q_norm[0])
    intercept = q_sample[0] - slope * q_norm[0]
    ends = np.array([theoretical[0], theoretical[-1]])
    ax.plot(ends, intercept + slope * ends, color="C1", linewidth=1, label="quartile line")
    ax.set_xlabel("standard normal quantiles")
    ax.set_ylabel("scaled residuals")
    ax.set_title("Normal QQ plot of residuals")
    return ax
