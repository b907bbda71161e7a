"""Satterthwaite denominator degrees of freedom, as lmerTest defines them.

The variance parameters are ``psi = (theta, sigma)``. With ``C(psi) = sigma^2 (R_X' R_X)^-1``
the covariance of the fixed effects at ``psi`` and ``H`` the Hessian in ``psi`` of the criterion
that was optimised, written as a function of theta *and* sigma (not profiled)::

    ML:    d(theta, sigma) = log|L_Z|^2 + r^2 / sigma^2 + n log(2 pi sigma^2)
    REML:  d(theta, sigma) = ML + log|R_X|^2 - p log(2 pi sigma^2)

the asymptotic covariance of ``psi_hat`` is ``A = 2 H^-1`` and a contrast ``c`` has
``df = 2 (c'Cc)^2 / (g'Ag)`` with ``g`` the gradient in ``psi`` of ``c'C(psi)c``. A q-row
contrast matrix is rotated to the eigenvectors of ``L C L'``; each direction gets its own df
and lmerTest's rule combines them into the F test's denominator df.

The sigma derivatives are analytic; the theta derivatives of ``log|L|^2``, ``r^2`` and
``(R_X'R_X)^-1`` are central differences with one Richardson extrapolation step, so a model
with k theta entries costs ``1 + 2k(k + 1)`` evaluations of the blocked factor.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass

import numpy as np

from mixedmodels._warn import warn
from mixedmodels.errors import ConvergenceWarning, InferenceError
from mixedmodels.finite_differences import hessian
from mixedmodels.linalg import solve_at_optimum
from mixedmodels.linalg.factor import log_determinants

__all__ = [
    "SatterthwaiteInfo",
    "deviance_varpar",
    "satterthwaite_info",
    "contrast_df",
    "f_test",
    "combine_df",
]

LOG_2PI = float(np.log(2.0 * np.pi))
EIGEN_TOLERANCE = 1e-8  # lmerTest: eigenvalues of H above this count as positive
RELATIVE_STEP = 1e-2  # finite-difference step relative to the scale of a theta entry
STEP_FLOOR = 0.1  # scale floor, relative to the internal scaling of the term's column

_CACHE: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


@dataclass(frozen=True, eq=False)
class SatterthwaiteInfo:
    """Everything Satterthwaite's approximation needs, computed once per fit.

    Attributes
    ----------
    varpar
        ``(theta..., sigma)`` at the estimate.
    hessian
        Hessian of the (non-profiled) criterion in ``varpar``.
    vcov_varpar
        ``A = 2 H^+`` (Moore-Penrose inverse over eigenvalues above 1e-8, as lmerTest).
    jacobian
        ``(k + 1, p, p)``: derivative of ``vcov(beta)`` with respect to each entry of varpar.
    vcov_beta
        ``vcov(beta)`` at the estimate.
    """

    varpar: np.ndarray
    hessian: np.ndarray
    vcov_varpar: np.ndarray
    jacobian: np.ndarray
    vcov_beta: np.ndarray

    def gradient(self, c: np.ndarray) -> np.ndarray:
        """Gradient in varpar of ``c' vcov(beta) c``."""
        return np.einsum("a,kab,b->k", c, self.jacobian, c)


def _theta_quantities(model, theta: np.ndarray, reml: bool, covariance: bool = True) -> np.ndarray:
    """``[log-determinant part, r^2, vec((R_X'R_X)^-1)]`` at ``theta`` (the last only if asked)."""
    factor = model.factor(theta)
    logdet_z, logdet_x = log_determinants(factor, model.stats)
    logdet = logdet_z + (logdet_x if reml else 0.0)
    if not covariance:
        return np.array([logdet, factor.r2])
    lams = model.lambdas(theta)
    solution = solve_at_optimum(
        model.workspace, factor, lams[0], lams[1:], conditional_variances=False
    )
    return np.concatenate([[logdet, factor.r2], solution.beta_cov_unscaled.ravel()])


