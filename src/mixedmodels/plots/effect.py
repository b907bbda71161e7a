"""Effect plots: predictions over one covariate, by a factor, with confidence bands.

The look of ggeffects' ``ggpredict``: the population-level prediction (fixed effects only,
``re_form="~0"``) over the range of ``x`` with its confidence band, one line and band per
level of ``by``; the other variables held at typical values (numeric at their mean, factors
at their first level, as ggpredict's defaults); optionally the observed data behind them.
A factor ``x`` gives points with error bars, dodged by ``by``. A result with a ``family``
whose ``linkinv`` maps the linear predictor to the response (a GLMM) is drawn on the
response scale, the band's ends mapped the same way.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from mixedmodels.fastmatrix import required_variables
from mixedmodels.plots._common import PlotError, _single_axes
from mixedmodels.predict_intervals import predict_frame

__all__ = ["effects", "effects_frame"]

_BAND_ALPHA = 0.18


def _fit_data(result, data: pd.DataFrame | None) -> pd.DataFrame:
    if data is not None:
        return data
    kept = getattr(result.model, "frame", None)
    if kept is None:
        raise PlotError("this fit keeps no data (a refit or restored fit): pass data=")
    return kept


def _is_factor(column: pd.Series) -> bool:
    return not pd.api.types.is_numeric_dtype(column) or pd.api.types.is_bool_dtype(column)


def _levels(column: pd.Series) -> list:
    if isinstance(column.dtype, pd.CategoricalDtype):
        return list(column.cat.categories)
    return sorted(column.dropna().unique().tolist(), key=str)


def _variables(result) -> list[str]:
    return sorted(set(required_variables(result.design.formula.fixed)))


def _typical(column: pd.Series):
    if _is_factor(column):
        return _levels(column)[0]
    return float(column.mean())


def _linkinv(result):
    family = getattr(result, "family", None)
    return getattr(family, "linkinv", None)


def effects_frame(
    result,
    x: str,
    by: str | None = None,
    *,
    data: pd.DataFrame | None = None,
    n: int = 50,
    level: float = 0.95,
    at: dict | None = None,
) -> pd.DataFrame:
    """The predictions an effect plot draws (ggpredict's table).

    Parameters
    ----------
    result
        A fitted :class:`~mixedmodels.results.LmerResult`.
    x
        Variable on the horizontal axis: numeric (a grid of ``n`` values over its range) or a
        factor (its levels).
    by
        A factor (or a numeric variable, at its mean and mean +- 1 SD) drawn as separate lines.
    data
        The data of the fit; by default the data the fit was made from.
    n
        Grid points of a numeric ``x``.
    level
        Coverage of the confidence band.
    at
        Values for the other variables (default: means and first levels).

    Returns
    -------
    pandas.DataFrame
        Columns ``x``, ``group`` (the level of ``by``, or "all"), ``predicted``, ``se``,
        ``lower``, ``upper``, plus the grid's variables by name.
    """
    frame = _fit_data(result, data)
    variables = _variables(result)
    for name in [x] + ([by] if by else []):
        if name not in frame.columns:
            raise PlotError(f"the data have no column {name!r}")
        if name not in variables:
            raise PlotError(
                f"{name!r} is not a fixed-effect variable of the model ({', '.join(variables)})"
            )
    column = frame[x]
    xs = _levels(column) if _is_factor(column) else np.linspace(column.min(), column.max(), n)
    if by is None:
        groups: list[object] = [None]
    elif _is_factor(frame[by]):
        groups = _levels(frame[by])
    else:
        mean, sd = float(frame[by].mean()), float(frame[by].std())
        groups = [mean - sd, mean, mean + sd]
    fixed = {v: _typical(frame[v]) for v in variables if v not in (x, by)}
    fixed.update(at or {})
    rows = []
    for g in groups:
        for value in xs:
            row = dict(fixed)
            row[x] = value
            if by is not None:
                row[by] = g
            rows.append(row)
    grid = pd.DataFrame(rows)
    for v in variables:
        if v in frame.columns and isinstance(frame[v].dtype, pd.CategoricalDtype):
            grid[v] = pd.Categorical(grid[v], categories=frame[v].cat.categories)
    pred = predict_frame(result, grid, re_form="~0", interval="confidence", level=level)
    out = pd.DataFrame(
        {
            "x": grid[x].to_numpy(),
            "group": ["all"] * len(grid) if by is None else grid[by].to_numpy(),
            "predicted": pred["fit"].to_numpy(),
            "se": pred["se_fit"].to_numpy(),
            "lower": pred["lower"].to_numpy(),
            "upper": pred["upper"].to_numpy(),
        }
    )
    inverse = _linkinv(result)
    if inverse is not None:
        for column_name in ("predicted", "lower", "upper"):
            out[column_name] = inverse(out[column_name].to_numpy())
    return pd.concat([out, grid.drop(columns=[c for c in (x, by) if c])], axis=1)


def effects(
    result,
    x: str,
    by: str | None = None,
    *,
    data: pd.DataFrame | None = None,
    n: int = 50,
    level: float = 0.95,
    at: dict | None = None,
    show_data: bool = True,
    ax=None,
):
    """Effect plot: predicted response over ``x``, by ``by``, with confidence bands.

    See :func:`effects_frame` for the parameters; ``show_data`` adds the observations,
    faded, behind the predictions.

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> import mixedmodels as mm
    >>> fit = mm.lmer("Weight ~ Time * Evit + Cu + (Time | Pig)", mm.datasets.load("dietox"))
    >>> ax = fit.plot.effects("Time", by="Evit")
    >>> [t.get_text() for t in ax.get_legend().get_texts()]
    ['Evit000', 'Evit100', 'Evit200']
    """
    table = effects_frame(result, x, by, data=data, n=n, level=level, at=at)
    frame = _fit_data(result, data)
    ax = _single_axes(ax)
    groups = list(dict.fromkeys(table["group"]))
    factor_x = _is_factor(frame[x])
    response = result.design.formula.response
    used = frame.loc[result.design.row_index]
    for k, g in enumerate(groups):
        colour = f"C{k % 10}"
        part = table[table["group"] == g]
        label = None if by is None else (str(g) if not isinstance(g, float) else f"{g:.3g}")
        if show_data:
            rows = used if by is None or not _is_factor(frame[by]) else used[used[by] == g]
            xs = rows[x]
            if factor_x:
                codes = pd.Categorical(xs, categories=list(part["x"])).codes.astype(float)
                rng = np.random.default_rng(k)
                xs = codes + (k - (len(groups) - 1) / 2) * 0.12 + rng.uniform(-0.04, 0.04, len(xs))
            ax.scatter(xs, result.design.y[used.index.get_indexer(rows.index)], s=6,
                       color=colour, alpha=0.25, linewidths=0, label="_data")  # fmt: skip
        if factor_x:
            position = np.arange(len(part)) + (k - (len(groups) - 1) / 2) * 0.12
            mid = part["predicted"].to_numpy(dtype=float)
            ax.errorbar(
                position,
                mid,
                yerr=[mid - part["lower"].to_numpy(float), part["upper"].to_numpy(float) - mid],
                fmt="o",
                color=colour,
                capsize=3,
                label=label,
            )
        else:
            ax.fill_between(
                part["x"].astype(float),
                part["lower"],
                part["upper"],
                color=colour,
                alpha=_BAND_ALPHA,
                linewidth=0,
                label=f"_band {g}",
            )
            ax.plot(part["x"].astype(float), part["predicted"], color=colour, linewidth=1.6,
                    label=label)  # fmt: skip
    if factor_x:
        levels = list(table[table["group"] == groups[0]]["x"])
        ax.set_xticks(np.arange(len(levels)))
        ax.set_xticklabels([str(v) for v in levels])
    ax.set_xlabel(x)
    ax.set_ylabel(response)
    ax.set_title(f"Predicted values of {response}")
    if by is not None:
        ax.legend(title=by, frameon=False)
    ax.grid(True, color="0.92", linewidth=0.8)
    ax.set_axisbelow(True)
    return ax
