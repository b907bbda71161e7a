"""Observed values and fitted trajectories per level of a grouping factor."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from mixedmodels.plots._common import PlotError, _fit_rows, _group, _panels


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
