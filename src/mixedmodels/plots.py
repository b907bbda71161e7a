"""Diagnostic and inference plots of fitted models (matplotlib, the ``[plot]`` extra).

Single-panel plots (:func:`residuals_vs_fitted`, :func:`qq_residuals`) return the
:class:`~matplotlib.axes.Axes` they drew on; multi-panel plots (:func:`caterpillar`,
:func:`qq_ranef`, :func:`trajectories`, :func:`profile_zeta`, :func:`profile_pairs`) return the
:class:`~matplotlib.figure.Figure`. Every function accepts ``ax=``: one Axes, or for multi-panel
plots a sequence with one Axes per panel. The same plots are methods of ``result.plot``:

>>> import mixedmodels as mm
>>> fit = mm.lmer("Reaction ~ Days + (Days | Subject)", mm.datasets.load("sleepstudy"))
>>> fig = fit.plot.caterpillar()
>>> ax = fit.plot.residuals()

matplotlib is imported when a plot is drawn, not when this module is imported.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from functools import cached_property

import numpy as np
import pandas as pd
from scipy import stats

from mixedmodels.errors import MixedModelsError

__all__ = [
    "PlotAccessor",
    "PlotError",
    "caterpillar",
    "profile_pairs",
    "profile_zeta",
    "qq_ranef",
    "qq_residuals",
    "residuals_vs_fitted",
    "trajectories",
]

_POINT = {"marker": "o", "linestyle": "none", "markersize": 4, "color": "C0"}
_MAX_LEVEL_LABELS = 60  # caterpillar plots name the levels up to this many
_REFERENCE = {"color": "0.5", "linestyle": ":", "linewidth": 1}


class PlotError(MixedModelsError, ValueError):
    """A plot cannot be drawn with the arguments given (unknown group, wrong number of axes)."""


# -- helpers ---------------------------------------------------------------------------------
def _pyplot():
    try:
        import matplotlib.pyplot as plt
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError("plots need matplotlib: pip install 'mixedmodels[plot]'") from exc
    return plt


def _panels(
    ax,
    n: int,
    *,
    ncols: int | None = None,
    size: float = 2.6,
    height: float | None = None,
    **shared,
):
    """The figure and ``n`` axes to draw on: new ones in a grid, or the ones the caller gave."""
    if ax is not None:
        axes = [ax] if not isinstance(ax, (Sequence, np.ndarray)) else list(np.ravel(ax))
        if len(axes) != n:
            raise PlotError(f"this plot has {n} panel(s) but {len(axes)} axes were given")
        return axes[0].figure, axes
    plt = _pyplot()
    ncols = max(1, min(n, ncols or 4))
    nrows = math.ceil(n / ncols)
    fig, grid = plt.subplots(
        nrows,
        ncols,
        squeeze=False,
        figsize=(1.0 + size * ncols, 0.6 + (height or size) * nrows),
        layout="constrained",
        **shared,
    )
    flat = list(grid.ravel())
    for extra in flat[n:]:
        extra.remove()
    return fig, flat[:n]


def _single_axes(ax):
    if ax is None:
        _, ax = _pyplot().subplots(figsize=(5, 4), layout="constrained")
    return ax


def _group(result, group: str | None) -> str:
    names = list(result.ranef)
    if group is None:
        return names[0]
    if group not in names:
        raise PlotError(f"no grouping factor {group!r}; the model has {', '.join(names)}")
    return group


def _ppoints(n: int) -> np.ndarray:
    """R's ``ppoints``: probabilities for normal QQ plots."""
    a = 3.0 / 8.0 if n <= 10 else 0.5
    return (np.arange(1, n + 1) - a) / (n + 1 - 2 * a)


def _z(level: float) -> float:
    if not 0 < level < 1:
        raise PlotError(f"level must be in (0, 1), got {level}")
    return float(stats.norm.ppf(0.5 + level / 2))


