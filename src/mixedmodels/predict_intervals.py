"""The uncertainty of :func:`mixedmodels.predict.predict`.

Standard errors, confidence and prediction intervals of predictions, and responses simulated
for new data.

* :func:`predict_frame` adds standard errors and intervals. ``interval="confidence"``: the
  fixed-effect part ``x'beta`` with ``se = sqrt(x' V x)``; with random effects included
  (``re_form`` not ``"~0"``) the standard error is that of the conditional prediction
  ``x'beta + z'b`` around its target (``sigma^2 v' Omega^-1 v``, through the factor: see
  :mod:`mixedmodels.linalg.rows`). ``interval="prediction"``: merTools' ``predictInterval``
  (simulation of sigma, beta and the random effects, plus the residual) or the parametric
  bootstrap (``method="bootstrap"``).
* :func:`simulate` draws responses for new data, with the fitted random effects
  (``use_u=True``, lme4's ``use.u``) or new ones.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from scipy.special import ndtri

from mixedmodels.errors import ConvergenceWarning, DesignError
from mixedmodels.inference.bootstrap import _Simulator
from mixedmodels.levels import group_codes
from mixedmodels.linalg.rows import RowBlock, row_quadratic
from mixedmodels.predict import (
    _as_frame,
    _fixed_values,
    _piece_rows,
    _rows_prediction,
    random_pieces,
)

__all__ = ["predict_frame", "prediction_se", "simulate"]


def _full_rows(result, pieces, newdata, allow_new_levels):
    """RowBlocks over every engine block with only the pieces' columns (others zero)."""
    design = result.design
    n = design.n if newdata is None else len(newdata)
    mats = [np.zeros((n, b.size)) for b in design.blocks]
    codes = [np.full(n, -1, dtype=np.intp) for _ in design.blocks]
    for piece in pieces:
        c, matrix = _piece_rows(result, piece, newdata, allow_new_levels)
        mats[piece.block_index][:, list(piece.columns)] = matrix
        codes[piece.block_index] = c
    return [RowBlock(np.asarray(c), np.nan_to_num(m)) for c, m in zip(codes, mats)]


def prediction_se(result, newdata=None, re_form=None, allow_new_levels: bool = False):
    """Standard errors of the predictions (see the module docstring)."""
    pieces = random_pieces(result, re_form)
    X, _ = _fixed_values(result, newdata)
    if not pieces:
        V = result.vcov.to_numpy()
        return np.sqrt(np.einsum("na,ab,nb->n", X, V, X))

    rows = _full_rows(result, pieces, newdata, allow_new_levels)
    h = row_quadratic(
        result.model.stats,
        result.factor,
        result.model.lambdas(result.theta),
        rows,
        np.nan_to_num(X),
    )
    se = result.sigma * np.sqrt(h)
    return np.where(np.isnan(X).any(axis=1), np.nan, se)


