"""Derivative-free minimisation of the profiled objective over theta: the BOBYQA driver.

BOBYQA (nlopt) works on theta of internally rescaled columns (see :mod:`mixedmodels.scaling`).
After it stops, components resting near a bound are tried on the bound and BOBYQA restarted
if that is better. The checks of the optimum (finite differences, Newton step) are in
:mod:`mixedmodels.convergence`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import nlopt
import numpy as np

from mixedmodels.errors import FittingError

__all__ = [
    "OptSummary",
    "minimize",
    "run_nlopt",
    "DEFAULT_CONTROL",
    "COARSE_FTOL_ABS",
    "OPTIMIZERS",
]

NEAR_BOUND = 1e-3
"""Distance to a bound (theta of scaled columns) from which the bound itself is tried."""

ARRIVED = 1e-3
"""Distance (theta of scaled columns, per component) at which a restart is back at a point."""

COARSE_FTOL_ABS = 1e-5
"""BOBYQA's tolerance on the objective when the convergence check follows (see ``fit``)."""

DEFAULT_CONTROL: dict[str, float | int | str] = {
    "optimizer": "bobyqa",
    "ftol_rel": 0.0,  # relative tolerance would stop early on large objectives (InstEval)
    "ftol_abs": 1e-8,
    "xtol_abs": 1e-8,
    "initial_step": 0.15,
    "step_floor": 0.1,
    "start": "moments",
    "maxeval": 100_000,
    "check_convergence": True,
    "gradient_tolerance": 1e-2,
}
"""Optimiser settings. ``ftol_abs``/``xtol_abs`` are lme4's (nloptwrap). BOBYQA's initial
trust-region radius per component is ``initial_step * max(|x0_i|, step_floor)`` (relative,
since the moment start is already close); ``start`` is ``"moments"`` or ``"identity"``;
``gradient_tolerance`` is the longest Newton step from the optimum, in standard errors of
the parameters, that counts as converged (see :func:`mixedmodels.convergence.examine`)."""

_ALGORITHMS = {
    "bobyqa": nlopt.LN_BOBYQA,
    "newuoa": nlopt.LN_NEWUOA_BOUND,
    # further derivative-free bounded algorithms of nlopt, for all_fit() (lme4's allFit)
    "neldermead": nlopt.LN_NELDERMEAD,
    "sbplx": nlopt.LN_SBPLX,
    "cobyla": nlopt.LN_COBYLA,
}
OPTIMIZERS = tuple(_ALGORITHMS)
"""Names accepted by ``control={"optimizer": ...}``."""


@dataclass(frozen=True)
class OptSummary:
    """The optimiser's story: where it started, where it stopped and how it got there.

    Attributes
    ----------
    initial, final
        Theta at the start and at the optimum (lme4's parameterisation).
    fmin
        Objective at ``final``.
    evaluations
        Number of objective evaluations by the optimiser (lme4's ``feval``).
    optimizer
        Name of the algorithm.
    return_value
        nlopt's return code name.
    seconds
        Wall time of the optimisation.
    messages
        Convergence warnings (empty when the checks passed).
    check_evaluations
        Further evaluations spent on the convergence check.
    residual_boundary
        Whether the fit ended at the boundary sigma -> 0 (see
        :mod:`mixedmodels.residual_boundary`).
    boundary_evaluations
        Further evaluations spent confirming an optimum on the boundary (directions off it
        and restarts from other start values; see :mod:`mixedmodels.boundary`).
    cholmod
        The CHOLMOD binding and library versions of the sparse route, where the fit's
        objective was evaluated on it (e.g. ``"ctypes binding, CHOLMOD 3.0.6, cvxopt
        1.3.3"``; see :func:`mixedmodels.show_config`); None where the objective was
        evaluated densely.
    """

    initial: tuple[float, ...]
    final: tuple[float, ...]
    fmin: float
    evaluations: int
    optimizer: str
    return_value: str
    seconds: float
    messages: tuple[str, ...] = field(default=())
    check_evaluations: int = 0
    residual_boundary: bool = False
    boundary_evaluations: int = 0
    cholmod: str | None = None

    @property
    def converged(self) -> bool:
        """True when no convergence message was raised."""
        return not self.messages

    @classmethod
    def not_optimized(cls, theta, fmin: float) -> OptSummary:
        """The record of no optimisation: started and stopped at ``theta``, no evaluations."""
        theta = tuple(theta)
        return cls(
            initial=theta,
            final=theta,
            fmin=fmin,
            evaluations=0,
            optimizer="none",
            return_value="NOT_OPTIMIZED",
            seconds=0.0,
        )