# -- random effects --------------------------------------------------------------------------
def caterpillar(
    result, group: str | None = None, *, level: float = 0.95, sort: bool = True, ax=None
):
    """Caterpillar plot: conditional modes of the random effects with prediction intervals.

    One panel per random-effect term of the grouping factor (lme4's
    ``dotplot(ranef(fit, condVar = TRUE))``), levels on the vertical axis.

    Parameters
    ----------
    result
        A fitted :class:`~mixedmodels.results.LmerResult`.
    group
        Grouping factor; the first one (most levels) when None.
    level
        Coverage of the intervals ``condval +- z * condsd``.
    sort
        Order the levels by the conditional mode of the first term (else in level order).
    ax
        Axes to draw on, one per term; a new figure when None.

    Returns
    -------
    matplotlib.figure.Figure
    """
    group = _group(result, group)
    table = result.ranef_table
    part = table[table["group"] == group]
    terms = list(dict.fromkeys(part["term"]))
    z = _z(level)
    first = part[part["term"] == terms[0]].set_index("level")
    order = list(first["condval"].sort_values(kind="stable").index if sort else first.index)
    height = min(max(2.4, 0.5 + 0.16 * len(order)), 16.0)  # about 0.16 inch per level
    fig, axes = _panels(ax, len(terms), ncols=len(terms), size=3.0, height=height)
    position = np.arange(len(order))
    for panel, term in zip(axes, terms, strict=True):
        rows = part[part["term"] == term].set_index("level").loc[order]
        mode, half = rows["condval"].to_numpy(), z * rows["condsd"].to_numpy()
        panel.hlines(
            position,
            mode - half,
            mode + half,
            color="C0",
            linewidth=1,
            label=f"{level:.0%} interval",
        )
        panel.plot(mode, position, label="conditional mode", **_POINT)
        panel.axvline(0.0, **_REFERENCE)
        panel.set_title(term)
        panel.set_xlabel("conditional mode")
        labelled = panel is axes[0] and len(order) <= _MAX_LEVEL_LABELS
        panel.set_yticks(position if len(order) <= _MAX_LEVEL_LABELS else [])
        panel.set_yticklabels([str(v) for v in order] if labelled else [])
        panel.set_ylim(-0.7, len(order) - 0.3)
    axes[0].set_ylabel(group)
    return fig


def qq_ranef(result, group: str | None = None, *, level: float = 0.95, ax=None):
    """Normal QQ plot of the conditional modes, with their prediction intervals.

    One panel per random-effect term of the grouping factor (lme4's ``qqmath(ranef(fit))``).

    Parameters
    ----------
    result
        A fitted :class:`~mixedmodels.results.LmerResult`.
    group
        Grouping factor; the first one when None.
    level
        Coverage of the vertical intervals; 0 draws none.
    ax
        Axes to draw on, one per term; a new figure when None.

    Returns
    -------
    matplotlib.figure.Figure
    """
    group = _group(result, group)
    table = result.ranef_table
    part = table[table["group"] == group]
    terms = list(dict.fromkeys(part["term"]))
    fig, axes = _panels(ax, len(terms), ncols=len(terms), size=3.0)
    for panel, term in zip(axes, terms, strict=True):
        rows = part[part["term"] == term].sort_values("condval", kind="stable")
        theoretical = stats.norm.ppf(_ppoints(len(rows)))
        mode = rows["condval"].to_numpy()
        if level:
            half = _z(level) * rows["condsd"].to_numpy()
            panel.vlines(
                theoretical,
                mode - half,
                mode + half,
                color="C0",
                linewidth=1,
                label=f"{level:.0%} interval",
            )
        panel.plot(theoretical, mode, label="conditional mode", **_POINT)
        panel.axhline(0.0, **_REFERENCE)
        panel.set_title(term)
        panel.set_xlabel("standard normal quantiles")
    axes[0].set_ylabel(f"conditional modes ({group})")
    return fig


# -- residuals -------------------------------------------------------------------------------
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


# -- longitudinal data -----------------------------------------------------------------------
def _fit_rows(result, values: pd.Series) -> np.ndarray:
    """Per-row values of the fit's rows (rows with weight zero left out, as lm's plots do)."""
    zero = getattr(result.design, "zero_weight", None)
    return values.to_numpy() if zero is None else zero.fit_rows(values.to_numpy())


def _x_values(result, x: str, data: pd.DataFrame | None) -> np.ndarray:
    if data is not None:
        if x not in data.columns:
            raise PlotError(f"data has no column {x!r}")
        return data.loc[result.design.row_index, x].to_numpy(dtype=float)
    names = list(result.design.fixed_names)
    if x not in names:
        raise PlotError(
            f"{x!r} is not a fixed-effect column ({', '.join(names)}); pass data= to use a "
            "column of the data"
        )
    return result.design.X[:, names.index(x)]


