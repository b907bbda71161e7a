"""Standard errors and likelihood profiles of the variance parameters, on our engine.

Both work with the REML (or ML) criterion *not* profiled over the residual variance ``s``::

    d(v, s) = log|L_Z|^2 [+ log|R_X|^2] + r^2 / s + m log(2 pi s),   m = n - p (REML) or n,

where ``v`` are statsmodels' variance parameters (``cov_re / scale``, ``vcomp / scale``) and
the factor is the engine's at ``theta(v)``. Profiling over ``s`` gives the engine's objective.

*Standard errors.* statsmodels inverts the observed information of its scale-profiled
log-likelihood in (fixed effects, v). With ``C = 2 d''^-1`` (covariance of ``(v, s)``), the
v-block of that inverse is ``C_vv``; the fixed-effects block is ``vcov + J C_vv J'`` with
``J = d beta_hat / dv``; together they are the inverse of the Hessian assembled below, so a
``free`` mask can drop rows exactly as statsmodels does. Variances on the data scale,
``s v``, get ``G C G'`` with ``G = [s I, v]``. Derivatives are central differences with steps
relative to each parameter's size.

*Profiles.* With one variance fixed at ``t`` on the data scale, ``s = t / q(theta)`` where
``q`` is that variance relative to ``s`` (a row sum of squares of Lambda); ``d`` is then
minimised over theta by the engine's optimiser.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.linalg as sla

from mixedmodels.errors import DesignError
from mixedmodels.finite_differences import hessian, jacobian
from mixedmodels.linalg.factor import log_determinants
from mixedmodels.optimize import DEFAULT_CONTROL, minimize

__all__ = ["Information", "information", "profile_variance"]

_STEP_X = 1e-3
_LOG_2PI = float(np.log(2 * np.pi))


def _criterion(engine, theta: np.ndarray, s: float, reml: bool) -> float:
    """``d(theta, s)``: -2 log-likelihood with the residual variance ``s`` given."""
    try:
        factor = engine.factor(theta)
    except np.linalg.LinAlgError:
        return np.inf
    logdet_z, logdet_x = log_determinants(factor, engine.stats)
    m = engine.stats.n - engine.stats.p if reml else engine.stats.n
    value = logdet_z + factor.r2 / s + m * (_LOG_2PI + np.log(s))
    if reml:
        value += logdet_x
    return float(value - engine.stats.sum_log_weights)


def _beta(engine, theta: np.ndarray) -> np.ndarray:
    """GLS fixed effects at theta (back substitution in the rest factor)."""
    lrr = engine.factor(theta).Lrr
    v = sla.solve_triangular(lrr[:-1, :-1], lrr[-1, :-1], lower=True, trans="T")
    return v[engine.stats.q_rest :]


@dataclass(frozen=True, eq=False)
class Information:
    """Inverse observed information, statsmodels' layout.

    Attributes
    ----------
    pcov
        ``(k_fe + k_re2 + k_vc)`` square: covariance of (fixed effects, ``cov_re / scale``
        lower triangle, ``vcomp / scale``); zero rows for parameters that are not estimated.
    cov_abs
        ``(k_re2 + k_vc)`` square: covariance of the variance estimates on the data scale.
    """

    pcov: np.ndarray
    cov_abs: np.ndarray


def information(
    engine,
    pmap,
    theta,
    reml: bool,
    scale: float,
    fixed,
    estimated,
    fe_free,
    singular: bool = False,
) -> Information:
    """Observed information at the fit (see the module notes).

    Derivatives are taken in the engine's internally scaled theta (``x``) and log scale,
    where the criterion is well conditioned, and carried to statsmodels' parameters by the
    chain rule (the covariance transforms with the Jacobian; no ill-conditioned inverse).

    Parameters
    ----------
    fixed
        Theta entries held fixed in the fit.
    singular
        A boundary fit: the variance standard errors are undefined (NaN).
    estimated
        Mask over the packed variance parameters that were estimated (as many as the free
        theta entries).
    fe_free
        Mask over the fixed effects that count as free (statsmodels' ``free.fe_params``).
    """
    scaling = engine.scaling
    x0 = scaling.to_scaled(np.asarray(theta, dtype=float))
    free = np.flatnonzero(~np.asarray(fixed, dtype=bool))
    index = np.flatnonzero(estimated)
    k, p, k_var = free.size, engine.stats.p, estimated.size
    fe_free = np.asarray(fe_free, dtype=bool)

    def theta_at(x_free: np.ndarray) -> np.ndarray:
        x = x0.copy()
        x[free] = x_free
        return scaling.to_theta(x)

    def d(w: np.ndarray) -> float:
        return _criterion(engine, theta_at(w[:k]), scale * np.exp(w[k]), reml)

    h = _STEP_X * np.maximum(np.abs(x0[free]), 0.1)
    lrr = engine.factor(theta).Lrr
    qr = engine.stats.q_rest
    rx = lrr[qr : qr + p, qr : qr + p]
    vcov = scale * np.linalg.inv(rx @ rx.T)
    c = 2.0 * np.linalg.pinv(
        hessian(d, np.append(x0[free], 0.0), np.append(h, _STEP_X), cross="four")[1]
    )
    jac_v = jacobian(lambda xf: pmap.packed_var(theta_at(xf))[index], x0[free], h)
    jac_b = jacobian(lambda xf: _beta(engine, theta_at(xf)), x0[free], h)
    c_xx = c[:k, :k]
    pcov = np.zeros((p + k_var, p + k_var))
    var = p + index
    pcov[:p, :p] = vcov + jac_b @ c_xx @ jac_b.T
    pcov[np.ix_(var, var)] = jac_v @ c_xx @ jac_v.T
    pcov[np.ix_(np.arange(p), var)] = jac_b @ c_xx @ jac_v.T
    pcov[np.ix_(var, np.arange(p))] = pcov[np.ix_(np.arange(p), var)].T
    if not fe_free.all():  # statsmodels inverts the information of the free rows only
        used = np.concatenate([np.arange(p), var])
        info = np.linalg.pinv(pcov[np.ix_(used, used)])
        keep = np.concatenate([np.flatnonzero(fe_free), np.arange(p, used.size)])
        restricted = np.linalg.pinv(info[np.ix_(keep, keep)])
        pcov[:] = 0.0
        pcov[np.ix_(used[keep], used[keep])] = restricted
    packed = pmap.packed_var(theta)[index]
    g = np.hstack([scale * jac_v, scale * packed[:, None]])
    cov_abs = np.zeros((k_var, k_var))
    cov_abs[np.ix_(index, index)] = g @ c @ g.T
    if singular:
        pcov[np.ix_(var, var)] = np.nan
        cov_abs[np.ix_(index, index)] = np.nan
    return Information(pcov=pcov, cov_abs=cov_abs)


def profile_variance(engine, theta, reml: bool, rows, fixed, grid) -> np.ndarray:
    """Profile log-likelihood at each data-scale variance in ``grid``.

    Parameters
    ----------
    engine
        The fitted :class:`~mixedmodels.model.LinearMixedModel`.
    theta
        Theta at the fit (start of every constrained fit).
    rows
        Theta indices whose sum of squares is the profiled variance relative to the scale.
    fixed
        Theta mask of entries held fixed in the fit.
    grid
        Variances on the data scale.

    Returns
    -------
    numpy.ndarray
        ``(len(grid), 2)``: the variance and the maximal log-likelihood given it.
    """
    scaling = engine.scaling
    x0 = scaling.to_scaled(np.asarray(theta, dtype=float))
    free = ~np.asarray(fixed, dtype=bool)
    lower = engine.lower_bounds[free]
    out = []
    for target in grid:
        if target <= 0:
            raise DesignError(f"cannot profile at a variance <= 0 ({target:g})")

        def objective(x_free: np.ndarray, target=target) -> float:
            x = x0.copy()
            x[free] = x_free
            th = scaling.to_theta(x)
            q = float(np.sum(th[rows] ** 2))
            return np.inf if q <= 0 else _criterion(engine, th, target / q, reml)

        _, fmin, _, _ = minimize(objective, x0[free], lower, DEFAULT_CONTROL)
        out.append((float(target), -0.5 * fmin))
    return np.array(out)
