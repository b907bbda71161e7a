"""Likelihood profiles of every parameter, as lme4's ``profile.merMod``, and their intervals.

For each parameter the ML deviance is minimised over all the others with that one held at
points of a grid; ``zeta = sign(x - x_hat) * sqrt(deviance(x) - deviance(x_hat))``. Like lme4
(whose ``devfun2`` calls ``refitML``), a REML fit is first refitted by maximum likelihood and
the ML deviance is profiled, so profile intervals of a REML fit are ML-based.

* Variance parameters are profiled on lme4's scale (standard deviations, correlations, sigma),
  holding one and minimising ``log|L_Z|^2 + r^2(theta)/sigma^2 + n log(2 pi sigma^2)`` (beta
  profiled out) over the others with bounded BOBYQA.
* A fixed effect ``beta_j`` is held at ``b`` by moving ``X_j b`` into the response and
  dropping column j. The sufficient statistics of that model follow from A by a linear map of
  its response row, so nothing is recomputed from the data; the sigma-profiled ML deviance is
  minimised over theta with the engine's optimiser.

The grid is lme4's: from the estimate a first step (1 % of the value, or a standard error
times the zeta step for fixed effects), then steps aimed at a change of ``delta`` in zeta,
extrapolated from the last two points, until ``|zeta|`` passes the cutoff
``sqrt(chi2_{1 - alpha_max}(number of parameters))`` or a bound is reached. Each refit starts
from the neighbouring grid point's optimum.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

import nlopt
import numpy as np
import pandas as pd
import scipy.sparse as sp
from scipy import stats as sps

from mixedmodels.errors import ConvergenceWarning, InferenceError
from mixedmodels.inference._params import SdCorMap
from mixedmodels.inference._spline import (
    InverseSpline,
    NaturalSpline,
    inverse_spline,
    natural_spline,
)
from mixedmodels.inference._threads import single_threaded_blas
from mixedmodels.linalg import BlockedFactor, SufficientStats, profiled_objective, update_factor
from mixedmodels.linalg.factor import LOG_2PI, log_determinants
from mixedmodels.optimize import minimize

__all__ = ["Profile", "profile", "check_level", "PROFILE_CONTROL"]

#: Optimiser settings of the constrained refits (BOBYQA).
PROFILE_CONTROL: dict[str, float] = {
    "ftol_abs": 1e-7,
    "ftol_rel": 1e-13,
    "xtol_rel": 1e-6,
    "initial_step": 0.02,
    "maxeval": 10_000,
}
_MAX_MULT = 10.0  # a step is at most this many times the previous one
_MIN_STEP = 1e-6
_DEVIANCE_TOLERANCE = 1e-6  # a lower deviance than the optimum's by more than this warns


def check_level(level: float) -> float:
    """Validate a confidence level: a number strictly between 0 and 1."""
    try:
        value = float(level)
    except (TypeError, ValueError):
        raise InferenceError(f"level must be a number in (0, 1), got {level!r}") from None
    if not 0.0 < value < 1.0:
        raise InferenceError(f"level must be in (0, 1), got {level!r}")
    return value


@dataclass(frozen=True, eq=False)
class Profile:
    """The likelihood profile of a fitted model's parameters.

    Attributes
    ----------
    table
        One row per grid point: ``parameter`` (the one held fixed), ``zeta`` (signed square
        root of the ML deviance change), then one column per parameter with every
        parameter's value at that point (sd/cor names as lme4, ``sigma``, fixed effects).
        Rows are grouped by ``parameter`` and sorted by its value within a group.
    optimum
        The ML estimates of every parameter (the point where all zetas are 0).
    deviance
        The ML deviance at the optimum.
    lower, upper
        Bounds of every parameter (0 for standard deviations and sigma, -1/1 for
        correlations, infinite for fixed effects): interval ends beyond the profiled range.
    result
        The fit that was profiled (for a REML fit, the REML result, not its ML refit).
    """

    table: pd.DataFrame
    optimum: pd.Series
    deviance: float
    lower: pd.Series
    upper: pd.Series
    result: object = None

    @property
    def parameters(self) -> tuple[str, ...]:
        """Names of the profiled parameters, in lme4's order."""
        present = set(self.table["parameter"])
        return tuple(name for name in self.optimum.index if name in present)

    def points(self, name: str) -> pd.DataFrame:
        """``value`` and ``zeta`` of the grid points of one parameter (finite zeta only)."""
        if name not in self.parameters:
            raise InferenceError(f"{name!r} was not profiled; profiled: {list(self.parameters)}")
        rows = self.table[self.table["parameter"] == name]
        frame = pd.DataFrame({"value": rows[name].to_numpy(), "zeta": rows["zeta"].to_numpy()})
        frame = frame[np.isfinite(frame["zeta"])].drop_duplicates("value")
        return frame.sort_values("value", ignore_index=True)

    def forward(self, name: str) -> NaturalSpline:
        """Interpolating spline of zeta as a function of the parameter (for zeta plots)."""
        pts = self.points(name)
        return natural_spline(pts["value"].to_numpy(), pts["zeta"].to_numpy())

    def inverse(self, name: str) -> InverseSpline:
        """Parameter value as a function of zeta; raises ValueError for a non-monotone profile."""
        return inverse_spline(self.forward(name))

    def confint(self, level: float = 0.95) -> pd.DataFrame:
        """Profile confidence intervals by inverse interpolation of zeta, as lme4.

        Parameters
        ----------
        level
            Confidence level in (0, 1).

        Returns
        -------
        pandas.DataFrame
            Index ``parameter``; columns ``lower`` and ``upper``. An end the profile does not
            reach (a variance whose profile stops at zero) is the parameter's bound.
        """
        level = check_level(level)
        z = float(sps.norm.ppf(0.5 + level / 2.0))
        rows = []
        for name in self.parameters:
            pts = self.points(name)
            ends = np.full(2, np.nan)
            if len(pts) >= 2:
                try:
                    ends = self.inverse(name)(np.array([-z, z]))
                except ValueError:
                    zeta = pts["zeta"].to_numpy()
                    if np.min(np.diff(zeta)) < -1e-2:
                        warnings.warn(
                            f"non-monotonic profile for {name}", ConvergenceWarning, stacklevel=2
                        )
                    else:
                        ends = np.interp(
                            [-z, z], zeta, pts["value"].to_numpy(), left=np.nan, right=np.nan
                        )
                if np.isnan(ends[0]):
                    ends[0] = self.lower[name]
                if np.isnan(ends[1]):
                    ends[1] = self.upper[name]
            rows.append(ends)
        frame = pd.DataFrame(
            rows, index=pd.Index(self.parameters, name="parameter"), columns=["lower", "upper"]
        )
        frame.attrs["level"] = level
        return frame


