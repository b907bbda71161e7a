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

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import scipy.linalg as sla

from mixedmodels.errors import DesignError
from mixedmodels.finite_differences import hessian, jacobian
from mixedmodels.linalg.factor import log_determinants
from mixedmodels.optimize import DEFAULT_CONTROL, minimize

__all__ = [
    "Coordinates",
    "Information",
    "gls_beta",
    "information",
    "profile_variance",
    "scaled_coordinates",
]

_STEP_X = 1e-3
_LOG_2PI = float(np.log(2 * np.pi))


def _criterion(engine, theta: np.ndarray, s: float, reml: bool) -> float:
    """``d(theta, s)``: -2 log-likelihood with the residual variance ``s`` given."""
    if not np.all(np.isfinite(theta)):  # outside the parameter space
        return np.inf
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


def gls_beta(engine, theta: np.ndarray) -> np.ndarray:
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


@dataclass(frozen=True, eq=False)
class Coordinates:
    """The coordinates the derivatives and profiles are taken in.

    Attributes
    ----------
    x0
        The free coordinates at the fit.
    theta_at
        Theta from free coordinates (NaN outside the parameter space).
    lower
        Lower bounds of the free coordinates.
    """

    x0: np.ndarray
    theta_at: Callable[[np.ndarray], np.ndarray]
    lower: np.ndarray


def scaled_coordinates(engine, theta, fixed) -> Coordinates:
    """The engine's internally scaled theta, the entries in ``fixed`` held at ``theta``."""
    scaling = engine.scaling
    x_all = scaling.to_scaled(np.asarray(theta, dtype=float))
    free = ~np.asarray(fixed, dtype=bool)

    def theta_at(x_free: np.ndarray) -> np.ndarray:
        x = x_all.copy()
        x[free] = x_free
        return scaling.to_theta(x)

    return Coordinates(x_all[free], theta_at, engine.lower_bounds[free])


def information(
    engine,
    pmap,
    theta,
    reml: bool,
    scale: float,
    coords: Coordinates,
    estimated,
    fe_free,
    singular: bool = False,
) -> Information:
    """Observed information at the fit (see the module notes).

    Derivatives are taken in free coordinates ``x`` (the engine's internally scaled theta,
    where the criterion is well conditioned, or the free packed entries of a constrained fit)
    and log scale, and carried to statsmodels' parameters by the chain rule (the covariance
    transforms with the Jacobian; no ill-conditioned inverse).

    Parameters
    ----------
    coords
        The free coordinates and their map to theta.
    singular
        A boundary fit: the variance standard errors are undefined (NaN).
    estimated
        Mask over the packed variance parameters that were estimated (as many as the free
        theta entries).
    fe_free
        Mask over the fixed effects that count as free (statsmodels' ``free.fe_params``).
    """
    x_free, theta_at = coords.x0, coords.theta_at
    index = np.flatnonzero(estimated)
    k, p, k_var = x_free.size, engine.stats.p, estimated.size
    fe_free = np.asarray(fe_free, dtype=bool)

    def d(w: np.ndarray) -> float:
        return _criterion(engine, theta_at(w[:k]), scale * np.exp(w[k]), reml)

    h = _STEP_X * np.maximum(np.abs(x_free), 0.1)
    lrr = engine.factor(theta).Lrr
    qr = engine.stats.q_rest
    rx = lrr[qr : qr + p, qr : qr + p]
    vcov = scale * np.linalg.inv(rx @ rx.T)
    c = 2.0 * np.linalg.pinv(
        hessian(d, np.append(x_free, 0.0), np.append(h, _STEP_X), cross="four")[1]
    )
    jac_v = jacobian(lambda xf: pmap.packed_var(theta_at(xf))[index], x_free, h)
    jac_b = jacobian(lambda xf: gls_beta(engine, theta_at(xf)), x_free, h)
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


def profile_variance(
    engine, reml: bool, rows, coords: Coordinates, grid, penalty=None
) -> np.ndarray:
    """Profile log-likelihood at each data-scale variance in ``grid``.

    Parameters
    ----------
    engine
        The fitted :class:`~mixedmodels.model.LinearMixedModel`.
    rows
        Theta indices whose sum of squares is the profiled variance relative to the scale.
    coords
        The free coordinates (their value at the fit starts every constrained fit).
    penalty
        ``penalty(theta)`` added to -2 log-likelihood (a penalised fit), or None.
    grid
        Variances on the data scale.

    Returns
    -------
    numpy.ndarray
        ``(len(grid), 2)``: the variance and the maximal log-likelihood given it.
    """
    out = []
    for target in grid:
        if target <= 0:
            raise DesignError(f"cannot profile at a variance <= 0 ({target:g})")

        def objective(x_free: np.ndarray, target=target) -> float:
            th = coords.theta_at(x_free)
            q = float(np.sum(th[rows] ** 2))
            if not q > 0:
                return np.inf
            value = _criterion(engine, th, target / q, reml)
            return value if penalty is None else value + penalty(th)

        _, fmin, _, _ = minimize(objective, coords.x0, coords.lower, DEFAULT_CONTROL)
        out.append((float(target), -0.5 * fmin))
    return np.array(out)