_RETURN_NAMES = {
    1: "SUCCESS",
    2: "STOPVAL_REACHED",
    3: "FTOL_REACHED",
    4: "XTOL_REACHED",
    5: "MAXEVAL_REACHED",
    6: "MAXTIME_REACHED",
}


def run_nlopt(
    f: Callable[[np.ndarray], float],
    start: np.ndarray,
    lower: np.ndarray,
    step: np.ndarray | float,
    *,
    upper: np.ndarray | None = None,
    optimizer: str = "bobyqa",
    ftol_rel: float | None = None,
    ftol_abs: float | None = None,
    xtol_rel: float | None = None,
    xtol_abs: float | None = None,
    maxeval: int | None = None,
) -> tuple[np.ndarray | None, float, str]:
    """One run of an nlopt algorithm (:data:`OPTIMIZERS`; BOBYQA by default) from ``start``.

    The one place that builds ``nlopt.opt``: the fit (:func:`minimize`), the GLMM's optimiser
    and the profiles' constrained minimisations call it. A tolerance left None is not set
    (nlopt's default: off). ``step``: the initial step, one number or one per component.

    Returns
    -------
    x, value, return_value
        nlopt's optimum and its value, and its return code name; ``(None, nan,
        "ROUNDOFF_LIMITED")`` when BOBYQA gave up on rounding and ``(None, nan,
        "FORCED_STOP")`` when ``f`` raised :class:`nlopt.ForcedStop`. Other errors of
        nlopt (``ValueError``, ``RuntimeError``) are raised.
    """
    k = start.size
    opt = nlopt.opt(_ALGORITHMS[optimizer], k)
    opt.set_min_objective(lambda x, grad: f(x))
    opt.set_lower_bounds(lower)
    if upper is not None:
        opt.set_upper_bounds(upper)
    for setter, value in (
        (opt.set_ftol_rel, ftol_rel),
        (opt.set_ftol_abs, ftol_abs),
        (opt.set_xtol_rel, xtol_rel),
        (opt.set_xtol_abs, xtol_abs),
    ):
        if value is not None:
            setter(float(value))
    if maxeval is not None:
        opt.set_maxeval(int(maxeval))
    steps = np.full(k, step, dtype=float) if np.ndim(step) == 0 else np.array(step, dtype=float)
    opt.set_initial_step(steps)
    try:
        x = opt.optimize(start)
    except nlopt.ForcedStop:
        return None, math.nan, "FORCED_STOP"
    except nlopt.RoundoffLimited:
        return None, math.nan, "ROUNDOFF_LIMITED"
    return x, opt.last_optimum_value(), _RETURN_NAMES.get(opt.last_optimize_result(), "FAILURE")


def _bobyqa(f, x0, lower, control, step: np.ndarray | float, upper: np.ndarray | None = None):
    start = np.maximum(x0, lower) if upper is None else np.clip(x0, lower, upper)
    x, value, status = run_nlopt(
        f,
        start,
        lower,
        step,
        upper=upper,
        optimizer=str(control["optimizer"]),
        ftol_rel=float(control["ftol_rel"]),
        ftol_abs=float(control["ftol_abs"]),
        xtol_abs=float(control["xtol_abs"]),
        maxeval=int(control["maxeval"]),
    )
    if status == "FORCED_STOP":  # minimize()'s objective stopped it (see ``arrived``)
        return start, math.inf, "ARRIVED"
    if x is None:
        # BOBYQA can give up at once (e.g. one parameter starting on its bound); minimize()
        # keeps the best point evaluated anyway
        return start, f(start), status
    return x, value, status