# -- the deviance in lme4's parameterisation -------------------------------------------------
class _Evaluator:
    """ML deviances of one model: on the sd/cor/sigma scale, and with a fixed effect held."""

    def __init__(self, model) -> None:
        self.model = model
        self.stats: SufficientStats = model.stats
        self.params = SdCorMap(model.design.terms)

    def factor(self, theta: np.ndarray, stats: SufficientStats | None = None) -> BlockedFactor:
        lams = self.model.lambdas(theta)
        return update_factor(self.stats if stats is None else stats, lams[0], lams[1:])

    def variance_deviance(self, pars: np.ndarray) -> float:
        theta = self.params.to_theta(pars)
        if theta is None:
            return np.inf
        try:
            factor = self.factor(theta)
        except np.linalg.LinAlgError:
            return np.inf
        logdet_z, _ = log_determinants(factor, self.stats)
        s2 = pars[-1] ** 2
        n = self.stats.n
        value = logdet_z + factor.r2 / s2 + n * (LOG_2PI + np.log(s2))
        return float(value - self.stats.sum_log_weights)

    def beta(self, theta: np.ndarray, stats: SufficientStats | None = None) -> np.ndarray:
        """Conditional estimate of beta at theta: ``R_X' beta = c_X`` from the factor's rows."""
        stats = self.stats if stats is None else stats
        lrr = self.factor(theta, stats).Lrr
        qr, p = stats.q_rest, stats.p
        return np.linalg.solve(lrr[qr : qr + p, qr : qr + p].T, lrr[-1, qr : qr + p])

    def fixed_deviance(self, stats: SufficientStats, theta: np.ndarray) -> tuple[float, float]:
        """Sigma-profiled ML deviance and penalised RSS for the reduced model."""
        try:
            factor = self.factor(theta, stats)
        except np.linalg.LinAlgError:
            return np.inf, np.nan
        return profiled_objective(factor, stats, False), factor.r2


def fixed_effect_statistics(stats: SufficientStats, j: int, value: float) -> SufficientStats:
    """Statistics of the model with ``beta_j = value``: column j of X moved into the response.

    The new response is ``y - value * x_j`` and X loses column j, a linear map of the
    columns of ``[Zr X y]``, so the new blocks are ``T' Ar1`` and ``T' Arr T``.
    """
    m = stats.m
    xj = stats.q_rest + j
    keep = np.array([i for i in range(m) if i != xj])
    transform = np.zeros((m, m - 1))
    transform[keep[:-1], np.arange(m - 2)] = 1.0
    transform[m - 1, m - 2] = 1.0
    transform[xj, m - 2] = -value
    arr = transform.T @ stats.Arr @ transform
    if sp.issparse(stats.Ar1):
        ar1 = sp.csr_matrix(sp.csr_matrix(transform.T) @ stats.Ar1)
    else:
        ar1 = transform.T @ stats.Ar1
    return replace(stats, p=stats.p - 1, Ar1=ar1, Arr=np.ascontiguousarray(arr))


