"""Random-effect plots: caterpillar plots and normal QQ plots of the conditional modes."""

from __future__ import annotations

import numpy as np
from scipy import stats

from mixedmodels.plots._common import (
    _MAX_LEVEL_LABELS,
    _POINT,
    _REFERENCE,
    _group,
    _panels,
    _ppoints,
    _pyplot,
    _z,
)


def _factor_rows(result, group: str):
    table = result.ranef_table
    part = table[table["group"] == group]
    return part, list(dict.fromkeys(part["term"]))


def _draw_caterpillar(result, group: str, axes, z: float, level: float, sort: bool) -> None:
    """One grouping factor's panels (one per term) on ``axes``."""
    part, terms = _factor_rows(result, group)
    first = part[part["term"] == terms[0]].set_index("level")
    order = list(first["condval"].sort_values(kind="stable").index if sort else first.index)
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


def _height(n_levels: int) -> float:
    return min(max(2.4, 0.5 + 0.16 * n_levels), 16.0)  # about 0.16 inch per level


def caterpillar(
    result, group: str | None = None, *, level: float = 0.95, sort: bool = True, ax=None
):
    """Caterpillar plot: conditional modes of the random effects with prediction intervals.

    One panel per random-effect term of each grouping factor (lme4's
    ``dotplot(ranef(fit, condVar = TRUE))``), levels on the vertical axis; every grouping
    factor, one row of panels each, unless ``group`` names one.

    Parameters
    ----------
    result
        A fitted :class:`~mixedmodels.results.LmerResult`.
    group
        Grouping factor to draw; every factor when None.
    level
        Coverage of the intervals ``condval +- z * condsd``.
    sort
        Order the levels by the conditional mode of the first term (else in level order).
    ax
        Axes to draw on, one per term (of every factor drawn, factor after factor); a new
        figure when None.

    Returns
    -------
    matplotlib.figure.Figure
    """
    z = _z(level)
    groups = list(result.ranef) if group is None else [_group(result, group)]
    terms = {g: _factor_rows(result, g)[1] for g in groups}
    if ax is not None or len(groups) == 1:
        total = sum(len(t) for t in terms.values())
        only = groups[0]
        height = _height(len(result.ranef[only])) if len(groups) == 1 else 2.4
        fig, axes = _panels(ax, total, ncols=total, size=3.0, height=height)
        start = 0
        for g in groups:
            _draw_caterpillar(result, g, axes[start : start + len(terms[g])], z, level, sort)
            start += len(terms[g])
        return fig
    plt = _pyplot()
    heights = [_height(len(result.ranef[g])) for g in groups]
    width = max(len(t) for t in terms.values())
    fig = plt.figure(figsize=(1.0 + 3.0 * width, 0.6 + sum(heights)), layout="constrained")
    rows = fig.subfigures(len(groups), 1, height_ratios=heights)
    for sub, g in zip(np.atleast_1d(rows), groups, strict=True):
        axes = list(np.ravel(sub.subplots(1, len(terms[g]), squeeze=False)))
        _draw_caterpillar(result, g, axes, z, level, sort)
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
