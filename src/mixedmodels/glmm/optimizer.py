"""The GLMM's optimiser: BOBYQA with per-component steps, and the finite-difference step.

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

import numpy as np

from mixedmodels.errors import FittingError
from mixedmodels.optimize import run_nlopt

__all__ = ["bobyqa", "FD_STEP"]

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

    def counted(x: np.ndarray) -> float:
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
    if counted(start) >= 1e300:
        raise FittingError("the objective is not finite at the starting values")
    _, _, status = run_nlopt(
        counted,
        start,
        lower,
        step,
        ftol_abs=ftol_abs,
        xtol_abs=xtol_abs,
        maxeval=maxeval,
    )
    return best[1], float(best[0]), count[0], status