def deviance_varpar(model, theta, sigma: float, reml: bool) -> float:
    """The REML criterion or ML deviance as a function of theta and sigma (not profiled).

    At ``(theta_hat, sigma_hat)`` it equals the fitted objective.

    Parameters
    ----------
    model
        A :class:`~mixedmodels.model.LinearMixedModel`.
    theta
        Relative covariance parameters.
    sigma
        Residual standard deviation.
    reml
        REML criterion (True) or ML deviance (False).

    Returns
    -------
    float
    """
    theta = np.asarray(theta, dtype=float)
    stats = model.stats
    factor = model.factor(theta)
    logdet_z, logdet_x = log_determinants(factor, stats)
    s2 = float(sigma) ** 2
    dof = stats.n - stats.p if reml else stats.n
    value = logdet_z + factor.r2 / s2 + dof * (LOG_2PI + np.log(s2))
    if reml:
        value += logdet_x
    return float(value - stats.sum_log_weights)


def _step_scales(result) -> np.ndarray:
    """A natural scale for every theta entry: the norm of its lambda row, floored.

    For a structured term: a standard deviation's own size, floored alike; a correlation
    parameter's distance to the nearer end of its range (at most 1), so that the steps stay
    inside it.
    """
    model = result.model
    scales = np.empty(result.theta.size)
    for term, T in zip(model.design.terms, model.scaling.transforms, strict=True):
        if term.structured:
            sl = term.theta_slice
            structure = term.covariance
            theta = result.theta[sl]
            columns = structure.sd_columns()
            carried = columns >= 0
            floor = STEP_FLOOR * np.abs(np.diag(T))[np.maximum(columns, 0)]
            room = np.minimum(theta - structure.lower_bounds(), structure.upper_bounds() - theta)
            scales[sl] = np.where(
                carried, np.maximum(np.abs(theta), floor), np.clip(room, 1e-8, 1.0)
            )
            continue
        rows, cols = term.theta_positions()
        lam = np.zeros((term.size, term.size))
        sl = slice(term.theta_offset, term.theta_offset + term.n_theta)
        lam[rows, cols] = result.theta[sl]
        row_norm = np.linalg.norm(lam, axis=1)
        floor = STEP_FLOOR * np.abs(np.diag(T))
        scales[sl] = np.maximum(row_norm, floor)[rows]
    return scales


def _derivatives(func, x: np.ndarray, steps: np.ndarray):
    """Central differences at steps h and h/2, combined by one Richardson step (error O(h^4)).

    The gradient of every entry of ``func(x, True)``, the Hessian of its first two (the points
    off the axes evaluate only those: ``func(x, False)``), by
    :func:`mixedmodels.finite_differences.hessian`'s ``"diagonal"`` rule.
    """
    f0 = func(x, True)

    def full(point: np.ndarray) -> np.ndarray:
        return func(point, True)

    def two(point: np.ndarray) -> np.ndarray:  # the points off the axes: log|L|^2, r^2 only
        return func(point, False)

    g1, h1 = hessian(full, x, steps, f0, cross="diagonal", leading=2, cross_f=two)
    g2, h2 = hessian(full, x, steps / 2.0, f0, cross="diagonal", leading=2, cross_f=two)
    return f0, (4.0 * g2 - g1) / 3.0, (4.0 * h2 - h1) / 3.0


