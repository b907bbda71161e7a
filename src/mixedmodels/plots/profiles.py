"""Likelihood-profile plots: zeta plots and pairs plots."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from mixedmodels.plots._common import _REFERENCE, PlotError, _panels, _z


def _profile_table(profile) -> pd.DataFrame:
    table = getattr(profile, "table", profile)
    if not isinstance(table, pd.DataFrame) or not {"parameter", "zeta"} <= set(table.columns):
        raise PlotError("expected a Profile (or its table) with columns 'parameter' and 'zeta'")
    return table


def _is_variance_parameter(profile, name: str) -> bool:
    """Variance parameters have finite lower bounds (fixed effects none), else go by name."""
    lower = getattr(profile, "lower", None)
    if isinstance(lower, pd.Series) and name in lower.index:
        return bool(np.isfinite(lower[name]))
    result = getattr(profile, "result", None)
    if result is not None:
        return name not in result.fixef.index
    return name == "sigma" or name.startswith(("sd_", "cor_", ".sig"))


def _profiled(profile, parameters: Sequence[str] | None, variance_only: bool) -> list[str]:
    table = _profile_table(profile)
    names = list(dict.fromkeys(table["parameter"]))
    if parameters is not None:
        unknown = [p for p in parameters if p not in names]
        if unknown:
            raise PlotError(f"not profiled: {', '.join(unknown)}; profiled: {', '.join(names)}")
        return list(parameters)
    if variance_only:
        names = [n for n in names if _is_variance_parameter(profile, n)]
    return names


def _trace(table: pd.DataFrame, name: str) -> pd.DataFrame:
    rows = table[(table["parameter"] == name) & np.isfinite(table["zeta"])]
    return rows.sort_values(name, kind="stable")


def profile_zeta(
    profile,
    parameters: Sequence[str] | None = None,
    *,
    levels: Sequence[float] = (0.5, 0.8, 0.9, 0.95, 0.99),
    ax=None,
):
    """Profile zeta plot: signed root of the deviance change against each parameter.

    A straight line means the Wald approximation is good; the dotted lines mark the profile
    confidence intervals at ``levels`` (lme4's ``xyplot(profile(fit))``).

    Parameters
    ----------
    profile
        A profile from ``result.profile()`` (its ``table`` has columns ``parameter``, ``zeta``
        and one per parameter).
    parameters
        Parameters to draw; every profiled parameter when None.
    levels
        Confidence levels whose interval ends are marked.
    ax
        Axes to draw on, one per parameter; a new figure when None.

    Returns
    -------
    matplotlib.figure.Figure
    """
    table = _profile_table(profile)
    names = _profiled(profile, parameters, variance_only=False)
    fig, axes = _panels(ax, len(names), ncols=min(len(names), 4), size=2.8, sharey=True)
    for panel, name in zip(axes, names, strict=True):
        rows = _trace(table, name)
        values, zeta = rows[name].to_numpy(), rows["zeta"].to_numpy()
        panel.plot(values, zeta, color="C0", marker=".", markersize=3, label="zeta")
        panel.axhline(0.0, **_REFERENCE)
        for level in levels:
            z = _z(level)
            targets = [t for t in (-z, z) if zeta.min() <= t <= zeta.max()]
            ends = [np.interp(t, zeta, values) for t in targets]
            panel.vlines(ends, 0.0, targets, **_REFERENCE)
        panel.set_xlabel(name)
    axes[0].set_ylabel("zeta")
    return fig


def profile_pairs(profile, parameters: Sequence[str] | None = None, *, ax=None):
    """Profile pairs plot: the profile traces of every pair of (variance) parameters.

    Panel (row i, column j) shows parameter i against parameter j along the profile of j
    (solid) and along the profile of i (dashed); where the traces cross at right angles the
    two estimates are uncorrelated (lme4's ``splom(profile(fit))``, upper panels).

    Parameters
    ----------
    profile
        A profile from ``result.profile()``.
    parameters
        Parameters to draw; the variance parameters (standard deviations, correlations,
        sigma: those with a finite lower bound in ``profile.lower``) when None.
    ax
        A square array of axes (k x k for k parameters); a new figure when None.

    Returns
    -------
    matplotlib.figure.Figure
    """
    table = _profile_table(profile)
    names = _profiled(profile, parameters, variance_only=True)
    k = len(names)
    if k < 2:
        raise PlotError(f"a pairs plot needs at least two profiled parameters, got {names}")
    fig, axes = _panels(ax, k * k, ncols=k, size=2.2, sharex="col", sharey="row")
    for i, row_name in enumerate(names):
        for j, col_name in enumerate(names):
            panel = axes[i * k + j]
            if i == j:
                panel.text(
                    0.5,
                    0.5,
                    row_name,
                    ha="center",
                    va="center",
                    wrap=True,
                    transform=panel.transAxes,
                )
                if i == k - 1:
                    panel.set_xlabel(col_name)
                if j == 0:
                    panel.set_ylabel(row_name)
                continue
            along_col = _trace(table, col_name)
            along_row = _trace(table, row_name)
            panel.plot(
                along_col[col_name],
                along_col[row_name],
                color="C0",
                linewidth=1,
                label=f"profile of {col_name}",
            )
            panel.plot(
                along_row[col_name],
                along_row[row_name],
                color="C1",
                linewidth=1,
                linestyle="--",
                label=f"profile of {row_name}",
            )
            if i == k - 1:
                panel.set_xlabel(col_name)
            if j == 0:
                panel.set_ylabel(row_name)
    return fig
