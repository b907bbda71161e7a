"""The machinery of a likelihood profile: deviances on lme4's scale, refits, the grid walk.

See :mod:`mixedmodels.inference.profile` for the method; this module evaluates one grid point
(a constrained refit) and walks the grid from the estimate outwards.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import numpy as np
import scipy.sparse as sp

from mixedmodels.inference._params import SdCorMap
from mixedmodels.linalg import (
    BlockedFactor,
    SufficientStats,
    Workspace,
    evaluate_objective,
    update_factor,
)
from mixedmodels.linalg.factor import LOG_2PI, objective_parts
from mixedmodels.optimize import minimize, run_nlopt

__all__ = ["Evaluator", "fixed_effect_statistics", "walk", "variance_point", "fixed_point"]

_MAX_MULT = 10.0  # a step is at most this many times the previous one
_MIN_STEP = 1e-6


class Evaluator:
    """ML deviances of one model: on the sd/cor/sigma scale, and with a fixed effect held."""

    def __init__(self, model) -> None:
        self.model = model
        self.stats: SufficientStats = model.stats
        self.workspace: Workspace = model.workspace
        self.params = SdCorMap(model.design.terms)

    def factor(self, theta: np.ndarray, workspace: Workspace | None = None) -> BlockedFactor:
        lams = self.model.lambdas(theta)
        return update_factor(self.workspace if workspace is None else workspace, lams[0], lams[1:])

    def variance_deviance(self, pars: np.ndarray) -> float:
        theta = self.params.to_theta(pars)
        if theta is None:
            return np.inf
        lams = self.model.lambdas(theta)
        parts = objective_parts(self.workspace, lams[0], lams[1:])
        if parts is None:
            return np.inf
        logdet_z, _, r2 = parts
        s2 = pars[-1] ** 2
        value = logdet_z + r2 / s2 + self.stats.n * (LOG_2PI + np.log(s2))
        return float(value - self.stats.sum_log_weights)

    def beta(self, theta: np.ndarray, workspace: Workspace | None = None) -> np.ndarray:
        """Conditional estimate of beta at theta: ``R_X' beta = c_X`` from the factor's rows."""
        workspace = self.workspace if workspace is None else workspace
        lrr = self.factor(theta, workspace).Lrr
        qr, p = workspace.stats.q_rest, workspace.stats.p
        return np.linalg.solve(lrr[qr : qr + p, qr : qr + p].T, lrr[-1, qr : qr + p])

    def fixed_deviance(self, workspace: Workspace, theta: np.ndarray) -> float:
        """Sigma-profiled ML deviance of the reduced model (``workspace``: its engine)."""
        lams = self.model.lambdas(theta)
        return evaluate_objective(workspace, lams[0], lams[1:], False)

    def fixed_r2(self, workspace: Workspace, theta: np.ndarray) -> float:
        """Penalised residual sum of squares of the reduced model (``workspace``: its engine)."""
        lams = self.model.lambdas(theta)
        parts = objective_parts(workspace, lams[0], lams[1:])
        return np.nan if parts is None else parts[2]


def fixed_effect_statistics(stats: SufficientStats, j: int, value: float) -> SufficientStats:
    """Statistics of the model with ``beta_j = value``: column j of X moved into the response.

    The new response is ``y - value * x_j`` and X loses column j, a linear map of the
    columns of ``[Zr X y]``, so the new blocks are ``T' Ar1`` and ``T' Arr T``. Where the
    statistics sum centred columns and a shifted response (``stats.conditioning``), ``T`` is
    taken from the columns summed, and the new statistics sum the model's X and response.
    """
    m, qr, p = stats.m, stats.q_rest, stats.p
    xj = qr + j
    keep = np.array([i for i in range(m) if i != xj])
    transform = np.zeros((m, m - 1))
    transform[keep[:-1], np.arange(m - 2)] = 1.0
    transform[m - 1, m - 2] = 1.0
    transform[xj, m - 2] = -value
    conditioning = stats.conditioning
    if conditioning is not None:
        # the model's [X y] are the summed columns times N = [[T^-1, shift], [0, 1]]
        N = np.eye(m)
        N[qr : qr + p, qr : qr + p] = conditioning.plain_fixed_map(p)
        N[qr : qr + p, m - 1] = conditioning.shift
        transform = N @ transform
        conditioning = conditioning.plain_fixed(p - 1)
    arr = transform.T @ stats.Arr @ transform
    if sp.issparse(stats.Ar1):
        ar1 = sp.csr_matrix(sp.csr_matrix(transform.T) @ stats.Ar1)
    else:
        ar1 = transform.T @ stats.Ar1
    return replace(
        stats, p=p - 1, Ar1=ar1, Arr=np.ascontiguousarray(arr), conditioning=conditioning
    )


# -- constrained minimisation -----------------------------------------------------------------
def _bobyqa(f, x0, lower, upper, scale, control) -> tuple[np.ndarray, float]:
    """Bounded BOBYQA on ``x / scale``; returns (x, f(x))."""
    k = x0.size

    def scaled(z):
        value = f(z * scale)
        return value if np.isfinite(value) else 1e300

    z0 = np.clip(x0 / scale, lower / scale, upper / scale)
    try:
        z, _, _ = run_nlopt(
            scaled,
            z0,
            lower / scale,
            np.full(k, control["initial_step"]),
            upper=upper / scale,
            ftol_abs=control["ftol_abs"],
            ftol_rel=control["ftol_rel"],
            xtol_rel=control["xtol_rel"],
            maxeval=int(control["maxeval"]),
        )
    except (ValueError, RuntimeError):
        z = None
    if z is None:  # nlopt gave up (rounding) or refused: the start
        z = z0
    value = f(z * scale)
    return z * scale, float(value) if value < 1e300 else np.inf


def walk(
    evaluate,
    first: np.ndarray,
    second: np.ndarray,
    column: int,
    lower: float,
    upper: float,
    delta: float,
    cutoff: float,
    max_steps: int,
) -> list[np.ndarray]:
    """Grid points beyond ``second`` in the direction from ``first`` (rows: zeta, values...)."""
    rows = [first, second]
    while len(rows) < max_steps:
        prev, last = rows[-2], rows[-1]
        x_last = last[1 + column]
        if not (lower < x_last < upper) or abs(last[0]) > cutoff:
            break
        num = x_last - prev[1 + column]
        den = last[0] - prev[0]
        if not np.isfinite(den) or den == 0:
            step = _MIN_STEP
        else:
            step = delta * num / den
            # a profile going the wrong way gets a minimal step; others at most 10x the last
            step = _MIN_STEP if step < 0 else min(step, _MAX_MULT * abs(num))
        target = min(upper, max(lower, x_last + np.sign(num) * step))
        rows.append(evaluate(target, last, prev))
    return rows[2:]


def _extrapolate(
    x: float, last: np.ndarray, before: np.ndarray | None, at: int, take: np.ndarray
) -> np.ndarray:
    """Start values at ``x``: linear extrapolation of ``take`` from the last two rows."""
    values = last[take]
    if before is None:
        return values.copy()
    x1, x0 = last[at], before[at]
    if not np.isfinite(x0) or x1 == x0 or not np.all(np.isfinite(before[take])):
        return values.copy()
    return values + (values - before[take]) * (x - x1) / (x1 - x0)


def variance_point(
    ev: Evaluator, w: int, optimum, lower, upper, scale, ctl, zeta_of
) -> Callable[[float, np.ndarray], np.ndarray]:
    """The grid-point function of variance parameter ``w``: hold it, refit the others."""
    nv = lower.size
    free = np.array([i for i in range(nv) if i != w])
    pars = np.empty(nv)

    def evaluate(x: float, previous: np.ndarray, before: np.ndarray | None = None) -> np.ndarray:
        def deviance(z: np.ndarray) -> float:
            pars[w] = x
            pars[free] = z
            return ev.variance_deviance(pars)

        start = _extrapolate(x, previous, before, 1 + w, 1 + free)
        if not np.all(np.isfinite(start)):
            start = optimum[free]
        start = np.clip(start, lower[free], upper[free])
        z, value = _bobyqa(deviance, start, lower[free], upper[free], scale[free], ctl)
        row = np.full(1 + optimum.size, np.nan)
        row[1 + w] = x
        if not np.isfinite(value):
            return row
        full = np.empty(nv)
        full[w], full[free] = x, z
        row[0] = zeta_of(x, optimum[w], value)
        row[1 : 1 + nv] = full
        theta = ev.params.to_theta(full)
        if theta is not None:
            row[1 + nv :] = ev.beta(theta)
        return row

    return evaluate


def fixed_point(
    ev: Evaluator, j: int, optimum, nv: int, theta_hat, ctl, zeta_of
) -> Callable[[float, np.ndarray], np.ndarray]:
    """The grid-point function of fixed effect ``j``: offset it, refit theta."""
    model = ev.model
    scaling = model.scaling
    control = {
        "ftol_abs": ctl["ftol_abs"],
        "ftol_rel": ctl["ftol_rel"],
        "xtol_abs": ctl["xtol_rel"],
        "initial_step": 5 * ctl["initial_step"],
        "maxeval": ctl["maxeval"],
    }
    thetas: dict[float, np.ndarray] = {}
    scaled_hat = scaling.to_scaled(theta_hat)
    upper = model.upper_bounds if np.isfinite(model.upper_bounds).any() else None

    def evaluate(x: float, previous: np.ndarray, before: np.ndarray | None = None) -> np.ndarray:
        workspace = Workspace(fixed_effect_statistics(ev.stats, j, x))
        x1 = float(previous[1 + nv + j])
        s1 = thetas.get(x1, scaled_hat)
        s0 = None if before is None else thetas.get(float(before[1 + nv + j]))
        start = s1
        if s0 is not None:
            x0 = float(before[1 + nv + j])  # type: ignore[index]  # s0 is there: before is
            start = np.maximum(s1 + (s1 - s0) * (x - x1) / (x1 - x0), model.lower_bounds)
        if upper is not None:
            start = np.minimum(start, upper)

        def objective(s: np.ndarray) -> float:
            return ev.fixed_deviance(workspace, scaling.to_theta(s))

        s, value, _, _ = minimize(objective, start, model.lower_bounds, control, upper=upper)
        theta = scaling.to_theta(s)
        r2 = ev.fixed_r2(workspace, theta)
        sigma = float(np.sqrt(r2 / workspace.stats.n))
        row = np.empty(1 + optimum.size)
        row[0] = zeta_of(x, optimum[nv + j], value)
        row[1 : 1 + nv] = ev.params.to_sdcor(theta, sigma)
        beta = ev.beta(theta, workspace)
        row[1 + nv :] = np.insert(beta, j, x)
        thetas[float(x)] = s
        return row

    return evaluate
