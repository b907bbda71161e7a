"""The checks at an optimum: finite-difference gradient and Hessian, Newton step, polish.

After BOBYQA stops (:mod:`mixedmodels.optimize`), :func:`examine` measures the optimum by
central differences on the components that are not at a bound: the Newton step's length in
standard errors, and, where the Hessian is not positive definite, whether a direction of
non-positive curvature descends. :func:`polish` takes the Newton step when it lowers the
objective. Warnings are raised only when these checks fail.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np
from scipy.linalg import lapack

from mixedmodels.finite_differences import hessian, relative_steps

__all__ = [
    "convergence_messages",
    "check_convergence",
    "examine",
    "Examination",
    "polish",
    "positive_definite_step",
    "CURVATURE_PROBES",
    "AT_BOUND",
]

AT_BOUND = 1e-4
"""A component this close to a finite bound counts as on it: the checks leave it out of the
finite differences (their steps would cross the bound)."""


def _at_bound(x: np.ndarray, lower: np.ndarray, upper: np.ndarray | None) -> np.ndarray:
    """Components within 1e-4 of a finite bound (left out of the finite differences)."""
    out = np.isfinite(lower) & (x - lower < AT_BOUND)
    if upper is not None:
        out |= np.isfinite(upper) & (upper - x < AT_BOUND)
    return out


def _finite_difference(f, x, lower, step=1e-4, f0=None, batch=None, upper=None):
    """Central-difference gradient and Hessian on the components that are not at a bound.

    Steps ``step * max(1, |x_i|)``, inside a finite box at most half the distance to either
    bound; each off-diagonal entry from one more evaluation, ``f(x + h_i e_i + h_j e_j)``
    (error O(h), ample for the checks; :func:`mixedmodels.finite_differences.hessian`'s
    ``"corner"`` rule): with ``k`` free components ``2k + k(k-1)/2`` evaluations (plus one
    when ``f0`` is not given). ``batch``, when given, evaluates a list of points at once
    (e.g. in parallel) and returns their values in order; the points and the arithmetic are
    the same either way.
    """
    free = ~_at_bound(x, lower, upper)
    h = relative_steps(x, step, lower if upper is not None else None, upper)
    return hessian(f, x, h, f0, free=free, batch=batch, cross="corner")


def convergence_messages(
    objective: Callable[[np.ndarray], float],
    x: np.ndarray,
    lower: np.ndarray,
    tolerance: float,
    fmin: float | None = None,
) -> tuple[str, ...]:
    """Convergence checks at an optimum (see :func:`examine`); empty when the fit converged.

    ``fmin``, the objective at ``x`` when already known, saves one evaluation.
    """
    return examine(objective, x, lower, tolerance, fmin).messages


def check_convergence(
    objective: Callable[[np.ndarray], float],
    x: np.ndarray,
    lower: np.ndarray,
    tolerance: float,
    fmin: float | None = None,
    batch: Callable[[list[np.ndarray]], list[float]] | None = None,
    upper: np.ndarray | None = None,
    along: np.ndarray | None = None,
) -> tuple[tuple[str, ...], np.ndarray | None]:
    """The convergence messages and the Newton step of :func:`examine`.

    With finite ``upper`` bounds or a ray ``along`` (structured covariances, see
    :mod:`mixedmodels.residual_boundary`), :func:`_structured_check` instead: their bounds
    and the ray are left out of the derivatives like a lower bound. Without them the result
    is :func:`examine`'s, bit for bit.
    """
    if along is not None or (upper is not None and np.isfinite(upper).any()):
        return _structured_check(objective, x, lower, tolerance, fmin, batch, upper, along)
    found = examine(objective, x, lower, tolerance, fmin, batch)
    return found.messages, found.step


def _structured_check(
    objective: Callable[[np.ndarray], float],
    x: np.ndarray,
    lower: np.ndarray,
    tolerance: float,
    fmin: float | None = None,
    batch: Callable[[list[np.ndarray]], list[float]] | None = None,
    upper: np.ndarray | None = None,
    along: np.ndarray | None = None,
) -> tuple[tuple[str, ...], np.ndarray | None]:
    """lme4's relative-gradient check with finite upper bounds and a ray (structured fits).

    The messages and, when the Hessian is positive definite, the Newton step.

    ``batch``: evaluates a list of points at once (see ``_finite_difference``). ``along``: a
    direction in which the objective falls toward a limit at infinity (sigma -> 0, see
    :mod:`mixedmodels.residual_boundary`): left out of the checks like a bound, the gradient
    and Hessian taken on the free components orthogonal to it.

    The step is zero when every component rests on its bound, None when the Hessian of the
    free components is not positive definite.

    The Newton step ``-H^-1 g`` on the free components (zero elsewhere) is what lme4 calls
    the relative gradient; adding it to ``x`` polishes the optimum along flat directions.
    """
    if x.size == 0:
        return (), None
    grad, hess = _finite_difference(objective, x, lower, f0=fmin, batch=batch, upper=upper)
    if grad.size == 0:  # every component on its bound: nothing to step along
        return (), np.zeros_like(x)
    free = ~_at_bound(x, lower, upper)
    basis = None
    if along is not None and np.any(along[free]):
        v = along[free] / np.linalg.norm(along[free])
        q = np.linalg.qr(np.column_stack([v, np.eye(v.size)]))[0]
        basis = q[:, 1 : v.size]  # orthonormal, orthogonal to v
        if basis.shape[1] == 0:
            return (), np.zeros_like(x)
        with np.errstate(invalid="ignore"):  # a neighbour past the engine's reach: inf
            grad, hess = basis.T @ grad, basis.T @ hess @ basis
    messages = []
    try:
        chol = np.linalg.cholesky(hess)
    except np.linalg.LinAlgError:
        eig = np.linalg.eigvalsh(hess)
        if eig.min() < -1e-6 * max(1.0, abs(eig).max()):
            messages.append(
                "Hessian of the objective is not positive definite at the optimum "
                f"(smallest eigenvalue {eig.min():.3g}): the fit may not have converged"
            )
        return tuple(messages), None
    relative = np.linalg.solve(chol.T, np.linalg.solve(chol, grad))
    worst = float(np.max(np.abs(relative)))
    if worst > tolerance:
        messages.append(
            f"model failed to converge: relative gradient {worst:.3g} > tolerance {tolerance:g}"
        )
    step = np.zeros_like(x)
    step[free] = -relative if basis is None else -(basis @ relative)
    return tuple(messages), step


@dataclass(frozen=True)
class Examination:
    """What the finite differences at an optimum say (see :func:`examine`).

    Attributes
    ----------
    messages
        Convergence warnings; empty when the fit converged.
    step
        The Newton step ``-H^-1 g`` on the free components (zero elsewhere); zero when every
        component rests on its bound, None when the Hessian is not positive definite.
    distance
        Length of the Newton step in standard errors of the parameters (NaN without a step).
    descent, descent_value
        A point lower than the optimum found along a direction of non-positive curvature,
        and its objective; None and NaN when there is none.
    evaluations
        Evaluations used beyond the finite differences (the probes along such directions).
    standard_errors
        ``sqrt(2 (H^-1)_ii)`` of the free components (NaN elsewhere), when the Hessian is
        positive definite.
    """

    messages: tuple[str, ...]
    step: np.ndarray | None
    distance: float = math.nan
    descent: np.ndarray | None = None
    descent_value: float = math.nan
    evaluations: int = 0
    standard_errors: np.ndarray | None = None


CURVATURE_PROBES = (1.0, 4.0, 16.0, 64.0)
"""Lengths, in finite-difference steps, tried both ways along a direction of non-positive
curvature."""


def examine(
    objective: Callable[[np.ndarray], float],
    x: np.ndarray,
    lower: np.ndarray,
    tolerance: float,
    fmin: float | None = None,
    batch: Callable[[list[np.ndarray]], list[float]] | None = None,
) -> Examination:
    """Convergence checks at an optimum, measured so that only a failing optimiser fails them.

    The objective is a deviance (-2 log-likelihood, or the REML criterion), so ``2 H^-1`` is
    the asymptotic covariance of the free parameters and the Newton step ``s = -H^-1 g`` is
    ``sqrt(g' H^-1 g / 2)`` standard errors long, which is also the square root of the
    decrease of the objective that the step predicts. That length does not depend on how the
    parameters are scaled, unlike lme4's relative gradient ``H^-1 g`` in units of theta,
    which reports rounding as failure where a variance is large (theta about 1000: a step of
    0.02 in theta is a millionth of a standard error). A message when it exceeds
    ``tolerance``.

    Where the Hessian is not positive definite, each direction of non-positive curvature is
    followed both ways (:data:`CURVATURE_PROBES` steps long); only a lower objective there
    is a failure (a saddle or ridge; the point is returned in ``descent``). Without one the
    direction is flat to rounding, and the step is measured on the other directions.

    ``batch``: evaluates a list of points at once (see ``_finite_difference``).
    """
    if x.size == 0:
        return Examination((), None)
    if fmin is None:
        fmin = objective(x)
    grad, hess = _finite_difference(objective, x, lower, f0=fmin, batch=batch)
    if grad.size == 0:  # every component on its bound: nothing to step along
        return Examination((), np.zeros_like(x), 0.0)
    free = ~(np.isfinite(lower) & (x - lower < AT_BOUND))
    h = 1e-4 * np.maximum(1.0, np.abs(x[free]))
    scaled = hess * np.outer(h, h)  # curvature per finite-difference step: no units
    scaled = (scaled + scaled.T) / 2
    rounding = 64.0 * np.finfo(float).eps * max(1.0, abs(fmin))
    quick = positive_definite_step(scaled, grad * h, lower[free], x[free], h, rounding)
    if quick is not None:  # the common case, without an eigendecomposition
        step_scaled, inverse_diagonal = quick
        return _measured(x, free, h, grad * h, scaled, step_scaled, inverse_diagonal, tolerance)
    values, vectors = np.linalg.eigh(scaled)
    noise = 1e-10 * max(1.0, abs(fmin))
    flat = values <= rounding
    used = 0
    if np.any(flat):
        best, best_value = None, fmin
        for v in vectors[:, flat].T:
            for length in CURVATURE_PROBES:
                for sign in (1.0, -1.0):
                    trial = np.array(x, dtype=float)
                    trial[free] += sign * length * h * v
                    trial = np.maximum(trial, lower)
                    value = objective(trial)
                    used += 1
                    if value < best_value - noise:
                        best, best_value = trial, value
        if best is not None:
            message = (
                "Hessian of the objective is not positive definite at the optimum "
                f"(the objective falls by {fmin - best_value:.3g} along a direction of "
                "non-positive curvature): the fit has not converged"
            )
            return Examination((message,), None, math.nan, best, float(best_value), used)
    kept = ~flat
    g_scaled = grad * h
    bound = (lower[free] - x[free]) / h  # the step (in finite-difference steps) to the bound
    if np.any(flat):  # the Newton step on the directions of positive curvature only
        coeffs = (vectors[:, kept].T @ g_scaled) / values[kept]
        step_scaled = -(vectors[:, kept] @ coeffs)
        decrease = -float(g_scaled @ step_scaled + 0.5 * step_scaled @ scaled @ step_scaled)
        distance = math.sqrt(max(decrease, 0.0))
        messages = _newton_messages(distance, decrease, tolerance)
        return Examination(messages, None, distance, None, math.nan, used)
    step_scaled = _bounded_newton(scaled, g_scaled, bound)
    inverse_diagonal = np.einsum("ij,j,ij->i", vectors, 1.0 / values, vectors)
    found = _measured(x, free, h, g_scaled, scaled, step_scaled, inverse_diagonal, tolerance)
    return found if not used else replace(found, evaluations=used)


def positive_definite_step(scaled, g_scaled, lower, x, h, rounding):
    """The bounded Newton step and ``diag(H~^-1)``, or None.

    None unless ``H~`` is clearly positive definite (the caller's eigendecomposition then
    decides).

    Clearly: every eigenvalue above ``rounding``, which ``1 / trace(H~^-1)`` bounds from below
    (the largest eigenvalue of ``H~^-1`` is at most its trace), so this path is taken only
    where the eigendecomposition would find no flat direction either.
    """
    factor, info = lapack.dpotrf(scaled, lower=1, clean=0)  # LAPACK reads the lower part
    if info != 0:
        return None
    pivots = factor.diagonal()
    if not (pivots * pivots > rounding).all():
        return None
    inverse, info = lapack.dpotri(factor, lower=1)
    if info != 0:
        return None
    inverse_diagonal = inverse.diagonal().copy()
    trace = float(inverse_diagonal.sum())
    if not (math.isfinite(trace) and trace > 0.0 and 1.0 / trace > rounding):
        return None
    step, info = lapack.dpotrs(factor, -g_scaled, lower=1)
    if info != 0:
        return None
    bound = (lower - x) / h
    if (step < bound).any():  # a bound is crossed: the active-set solve
        step = _bounded_newton(scaled, g_scaled, bound)
    return step, inverse_diagonal


def _measured(x, free, h, g_scaled, scaled, step_scaled, inverse_diagonal, tolerance):
    """The Examination of a positive definite Hessian and its (bounded) Newton step."""
    decrease = -float(g_scaled @ step_scaled + 0.5 * step_scaled @ scaled @ step_scaled)
    distance = math.sqrt(max(decrease, 0.0))
    step = np.zeros_like(x, dtype=float)
    step[free] = step_scaled * h
    errors = np.full(x.shape, math.nan)
    errors[free] = h * np.sqrt(2.0 * np.maximum(inverse_diagonal, 0.0))
    messages = _newton_messages(distance, decrease, tolerance)
    return Examination(messages, step, distance, None, math.nan, 0, errors)


def _newton_messages(distance: float, decrease: float, tolerance: float) -> tuple[str, ...]:
    if distance <= tolerance:
        return ()
    return (
        f"model failed to converge: the Newton step from the optimum is {distance:.3g} "
        f"standard errors long (tolerance {tolerance:g}; it would lower the objective by "
        f"{decrease:.3g})",
    )


def _bounded_newton(hess: np.ndarray, grad: np.ndarray, bound: np.ndarray) -> np.ndarray:
    """Minimiser of ``g's + s'Hs/2`` with the components that would cross ``s >= bound`` on it.

    ``H`` positive definite. Components whose Newton step crosses their bound are put on it
    and the others solved again given them, until none crosses (an active set that only
    grows: at most one pass per component). Without a crossing this is ``-H^-1 g``.
    """
    k = grad.size
    active = np.zeros(k, dtype=bool)
    step = np.zeros(k)
    for _ in range(k + 1):
        step[active] = bound[active]
        rest = ~active
        if not np.any(rest):
            break
        rhs = grad[rest] + hess[np.ix_(rest, active)] @ step[active]
        step[rest] = -np.linalg.solve(hess[np.ix_(rest, rest)], rhs)
        crossing = rest & (step < bound)
        if not np.any(crossing):
            break
        active |= crossing
    return step


def polish(
    objective: Callable[[np.ndarray], float],
    x: np.ndarray,
    fmin: float,
    step: np.ndarray | None,
    lower: np.ndarray,
    upper: np.ndarray | None = None,
) -> tuple[np.ndarray, float, int]:
    """Try ``x + step`` (kept inside the bounds); keep it only if the objective is lower.

    Returns the point, its objective and the number of evaluations used (0 or 1).
    """
    if step is None or not np.any(step) or not np.all(np.isfinite(step)):
        return x, fmin, 0
    trial = np.maximum(x + step, lower)
    if upper is not None:
        trial = np.minimum(trial, upper)
    value = objective(trial)
    if np.isfinite(value) and value < fmin:
        return trial, float(value), 1
    return x, fmin, 1