def _compute(result) -> SatterthwaiteInfo:
    model, reml = result.model, result.reml
    theta = np.asarray(result.theta, dtype=float)
    k, p = theta.size, result.n_fixed
    sigma = float(result.sigma)
    n = model.stats.n
    dof = n - p if reml else n

    def func(t, covariance):
        return _theta_quantities(model, t, reml, covariance)

    steps = RELATIVE_STEP * _step_scales(result)
    f0, grad, hess = _derivatives(func, theta, steps)
    r2 = f0[1]
    s2 = sigma**2
    H = np.empty((k + 1, k + 1))
    H[:k, :k] = hess[:, :, 0] + hess[:, :, 1] / s2
    H[:k, k] = H[k, :k] = -2.0 * grad[:, 1] / sigma**3
    H[k, k] = 6.0 * r2 / sigma**4 - 2.0 * dof / s2
    H = 0.5 * (H + H.T)
    values, vectors = np.linalg.eigh(H)
    negative = values < -EIGEN_TOLERANCE
    if negative.any():
        warn(
            "the Hessian of the criterion in (theta, sigma) has negative eigenvalue(s) "
            f"{', '.join(f'{v:.1e}' for v in values[negative])}: the fit may not have "
            "converged; Satterthwaite df use its positive part",
            ConvergenceWarning,
        )
    positive = values > EIGEN_TOLERANCE
    inverse = (vectors[:, positive] / values[positive]) @ vectors[:, positive].T
    cov_unscaled = f0[2:].reshape(p, p)
    jacobian = np.empty((k + 1, p, p))
    jacobian[:k] = s2 * grad[:, 2:].reshape(k, p, p)
    jacobian[k] = 2.0 * sigma * cov_unscaled
    jacobian = 0.5 * (jacobian + jacobian.transpose(0, 2, 1))
    return SatterthwaiteInfo(
        varpar=np.append(theta, sigma),
        hessian=H,
        vcov_varpar=2.0 * inverse,
        jacobian=jacobian,
        vcov_beta=np.asarray(result.vcov, dtype=float),
    )


def satterthwaite_info(result) -> SatterthwaiteInfo:
    """Hessian, covariance of the variance parameters and Jacobian of vcov(beta) for a fit.

    Computed once per result and cached.

    Parameters
    ----------
    result
        A fitted :class:`~mixedmodels.results.LmerResult`.

    Returns
    -------
    SatterthwaiteInfo
    """
    info = _CACHE.get(result)
    if info is None:
        if result.n_fixed == 0:
            raise InferenceError("the model has no fixed effects to test")
        info = _compute(result)
        _CACHE[result] = info
    return info


def contrast_df(info: SatterthwaiteInfo, c: np.ndarray) -> float:
    """Satterthwaite df of one contrast vector: ``2 (c'Cc)^2 / (g'Ag)``."""
    c = np.asarray(c, dtype=float)
    variance = float(c @ info.vcov_beta @ c)
    g = info.gradient(c)
    denominator = float(g @ info.vcov_varpar @ g)
    if denominator <= 0.0:
        return np.inf
    return 2.0 * variance**2 / denominator


def combine_df(nu: np.ndarray, tol: float = 1e-8) -> float:
    """lmerTest's denominator df of an F statistic built from t statistics with df ``nu``.

    One df is returned as is; equal dfs give their mean; otherwise ``2E / (E - q)`` with
    ``E = sum(nu / (nu - 2))``, and 2 when any ``nu <= 2``.
    """
    nu = np.asarray(nu, dtype=float)
    if nu.size == 1:
        return float(nu[0])
    if np.all(np.abs(np.diff(nu)) < tol):
        return float(np.mean(nu))
    if np.any(nu <= 2.0):
        return 2.0
    E = float(np.sum(nu / (nu - 2.0)))
    return 2.0 * E / (E - nu.size)


def f_test(
    info: SatterthwaiteInfo,
    L: np.ndarray,
    beta: np.ndarray,
    eps: float = float(np.sqrt(np.finfo(float).eps)),
) -> tuple[float, int, float]:
    """F statistic, numerator df and Satterthwaite denominator df of ``L beta = 0``.

    Rows of ``L`` that are linearly dependent are dropped through the eigen-decomposition of
    ``L C L'`` (eigenvalues below ``eps`` times the largest), as lmerTest does.

    Returns
    -------
    F, q, ddf
    """
    L = np.atleast_2d(np.asarray(L, dtype=float))
    VL = L @ info.vcov_beta @ L.T
    values, vectors = np.linalg.eigh(0.5 * (VL + VL.T))
    order = np.argsort(values)[::-1]
    values, vectors = values[order], vectors[:, order]
    tol = max(eps * values[0], 0.0)
    keep = values > tol
    q = int(keep.sum())
    if q == 0:
        raise InferenceError("the contrast matrix L has rank 0 (L C L' is zero)")
    PtL = vectors[:, keep].T @ L
    d = values[keep]
    t2 = (PtL @ beta) ** 2 / d
    nu = np.array([contrast_df(info, row) for row in PtL])
    return float(np.sum(t2) / q), q, combine_df(nu)