def minimize(
    objective: Callable[[np.ndarray], float],
    x0: np.ndarray,
    lower: np.ndarray,
    control: dict | None = None,
    near_bound: np.ndarray | None = None,
    probe_bounds: bool = True,
    arrived: tuple[np.ndarray, float] | None = None,
    *,
    upper: np.ndarray | None = None,
) -> tuple[np.ndarray, float, int, str]:
    """Minimise ``objective`` from ``x0`` subject to ``x >= lower`` (and ``x <= upper``).

    BOBYQA's initial step per component is ``initial_step * max(|x0_i|, step_floor)``;
    components flagged in ``near_bound`` (a start that already says "no variance here", just
    inside the bound) take half their distance to the bound instead, so that the first
    probes reach the boundary where such optima lie. Finite upper bounds (correlation
    parameters of structured covariances) are probed and tried like the lower ones, and the
    initial step of a component is at most a quarter of its range. ``probe_bounds``: try
    each component
    that ends on its bound just inside it (and restart there if better); a caller that
    confirms boundary optima itself (:mod:`mixedmodels.boundary`) turns this off.
    ``arrived = (point, value)``: BOBYQA stops as soon as it evaluates a point within
    :data:`ARRIVED` of ``point`` (in every component) whose objective is not above ``value``
    (a restart that has come back to the optimum it is confirming; return value
    ``"ARRIVED"``).

    Returns
    -------
    x, fmin, evaluations, return_value
    """
    ctl = {**DEFAULT_CONTROL, **(control or {})}
    count = [0]
    best: list[Any] = [np.inf, None]  # the lowest value seen and its point

    def counted(x: np.ndarray) -> float:
        if count[0] == 1 and best[1] is not None and np.array_equal(x, best[1]):
            return best[0]  # BOBYQA's first point is the start we just evaluated
        count[0] += 1
        value = objective(x)
        if not math.isfinite(value):
            return 1e300
        if value < best[0]:
            best[0], best[1] = value, x.copy()
        return value

    def watched(x: np.ndarray) -> float:
        value = counted(x)
        if (
            value <= arrived[1] + 1e-10 * max(1.0, abs(arrived[1]))  # type: ignore[index]
            and np.max(np.abs(x - arrived[0])) <= ARRIVED  # type: ignore[index]
        ):
            raise nlopt.ForcedStop("back at the optimum being confirmed")
        return value

    if x0.size == 0:
        return x0, float(objective(x0)), 1, "SUCCESS"
    x0 = np.maximum(np.asarray(x0, dtype=float), lower)
    if upper is not None:
        upper = np.asarray(upper, dtype=float)
        x0 = np.minimum(x0, upper)
        if not np.isfinite(upper).any():
            upper = None
    if counted(x0) >= 1e300:
        raise FittingError("the objective is not finite at the starting values")
    step = float(ctl["initial_step"]) * np.maximum(np.abs(x0), float(ctl["step_floor"]))
    if near_bound is not None:
        off_bound = np.asarray(near_bound, dtype=bool) & (x0 > lower)
        step[off_bound] = 0.5 * (x0[off_bound] - lower[off_bound])
    if upper is not None:
        boxed = np.isfinite(upper) & np.isfinite(lower)
        step[boxed] = np.minimum(step[boxed], 0.25 * (upper[boxed] - lower[boxed]))
    x, fmin, status = _bobyqa(counted if arrived is None else watched, x0, lower, ctl, step, upper)
    if best[1] is not None and best[0] < fmin:
        x, fmin = best[1], best[0]
    # boundary: a component resting on its bound may be a false stop. Probe just inside; only
    # if that is better, restart from there.
    at_lower = np.isfinite(lower) & (x - lower < 1e-6)
    at_upper = np.zeros(x.shape, dtype=bool)
    if upper is not None:
        at_upper = np.isfinite(upper) & (upper - x < 1e-6)
    at_bound = np.flatnonzero(at_lower | at_upper)
    if at_bound.size and probe_bounds:
        inside = np.asarray(lower, dtype=float) + 1e-3
        if upper is not None:
            inside = np.where(at_upper, upper - 1e-3, inside)
        probes = []
        for i in at_bound:
            trial = x.copy()
            trial[i] = inside[i]
            probes.append((counted(trial), i))
        if min(probes)[0] < fmin:
            trial = x.copy()
            trial[at_bound] = inside[at_bound]
            x2, f2, status2 = _bobyqa(counted, trial, lower, ctl, 0.05, upper)
            if f2 < fmin:
                x, fmin, status = x2, f2, status2
    if best[1] is not None and best[0] < fmin:
        x, fmin = best[1], best[0]
    # near the bound: a flat objective can stop BOBYQA just inside it (theta 4e-5 where the
    # optimum is 0, 3e-7 above it). Try those components on the bound; keep that if better.
    near_lower = np.isfinite(lower) & (x - lower > 0) & (x - lower < NEAR_BOUND)
    near_upper = (
        np.zeros_like(near_lower)
        if upper is None
        else np.isfinite(upper) & (upper - x > 0) & (upper - x < NEAR_BOUND)
    )
    if near_lower.any() or near_upper.any():
        trial = np.array(x, dtype=float)
        trial[near_lower] = lower[near_lower]
        if upper is not None:
            trial[near_upper] = upper[near_upper]
        value = counted(trial)
        if value < fmin:
            x, fmin = trial, value
    return np.asarray(x), float(fmin), count[0], status
