"""Influence diagnostics: leverage, Cook's distance, deletion of observations or groups.

* :func:`leverage` is the diagonal of the hat matrix of the conditional fitted values
  ``X beta + Z b`` (lme4's ``hatvalues``, MixedModels.jl's ``leverage``), computed row by row
  through the blocked factor (:func:`mixedmodels.linalg.rows.row_quadratic`): no n x n hat
  matrix and no n x q Z is formed.
* :func:`cooks_distance` is lme4's ``cooks.distance`` of a fit:
  ``(r / (1 - h))^2 h / (sigma^2 p)`` with Pearson residuals ``r`` and leverages ``h``.
* :func:`influence` refits the model without each observation or each level of a grouping
  factor (lme4's ``influence.merMod``, influence.ME's group deletion) and reports the change
  of the fixed effects and of sigma, dfbetas and Cook's distances.

A GLMM result can use the same functions once it provides the working weights of its last
penalised iteratively reweighted least-squares step as ``design.weights`` of a linear model
(lme4 computes ``hatvalues`` of a GLMM that way, with a warning).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, replace
from functools import cached_property
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from mixedmodels.errors import ConvergenceWarning, DesignError
from mixedmodels.linalg.rows import RowBlock, row_quadratic
from mixedmodels.progress import progress_bar

if TYPE_CHECKING:
    from mixedmodels.results import LmerResult

__all__ = ["Influence", "cooks_distance", "influence", "leverage"]


def leverage(result, weights: str = "working") -> pd.Series:
    """Diagonal of the hat matrix of the conditional fitted values (lme4's ``hatvalues``).

    Parameters
    ----------
    result
        A fitted :class:`~mixedmodels.results.LmerResult`, or a glmer fit (then at its final
        PIRLS working weights: :func:`mixedmodels.influence_glmm.glmm_leverage`).
    weights
        For a glmer fit only: ``"working"`` (default) or ``"prior"`` (lme4's ``hatvalues``).

    Returns
    -------
    pandas.Series
        One value per row used in the fit (index ``result.design.row_index``), in [0, 1];
        their sum is the effective number of parameters of the conditional fit.

    Examples
    --------
    >>> import mixedmodels as mm
    >>> fit = mm.lmer("Reaction ~ Days + (Days | Subject)", mm.datasets.load("sleepstudy"))
    >>> round(float(fit.leverage().sum()), 4)
    29.0221
    """
    if _is_glmm(result):
        from mixedmodels.influence_glmm import glmm_leverage

        return glmm_leverage(result, weights)
    design = result.design
    rows = [RowBlock(codes=b.codes, matrix=b.matrix) for b in design.blocks]
    scale = None if design.weights is None else np.sqrt(design.weights)
    values = row_quadratic(
        result.model.stats,
        result.factor,
        result.model.lambdas(result.theta),
        rows,
        design.X,
        scale,
    )
    return pd.Series(values, index=design.row_index, name="leverage")


def pearson_residuals(result) -> pd.Series:
    """Residuals times the square root of the prior weights (lme4's ``type = "pearson"``).

    The rows of the fit (``design.row_index``; rows of weight zero are not among them).
    """
    resid = result.residuals
    zero = getattr(result.design, "zero_weight", None)
    values = resid.to_numpy() if zero is None else zero.fit_rows(resid.to_numpy())
    weights = result.design.weights
    if weights is not None:
        values = values * np.sqrt(weights)
    return pd.Series(values, index=result.design.row_index, name="pearson")


def _is_glmm(result) -> bool:
    from mixedmodels.inference.glmm_lrt import is_glmm

    return is_glmm(result)


def cooks_distance(result, weights: str = "working") -> pd.Series:
    """Cook's distance of every observation, as lme4's ``cooks.distance`` of a fit.

    Of a glmer fit with the leverage of ``weights`` (see :func:`leverage`).

    ``D_i = (r_i / (1 - h_i))^2 h_i / (sigma^2 p)`` with Pearson residuals ``r``, leverages
    ``h`` (:func:`leverage`) and ``p`` fixed effects. An observation with ``h_i = 1`` gives NaN.

    Returns
    -------
    pandas.Series
        Index ``result.design.row_index``.
    """
    if _is_glmm(result):
        from mixedmodels.influence_glmm import glmm_cooks_distance

        return glmm_cooks_distance(result, weights)
    h = leverage(result).to_numpy()
    r = pearson_residuals(result).to_numpy()
    with np.errstate(divide="ignore", invalid="ignore"):
        d = (r / (1.0 - h)) ** 2 * h / (result.sigma**2 * result.n_fixed)
    d[~np.isfinite(d)] = np.nan
    return pd.Series(d, index=result.design.row_index, name="cooks_distance")


@dataclass(frozen=True, eq=False)
class Influence:
    """Deletion diagnostics: the fit without each unit (observation or level of a factor).

    Attributes
    ----------
    result
        The full fit.
    units
        Labels of the deleted units (levels of ``group`` or row labels).
    group
        The grouping factor whose levels were deleted, or None for single observations.
    fixef
        Fixed effects of each deletion fit (units x coefficients).
    se
        Their standard errors.
    sigma, theta
        Residual standard deviation and theta of each deletion fit.
    """

    result: LmerResult
    units: pd.Index
    group: str | None
    fixef: pd.DataFrame
    se: pd.DataFrame
    sigma: pd.Series
    theta: pd.DataFrame

    @cached_property
    def dfbeta(self) -> pd.DataFrame:
        """Change of the fixed effects: deletion fit minus full fit (lme4's ``dfbeta``)."""
        return self.fixef - self.result.fixef.to_numpy()[None, :]

    @cached_property
    def dfbetas(self) -> pd.DataFrame:
        """``dfbeta`` scaled by the deletion fit's standard errors (lme4's ``dfbetas``)."""
        return self.dfbeta / self.se

    @cached_property
    def cooks_distance(self) -> pd.Series:
        """lme4's ``cooks.distance`` of ``influence.merMod``.

        ``d' V^-1 d (n - p) / (n p)`` with ``d`` the unit's dfbeta, ``V`` the full fit's
        vcov, ``n`` the number of units and ``p`` the number of fixed effects.
        """
        n, p = self.fixef.shape
        return self._quadratic(self.dfbeta).mul((n - p) / (n * p)).rename("cooks_distance")

    @cached_property
    def cooks_distance_me(self) -> pd.Series:
        """influence.ME's Cook's distance of a deleted group: ``d' V^-1 d / p``."""
        p = self.fixef.shape[1]
        return (self._quadratic(self.dfbeta) / p).rename("cooks_distance")

    def _quadratic(self, d: pd.DataFrame) -> pd.Series:
        V = self.result.vcov.to_numpy()
        values = d.to_numpy()
        q = np.einsum("ua,ua->u", values, np.linalg.solve(V, values.T).T)
        return pd.Series(q, index=self.units)

    @cached_property
    def table(self) -> pd.DataFrame:
        """One row per unit: Cook's distance, sigma and the dfbetas."""
        frame = pd.DataFrame({"cooks_distance": self.cooks_distance, "sigma": self.sigma})
        return pd.concat([frame, self.dfbetas.add_prefix("dfbetas_")], axis=1)


def _subset_model(model, keep: np.ndarray):
    """The same model on the rows ``keep`` (levels left without rows keep a zero effect)."""
    design = model.design
    blocks = tuple(
        replace(b, codes=b.codes[keep], matrix=np.ascontiguousarray(b.matrix[keep]))
        for b in design.blocks
    )
    sub = replace(
        design,
        y=design.y[keep],
        X=np.asarray(design.X[keep], order="F"),
        blocks=blocks,
        weights=None if design.weights is None else design.weights[keep],
        offset=None if design.offset is None else design.offset[keep],
        row_index=design.row_index[keep],
        n_dropped=design.n_dropped,
    )
    return type(model)(design.formula, None, _design=sub)


def _units(result, group: str | None) -> tuple[pd.Index, np.ndarray]:
    """Unit labels and the unit of every row."""
    design = result.design
    if group is None:
        return pd.Index(design.row_index, name="observation"), np.arange(design.n)
    for block in design.blocks:
        if block.group_name == group:
            return pd.Index(list(block.levels), name=group), block.codes
    names = ", ".join(b.group_name for b in design.blocks)
    raise DesignError(f"no grouping factor {group!r}; the model has {names}")


def influence(result, group: str | None = None, *, progress: bool | None = None) -> Influence:
    """Refit without each observation or each level of ``group`` (lme4's ``influence``).

    Parameters
    ----------
    result
        A fitted :class:`~mixedmodels.results.LmerResult` (its rows must be in memory).
    group
        A grouping factor of the model: delete its levels one at a time. None deletes single
        observations (one refit per row).
    progress
        Show a progress bar (True, False, or None: when the refits take more than a second
        in a terminal or notebook).

    Returns
    -------
    Influence

    Examples
    --------
    >>> import mixedmodels as mm
    >>> fit = mm.lmer("Reaction ~ Days + (Days | Subject)", mm.datasets.load("sleepstudy"))
    >>> infl = fit.influence("Subject")
    >>> infl.cooks_distance.idxmax()
    '309'
    """
    units, unit_of_row = _units(result, group)
    model = result.model
    names = list(result.fixef.index)
    fixef = np.full((len(units), len(names)), np.nan)
    se = np.full_like(fixef, np.nan)
    sigma = np.full(len(units), np.nan)
    theta = np.full((len(units), result.theta.size), np.nan)
    with progress_bar(progress, len(units), "influence") as bar:
        for k in range(len(units)):
            keep = unit_of_row != k
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                try:
                    fit = _subset_model(model, keep).fit(REML=result.reml, start=result.theta)
                except (DesignError, ArithmeticError, np.linalg.LinAlgError):
                    bar.update(1)
                    continue
            fixef[k] = fit.solution.beta
            se[k] = fit.se.to_numpy()
            sigma[k] = fit.sigma
            theta[k] = fit.theta
            bar.update(1)
    return Influence(
        result=result,
        units=units,
        group=group,
        fixef=pd.DataFrame(fixef, index=units, columns=names),
        se=pd.DataFrame(se, index=units, columns=names),
        sigma=pd.Series(sigma, index=units, name="sigma"),
        theta=pd.DataFrame(theta, index=units, columns=list(model.theta_names)),
    )