# -- constrained minimisation -----------------------------------------------------------------
def _bobyqa(f, x0, lower, upper, scale, control) -> tuple[np.ndarray, float]:
    """Bounded BOBYQA on ``x / scale``; returns (x, f(x))."""
    k = x0.size

    def scaled(z, grad):
        value = f(z * scale)
        return value if np.isfinite(value) else 1e300

    opt = nlopt.opt(nlopt.LN_BOBYQA, k)
    opt.set_min_objective(scaled)
    opt.set_lower_bounds(lower / scale)
    opt.set_upper_bounds(upper / scale)
    opt.set_ftol_abs(control["ftol_abs"])
    opt.set_ftol_rel(control["ftol_rel"])
    opt.set_xtol_rel(control["xtol_rel"])
    opt.set_maxeval(int(control["maxeval"]))
    opt.set_initial_step(np.full(k, control["initial_step"]))
    z0 = np.clip(x0 / scale, lower / scale, upper / scale)
    try:
        z = opt.optimize(z0)
    except (nlopt.RoundoffLimited, ValueError, RuntimeError):
        z = z0
    value = f(z * scale)
    return z * scale, float(value) if value < 1e300 else np.inf


def _walk(
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


def _which(which, names: tuple[str, ...], n_variance: int) -> list[int]:
    if which is None:
        return list(range(len(names)))
    items = [which] if isinstance(which, (str, int, np.integer)) else list(which)
    chosen: set[int] = set()
    for item in items:
        if isinstance(item, (int, np.integer)):
            if not 0 <= item < len(names):
                raise InferenceError(f"parameter index {item} out of range 0..{len(names) - 1}")
            chosen.add(int(item))
        elif item == "theta_":
            chosen.update(range(n_variance))
        elif item == "beta_":
            chosen.update(range(n_variance, len(names)))
        elif item in names:
            chosen.add(names.index(item))
        else:
            raise InferenceError(f"unknown parameter {item!r}; parameters: {list(names)}")
    return sorted(chosen)


def profile(
    result,
    which: str | int | Sequence[str | int] | None = None,
    alpha_max: float = 0.01,
    max_steps: int = 100,
    delta: float | None = None,
    cutoff: float | None = None,
    control: dict | None = None,
) -> Profile:
    """Likelihood profile of a fitted model's parameters (lme4's ``profile``).

    Parameters
    ----------
    result
        An :class:`~mixedmodels.results.LmerResult`; a REML fit is refitted by ML first.
    which
        Parameters to profile: names (``"sd_(Intercept)|Subject"``, ``"sigma"``, ``"Days"``),
        positions, ``"theta_"`` (all variance parameters) or ``"beta_"`` (all fixed
        effects); all when None.
    alpha_max
        The profile extends to ``|zeta| > sqrt(chi2_{1 - alpha_max}(number of parameters))``.
    max_steps
        Maximum number of grid points per direction.
    delta
        Target change of zeta between grid points; default lme4's, the cutoff from
        ``alpha_max`` divided by 8.
    cutoff
        Stop the grid once ``|zeta|`` passes this value instead of the one from
        ``alpha_max`` (the zeta step keeps its default); intervals need less than plots.
    control
        Settings of the constrained refits, overriding :data:`PROFILE_CONTROL`.

    Returns
    -------
    Profile

    Examples
    --------
    >>> import mixedmodels as mm
    >>> fit = mm.lmer("Reaction ~ Days + (Days | Subject)", mm.datasets.load("sleepstudy"))
    >>> fit.profile(which="sigma").confint().round(2).to_dict("list")
    {'lower': [22.9], 'upper': [28.86]}
    """
    if not 0.0 < alpha_max < 1.0:
        raise InferenceError(f"alpha_max must be in (0, 1), got {alpha_max!r}")
    ctl = {**PROFILE_CONTROL, **(control or {})}
    with single_threaded_blas():
        return _profile(result, which, alpha_max, max_steps, delta, cutoff, ctl)


def _profile(result, which, alpha_max, max_steps, delta, cutoff, ctl) -> Profile:
    model = result.model
    ml = result
    if result.reml:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            ml = model.fit(REML=False, start=result.theta, control={"check_convergence": False})
    params = SdCorMap(model.design.terms)
    var_names = params.names
    fixed_names = tuple(model.design.fixed_names)
    names = var_names + fixed_names
    nv = len(var_names)
    theta_hat = np.asarray(ml.theta, dtype=float)
    optimum = np.concatenate([params.to_sdcor(theta_hat, ml.sigma), ml.solution.beta])
    base = float(ml.deviance)
    se = np.asarray(ml.se, dtype=float)
    var_lower, var_upper = params.bounds()
    lower = np.concatenate([var_lower, np.full(len(fixed_names), -np.inf)])
    upper = np.concatenate([var_upper, np.full(len(fixed_names), np.inf)])
    full_cutoff = float(np.sqrt(sps.chi2.ppf(1.0 - alpha_max, len(names))))
    step = full_cutoff / 8.0 if delta is None else float(delta)
    cutoff = full_cutoff if cutoff is None else float(cutoff)
    chosen = _which(which, names, nv)
    ev = _Evaluator(model)
    scale = np.where(np.abs(optimum[:nv]) > 0, np.abs(optimum[:nv]), 1.0)
    scale[var_lower < 0] = 1.0  # correlations
    opt_row = np.concatenate([[0.0], optimum])
    lowest = [base]

    def zeta_of(x: float, center: float, value: float) -> float:
        change = value - base
        if change < -_DEVIANCE_TOLERANCE * max(1.0, abs(base)) and value < lowest[0]:
            lowest[0] = value
            warnings.warn(
                f"profiling found a lower deviance than the fit's (by {-change:.3g}): "
                "the fit may not be at the optimum",
                ConvergenceWarning,
                stacklevel=3,
            )
        return float(np.sign(x - center) * np.sqrt(max(change, 0.0)))

    blocks = []
    for w in chosen:
        if w < nv:
            evaluate = _variance_point(ev, w, optimum, lower[:nv], upper[:nv], scale, ctl, zeta_of)
            pw = optimum[w]
            first = evaluate(1e-3 if pw == 0 else 1.01 * pw, opt_row)
        else:
            j = w - nv
            evaluate = _fixed_point(ev, j, optimum, nv, theta_hat, ctl, zeta_of)
            first = evaluate(optimum[w] + step * se[j], opt_row)
        rows = [opt_row, first]
        rows += _walk(evaluate, opt_row, first, w, lower[w], upper[w], step, cutoff, max_steps)
        if optimum[w] > lower[w]:
            rows += _walk(evaluate, first, opt_row, w, lower[w], upper[w], step, cutoff, max_steps)
        block = pd.DataFrame(np.vstack(rows), columns=["zeta", *names])
        block.insert(0, "parameter", names[w])
        blocks.append(block.drop_duplicates().sort_values(names[w], kind="stable"))
    table = (
        pd.concat(blocks, ignore_index=True)
        if blocks
        else pd.DataFrame(columns=["parameter", "zeta", *names])
    )
    return Profile(
        table=table,
        optimum=pd.Series(optimum, index=list(names)),
        deviance=base,
        lower=pd.Series(lower, index=list(names)),
        upper=pd.Series(upper, index=list(names)),
        result=result,
    )


def _variance_point(
    ev: _Evaluator, w: int, optimum, lower, upper, scale, ctl, zeta_of
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


def _fixed_point(
    ev: _Evaluator, j: int, optimum, nv: int, theta_hat, ctl, zeta_of
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

    def evaluate(x: float, previous: np.ndarray, before: np.ndarray | None = None) -> np.ndarray:
        stats = fixed_effect_statistics(ev.stats, j, x)
        x1 = float(previous[1 + nv + j])
        s1 = thetas.get(x1, scaled_hat)
        s0 = None if before is None else thetas.get(float(before[1 + nv + j]))
        start = s1
        if s0 is not None:
            x0 = float(before[1 + nv + j])
            start = np.maximum(s1 + (s1 - s0) * (x - x1) / (x1 - x0), model.lower_bounds)

        def objective(s: np.ndarray) -> float:
            return ev.fixed_deviance(stats, scaling.to_theta(s))[0]

        s, value, _, _ = minimize(objective, start, model.lower_bounds, control)
        theta = scaling.to_theta(s)
        _, r2 = ev.fixed_deviance(stats, theta)
        sigma = float(np.sqrt(r2 / stats.n))
        row = np.empty(1 + optimum.size)
        row[0] = zeta_of(x, optimum[nv + j], value)
        row[1 : 1 + nv] = ev.params.to_sdcor(theta, sigma)
        beta = ev.beta(theta, stats)
        row[1 + nv :] = np.insert(beta, j, x)
        thetas[float(x)] = s
        return row

    return evaluate
