"""What every plot shares: the error class, axes handling, styles, normal quantiles."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from scipy import stats

from mixedmodels.errors import MixedModelsError

_POINT = {"marker": "o", "linestyle": "none", "markersize": 4, "color": "C0"}
_MAX_LEVEL_LABELS = 60  # caterpillar plots name the levels up to this many
_REFERENCE = {"color": "0.5", "linestyle": ":", "linewidth": 1}


class PlotError(MixedModelsError, ValueError):
    """A plot cannot be drawn with the arguments given (unknown group, wrong number of axes)."""


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


def _fit_rows(result, values) -> np.ndarray:
    """Per-row values of the fit's rows (rows with weight zero left out, as lm's plots do)."""
    zero = getattr(result.design, "zero_weight", None)
    return values.to_numpy() if zero is None else zero.fit_rows(values.to_numpy())