def predict_frame(
    result,
    newdata: pd.DataFrame | None = None,
    re_form=None,
    *,
    interval: str | None = "confidence",
    level: float = 0.95,
    allow_new_levels: bool = False,
    method: str = "simulation",
    n_sims: int = 1000,
    seed=None,
    include_residual: bool = True,
    stat: str = "median",
) -> pd.DataFrame:
    """Predictions with standard errors and intervals.

    Parameters
    ----------
    result
        A fitted :class:`~mixedmodels.results.LmerResult`.
    newdata, re_form, allow_new_levels
        As in :func:`predict`.
    interval
        ``"confidence"`` (normal-theory interval of the prediction from ``se_fit``),
        ``"prediction"`` (an interval for a new observation) or None (no interval).
    level
        Coverage of the interval.
    method
        For prediction intervals: ``"simulation"`` (merTools' ``predictInterval``: sigma from
        its scaled inverse chi-square, beta from N(beta, vcov), each level's random effects
        from N(b, condvar), then the residual) or ``"bootstrap"`` (the parametric bootstrap:
        refit ``n_sims`` simulated responses and add a residual to each refit's prediction;
        the responses are simulated given the fitted random effects when ``re_form``
        includes any, as ``bootMer(use.u = TRUE)``).
    n_sims
        Number of simulations or bootstrap replicates.
    seed
        Seed of the simulation (None, an int or a ``numpy.random.Generator``).
    include_residual
        Add the residual variation (a prediction interval); False gives an interval for the
        conditional mean by simulation.
    stat
        For simulation intervals, ``fit`` is the ``"median"`` (merTools' default) or the
        ``"mean"`` of the simulations; otherwise ``fit`` is the prediction.

    Returns
    -------
    pandas.DataFrame
        Columns ``fit``, ``se_fit`` and, with an interval, ``lower`` and ``upper``.

    Examples
    --------
    >>> import mixedmodels as mm
    >>> fit = mm.lmer("Reaction ~ Days + (Days | Subject)", mm.datasets.load("sleepstudy"))
    >>> grid = mm.datasets.load("sleepstudy").head(3)
    >>> fit.predict_frame(grid, re_form="~0").round(2)
          fit  se_fit   lower   upper
    0  251.41    6.82  238.03  264.78
    1  261.87    6.79  248.57  275.17
    2  272.34    7.09  258.44  286.24
    """
    if not 0 < level < 1:
        raise DesignError(f"level must be in (0, 1), got {level!r}")
    newdata = _as_frame(newdata)
    if interval not in (None, "confidence", "prediction"):
        raise DesignError(f"interval must be None, 'confidence' or 'prediction', got {interval!r}")
    fit = _rows_prediction(result, newdata, re_form, allow_new_levels)
    se = prediction_se(result, newdata, re_form, allow_new_levels)
    frame = pd.DataFrame({"fit": fit.to_numpy(), "se_fit": se}, index=fit.index)
    if interval is None:
        return frame
    if interval == "confidence":
        z = float(ndtri(0.5 + level / 2))
        frame["lower"] = frame["fit"] - z * se
        frame["upper"] = frame["fit"] + z * se
        return frame
    if method == "simulation":
        draws = simulate_predictions(
            result, newdata, re_form, allow_new_levels, n_sims, seed, include_residual
        )
    elif method == "bootstrap":
        draws = bootstrap_predictions(
            result, newdata, re_form, allow_new_levels, n_sims, seed, include_residual
        )
    else:
        raise DesignError(f"method must be 'simulation' or 'bootstrap', got {method!r}")
    if stat not in ("median", "mean"):
        raise DesignError(f"stat must be 'median' or 'mean', got {stat!r}")
    tail = (1 - level) / 2
    if method == "simulation":
        center = np.median(draws, axis=1) if stat == "median" else draws.mean(axis=1)
        frame["fit"] = center
    frame["lower"] = np.quantile(draws, tail, axis=1)
    frame["upper"] = np.quantile(draws, 1 - tail, axis=1)
    return frame


def _generator(seed) -> np.random.Generator:
    return seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)


def simulate_predictions(
    result, newdata, re_form, allow_new_levels, n_sims, seed, include_residual
) -> np.ndarray:
    """merTools' ``predictInterval`` draws, ``(rows, n_sims)``."""
    rng = _generator(seed)
    n_sims = int(n_sims)
    if n_sims < 2:
        raise DesignError(f"n_sims must be at least 2, got {n_sims!r}")
    design = result.design
    residual_df = design.n - result.n_fixed - result.theta.size - 1
    pwrss = result.factor.r2
    sigma = np.sqrt(1.0 / rng.gamma(0.5 * residual_df, 1.0 / (0.5 * pwrss), n_sims))
    X, _ = _fixed_values(result, newdata)
    beta = rng.multivariate_normal(result.solution.beta, result.vcov.to_numpy(), n_sims)
    draws = X @ beta.T
    if design.offset is not None and newdata is None:
        draws += design.offset[:, None]
    pieces = random_pieces(result, re_form)
    effects = result._block_effects
    condvar = list(result.condvar.values())
    for piece in pieces:
        codes, matrix = _piece_rows(result, piece, newdata, allow_new_levels)
        cols = list(piece.columns)
        mean = effects[piece.block_index][:, cols]
        cov = condvar[piece.block_index][:, cols][:, :, cols]
        chol = np.linalg.cholesky(cov + 1e-300 * np.eye(len(cols)))  # zero variances stay zero
        used = np.unique(codes[codes >= 0])
        if used.size == 0:  # only new levels: no random part
            continue
        z = rng.standard_normal((used.size, len(cols), n_sims))
        b = mean[used][:, :, None] + np.einsum("lab,lbs->las", chol[used], z)
        where = np.searchsorted(used, np.maximum(codes, 0))
        contrib = np.einsum("nk,nks->ns", matrix, b[np.minimum(where, used.size - 1)])
        draws += np.where((codes >= 0)[:, None], contrib, 0.0)
    if include_residual:
        draws += rng.standard_normal(draws.shape) * sigma[None, :]
    return draws


