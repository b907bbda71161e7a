"""Leverage and Cook's distance of a glmer fit, from its final PIRLS working weights.

At the conditional modes PIRLS solves the penalised weighted least-squares system of the
working response with working weights ``w_i = a_i mu'(eta_i)^2 / V(mu_i)`` (``a_i`` the prior
weights). With ``Omega = [Lambda'Z'WZ Lambda + I, Lambda'Z'WX; X'WZ Lambda, X'WX]`` and the row
``v_i = [Lambda' z_i; x_i]``, the quadratic form ``q_i = v_i' Omega^-1 v_i`` is computed through
the blocked factor (:func:`mixedmodels.linalg.rows.row_quadratic`; no n x n matrix, no dense Z).

- ``weights="working"`` (default): ``h_i = w_i q_i``, the diagonal of the hat matrix of that
  weighted system. It lies in [0, 1], sums to the effective number of parameters, and at
  ``theta = 0`` is R's ``hatvalues`` of the ``glm`` of the fixed part.
- ``weights="prior"``: ``h_i = a_i q_i``, what lme4's ``hatvalues`` of a glmer fit computes
  (it scales by the prior weights only, and warns that "the hat matrix may not make sense for
  GLMMs"; with binomial trials as weights its values exceed 1). broom.mixed's ``augment``
  reports these.

Cook's distance is lme4's (and R's ``cooks.distance.glm``) formula
``(r_i / (1 - h_i))^2 h_i / (phi p)`` with Pearson residuals ``r``, the dispersion ``phi``
(1 for binomial and Poisson) and ``p`` fixed effects.

lme4's factor holds the weights of its last PIRLS iteration, one step before the returned
means (about 1e-5 relative on cbpp); these use the weights at the returned means.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from mixedmodels.errors import InferenceError
from mixedmodels.linalg.rows import RowBlock, row_quadratic

__all__ = ["WEIGHTINGS", "working_weights", "glmm_leverage", "glmm_cooks_distance"]

WEIGHTINGS = ("working", "prior")


def working_weights(result) -> np.ndarray:
    """PIRLS working weights at the fit's conditional modes (lme4's ``weights(, "working")``)."""
    problem = result.model.problem
    family = result.family
    mu_eta = family.link.mu_eta(result.mode.eta)
    return problem.prior_weights * mu_eta * mu_eta / family.variance(result.mode.mu)


def _quadratic(result) -> np.ndarray:
    from mixedmodels.linalg import update_factor
    from mixedmodels.linalg.reweight import reweighted_workspace

    model = result.model
    problem = model.problem
    lams = model.lambdas(result.theta)
    weights = working_weights(result)
    mu_eta = result.family.link.mu_eta(result.mode.eta)
    response = result.mode.eta - problem.offset + (problem.y - result.mode.mu) / mu_eta
    with np.errstate(divide="ignore"):
        workspace = reweighted_workspace(problem.plan_joint, response, weights)
    stats = workspace.stats
    factor = update_factor(workspace, lams[0], lams[1:])
    rows = [RowBlock(codes=b.codes, matrix=b.matrix) for b in result.design.blocks]
    return row_quadratic(stats, factor, lams, rows, problem.X, None)


def glmm_leverage(result, weights: str = "working") -> pd.Series:
    """Diagonal of the hat matrix of a glmer fit at its final working weights.

    Parameters
    ----------
    result
        A :class:`~mixedmodels.glmm.GlmerResult`.
    weights
        ``"working"`` (default: the weighted system's hat matrix, in [0, 1]) or ``"prior"``
        (lme4's ``hatvalues``); see the module notes.

    Returns
    -------
    pandas.Series
        One value per row of the fit, named ``"leverage"``.
    """
    if weights not in WEIGHTINGS:
        raise InferenceError(f"weights must be 'working' or 'prior', got {weights!r}")
    scale = working_weights(result) if weights == "working" else result.model.problem.prior_weights
    values = scale * _quadratic(result)
    return pd.Series(values, index=result.design.row_index, name="leverage")


def glmm_cooks_distance(result, weights: str = "working") -> pd.Series:
    """Cook's distance of every observation of a glmer fit (lme4's formula).

    ``weights`` chooses the leverage as in :func:`glmm_leverage` (``"prior"`` reproduces lme4's
    ``cooks.distance``).
    """
    h = glmm_leverage(result, weights).to_numpy()
    r = result.residuals("pearson").to_numpy()
    phi = float(result.sigma) ** 2 if result.family.has_dispersion else 1.0
    with np.errstate(divide="ignore", invalid="ignore"):
        d = (r / (1.0 - h)) ** 2 * h / (phi * result.n_fixed)
    d[~np.isfinite(d)] = np.nan
    return pd.Series(d, index=result.design.row_index, name="cooks_distance")
