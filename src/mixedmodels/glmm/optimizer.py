"""The GLMM's optimiser: BOBYQA with per-component steps, and finite-difference derivatives.

The Laplace objective is minimised over ``(theta, beta)`` in coordinates where it is close to
an isotropic quadratic (theta of scaled columns, beta whitened by the first stage's
covariance), so BOBYQA's trust region fits every component; a Newton step from the
finite-difference gradient and Hessian then polishes the optimum, and the same Hessian gives
the fixed effects' covariance (lme4's ``use.hessian = TRUE``).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import nlopt
import numpy as np

from mixedmodels.errors import FittingError

__all__ = ["bobyqa", "derivatives", "FD_STEP"]

FD_STEP = 1e-3
"""Finite-difference step (relative, in the optimiser's whitened coordinates): the curvature is
about 1 there, so second differences of 1e-6 stand far above PIRLS's rounding."""


def bobyqa(
    objective: Callable[[np.ndarray], float],
    x0: np.ndarray,
    lower: np.ndarray,
    step: np.ndarray,
    *,
    ftol_abs: float = 1e-7,
    xtol_abs: float = 1e-8,
    maxeval: int = 100_000,
) -> tuple[np.ndarray, float, int, str]:
    """Minimise from ``x0`` with ``x >= lower``; returns the best point seen and its value."""
    count = [0]
    best: list[Any] = [math.inf, np.asarray(x0, float).copy()]

    def counted(x: np.ndarray, grad) -> float:
        count[0] += 1
        value = objective(x)
        if not math.isfinite(value):
            return 1e300
        if value < best[0]:
            best[0], best[1] = value, x.copy()
        return value

    k = x0.size
    if k == 0:
        return x0, float(objective(x0)), 1, "SUCCESS"
    start = np.maximum(np.asarray(x0, float), lower)
    if counted(start, None) >= 1e300:
        raise FittingError("the objective is not finite at the starting values")
    opt = nlopt.opt(nlopt.LN_BOBYQA, k)
    opt.set_min_objective(counted)
    opt.set_lower_bounds(lower)
    opt.set_ftol_abs(ftol_abs)
    opt.set_xtol_abs(xtol_abs)
    opt.set_maxeval(maxeval)
    opt.set_initial_step(np.asarray(step, float))
    status = "SUCCESS"
    try:
        opt.optimize(start)
        status = {3: "FTOL_REACHED", 4: "XTOL_REACHED", 5: "MAXEVAL_REACHED"}.get(
            opt.last_optimize_result(), "SUCCESS"
        )
    except nlopt.RoundoffLimited:
        status = "ROUNDOFF_LIMITED"
    return best[1], float(best[0]), count[0], status


def derivatives(
    objective: Callable[[np.ndarray], float],
    x: np.ndarray,
    free: np.ndarray,
    f0: float,
    step: float = FD_STEP,
) -> tuple[np.ndarray, np.ndarray, int]:
    """Central-difference gradient and Hessian on the ``free`` components.

    Off-diagonal curvature from one corner ``f(x + h_i e_i + h_j e_j)`` per pair (error
    O(h), about 1e-3 of the curvature: ample for the Newton step and the standard errors);
    ``2k + k(k-1)/2`` evaluations. Returns gradient, Hessian and the count.
    """
    idx = np.flatnonzero(free)
    k = idx.size
    h = step * np.maximum(1.0, np.abs(x))
    fp = np.empty(k)
    fm = np.empty(k)
    for a, i in enumerate(idx):
        e = np.zeros_like(x)
        e[i] = h[i]
        fp[a] = objective(x + e)
        fm[a] = objective(x - e)
    grad = (fp - fm) / (2.0 * h[idx])
    hess = np.diag((fp - 2.0 * f0 + fm) / (h[idx] ** 2))
    for a in range(k):
        for b in range(a):
            i, j = idx[a], idx[b]
            e = np.zeros_like(x)
            e[i], e[j] = h[i], h[j]
            value = (objective(x + e) - fp[a] - fp[b] + f0) / (h[i] * h[j])
            hess[a, b] = hess[b, a] = value
    return grad, hess, 2 * k + k * (k - 1) // 2