def bootstrap_predictions(
    result, newdata, re_form, allow_new_levels, n_sims, seed, include_residual
) -> np.ndarray:
    """Predictions of parametric-bootstrap refits (plus a residual), ``(rows, n_sims)``."""
    rng = _generator(seed)
    simulator = _Simulator.of(result)
    model = result.model
    n_rows = result.design.n if newdata is None else len(newdata)
    draws = np.full((n_rows, int(n_sims)), np.nan)
    # conditional predictions: bootMer's use.u = TRUE (new residuals around the fitted
    # values, so each refit's modes estimate the same random effects); else new effects too
    conditional = bool(random_pieces(result, re_form))
    for k in range(int(n_sims)):
        if conditional:
            y = simulate(result, 1, rng, use_u=True)[:, 0]
        else:
            y = simulator.draw(rng, 1)[:, 0]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            refit = model.with_response(y).fit(
                REML=result.reml, start=result.theta, control={"check_convergence": False}
            )
        values = _rows_prediction(refit, newdata, re_form, allow_new_levels).to_numpy()
        if include_residual:
            values = values + refit.sigma * rng.standard_normal(n_rows)
        draws[:, k] = values
    return draws


def simulate(
    result,
    nsim: int = 1,
    seed=None,
    newdata: pd.DataFrame | None = None,
    use_u: bool = False,
    re_form=None,
    allow_new_levels: bool = False,
) -> np.ndarray:
    """Responses simulated from the fitted model, for the fitting rows or new data.

    Parameters
    ----------
    result
        A fitted :class:`~mixedmodels.results.LmerResult`.
    nsim
        Number of simulated responses.
    seed
        None, an int or a ``numpy.random.Generator``.
    newdata
        Rows to simulate for (the fitting rows when None).
    use_u
        Condition on the fitted random effects (lme4's ``use.u = TRUE``: only the residual is
        new); else draw new random effects for every level (of the terms in ``re_form``).
    re_form
        Random-effect terms to include (as in :func:`predict`); with ``use_u=False`` the
        terms left out contribute nothing.
    allow_new_levels
        New levels in ``newdata``: zero fitted effect (``use_u``) or a fresh draw.

    Returns
    -------
    numpy.ndarray
        ``(rows, nsim)``.
    """
    nsim = int(nsim)
    if nsim < 1:
        raise DesignError(f"nsim must be a positive integer, got {nsim!r}")
    newdata = _as_frame(newdata)
    rng = _generator(seed)
    if use_u:
        mean = _rows_prediction(result, newdata, re_form, allow_new_levels).to_numpy()
        draws = np.repeat(mean[:, None], nsim, axis=1)
    else:
        _, mean = _fixed_values(result, newdata)
        draws = np.repeat(mean[:, None], nsim, axis=1)
        lams = result.model.lambdas(result.theta)
        for piece in random_pieces(result, re_form):
            block = result.design.blocks[piece.block_index]
            if newdata is None:
                codes, matrix = block.codes, block.matrix[:, list(piece.columns)]
                n_levels = block.n_levels
            else:
                _, matrix = _piece_rows(result, piece, newdata, True)
                codes, labels = group_codes(newdata, piece.group)
                n_levels = len(labels)
                if not allow_new_levels:
                    _piece_rows(result, piece, newdata, False)  # raises on new levels
            lam = lams[piece.block_index]
            u = rng.standard_normal((nsim, n_levels, block.size))
            b = result.sigma * (u @ lam.T)[:, :, list(piece.columns)]
            draws += np.einsum("nk,snk->ns", matrix, b[:, codes, :])
    noise = result.sigma * rng.standard_normal(draws.shape)
    weights = result.design.weights
    if newdata is None and weights is not None:
        noise /= np.sqrt(weights)[:, None]
    return draws + noise