def trajectories(
    result,
    x: str,
    group: str | None = None,
    *,
    data: pd.DataFrame | None = None,
    levels: Sequence | None = None,
    max_panels: int = 36,
    population: bool = True,
    ax=None,
):
    """Observed values and fitted trajectories per level of a grouping factor.

    Small multiples, one panel per level (lme4's ``xyplot(y ~ x | g)`` with fitted lines);
    with ``ax`` given, all levels overlaid on that one Axes.

    Parameters
    ----------
    result
        A fitted :class:`~mixedmodels.results.LmerResult`.
    x
        Horizontal variable: a fixed-effect column (e.g. ``"Days"``) or, with ``data``, a
        column of the data the model was fitted to.
    group
        Grouping factor; the first one when None.
    data
        The data frame the model was fitted to (needed only when ``x`` is not a column of X).
    levels
        Levels to draw; the first ``max_panels`` levels when None.
    max_panels
        Most panels drawn when ``levels`` is None.
    population
        Also draw the population (fixed-effects only) prediction, dashed.
    ax
        One Axes to overlay all levels on; small multiples in a new figure when None.

    Returns
    -------
    matplotlib.figure.Figure
    """
    group = _group(result, group)
    block = next(b for b in result.design.blocks if b.group_name == group)
    labels = np.asarray(block.levels, dtype=object)[block.codes]
    xs = _x_values(result, x, data)
    observed = result.design.y
    fitted = _fit_rows(result, result.fitted)
    fixed_only = _fit_rows(result, result.predict(re_form="~0")) if population else None
    all_levels = list(block.levels)
    if levels is None:
        chosen = all_levels[:max_panels]
    else:
        chosen = [str(v) for v in levels]
        unknown = [v for v in chosen if v not in all_levels]
        if unknown:
            raise PlotError(f"unknown level(s) of {group!r}: {', '.join(unknown[:5])}")
    response = result.design.formula.response
    if ax is not None:
        fig, axes = _panels(ax, 1)
    else:
        fig, axes = _panels(None, len(chosen), ncols=6, size=2.0, sharex=True, sharey=True)
    for i, level in enumerate(chosen):
        panel = axes[0] if ax is not None else axes[i]
        rows = np.flatnonzero(labels == level)
        rows = rows[np.argsort(xs[rows], kind="stable")]
        colour = f"C{i % 10}" if ax is not None else "C0"
        panel.plot(
            xs[rows],
            observed[rows],
            marker="o",
            linestyle="none",
            markersize=3,
            color=colour,
            label=f"observed {level}",
        )
        panel.plot(xs[rows], fitted[rows], color=colour, linewidth=1.2, label=f"fitted {level}")
        if fixed_only is not None and ax is None:
            panel.plot(
                xs[rows],
                fixed_only[rows],
                color="0.4",
                linestyle="--",
                linewidth=0.8,
                label="population",
            )
        if ax is None:
            panel.set_title(f"{group} {level}", fontsize="small")
    if ax is not None:
        axes[0].set_xlabel(x)
        axes[0].set_ylabel(response)
    else:
        fig.supxlabel(x)
        fig.supylabel(response)
        if len(chosen) < len(all_levels):
            fig.suptitle(f"{len(chosen)} of {len(all_levels)} levels of {group}")
    return fig


# -- likelihood profiles ---------------------------------------------------------------------
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


# -- accessor --------------------------------------------------------------------------------
class PlotAccessor:
    """The plots of one fitted model, as ``result.plot.<name>(...)``.

    Parameters
    ----------
    result
        A fitted :class:`~mixedmodels.results.LmerResult`.
    """

    def __init__(self, result) -> None:
        self._result = result

    @cached_property
    def _profile(self):
        return self._result.profile()

    def caterpillar(self, group: str | None = None, **kwargs):
        """Caterpillar plot of the random effects; see :func:`caterpillar`."""
        return caterpillar(self._result, group, **kwargs)

    def qq_ranef(self, group: str | None = None, **kwargs):
        """Normal QQ plot of the random effects; see :func:`qq_ranef`."""
        return qq_ranef(self._result, group, **kwargs)

    def residuals(self, **kwargs):
        """Residuals against fitted values; see :func:`residuals_vs_fitted`."""
        return residuals_vs_fitted(self._result, **kwargs)

    def qq(self, **kwargs):
        """Normal QQ plot of the scaled residuals; see :func:`qq_residuals`."""
        return qq_residuals(self._result, **kwargs)

    def trajectories(self, x: str, group: str | None = None, **kwargs):
        """Observed and fitted trajectories per group; see :func:`trajectories`."""
        return trajectories(self._result, x, group, **kwargs)

    def profile_zeta(self, profile=None, parameters: Sequence[str] | None = None, **kwargs):
        """Profile zeta plot; profiles the model (once) when ``profile`` is None.

        See :func:`profile_zeta`.
        """
        return profile_zeta(profile if profile is not None else self._profile, parameters, **kwargs)

    def profile_pairs(self, profile=None, parameters: Sequence[str] | None = None, **kwargs):
        """Profile pairs plot; profiles the model (once) when ``profile`` is None.

        See :func:`profile_pairs`.
        """
        return profile_pairs(
            profile if profile is not None else self._profile, parameters, **kwargs
        )

    def __repr__(self) -> str:
        methods = "caterpillar, qq_ranef, residuals, qq, trajectories, profile_zeta, profile_pairs"
        return f"<plots of {self._result!r}: {methods}>"
