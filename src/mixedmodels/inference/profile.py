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

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats as sps

from mixedmodels._warn import warn
from mixedmodels.errors import ConvergenceWarning, InferenceError
from mixedmodels.inference._grid import Evaluator, fixed_point, variance_point, walk
from mixedmodels.inference._params import SdCorMap
from mixedmodels.inference._spline import (
    InverseSpline,
    NaturalSpline,
    inverse_spline,
    natural_spline,
)
from mixedmodels.inference.refit import refit_ml
from mixedmodels.linalg.threads import blas_limit
from mixedmodels.progress import progress_bar

__all__ = ["Profile", "profile", "check_level", "PROFILE_CONTROL"]

#: Optimiser settings of the constrained refits (BOBYQA).
PROFILE_CONTROL: dict[str, float] = {
    "ftol_abs": 1e-7,
    "ftol_rel": 1e-13,
    "xtol_rel": 1e-6,
    "initial_step": 0.02,
    "maxeval": 10_000,
}
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
                        warn(f"non-monotonic profile for {name}", ConvergenceWarning)
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
    progress: bool | None = None,
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
    progress
        Progress bar over the parameters: True, False or None (in a notebook or a terminal,
        once profiling has run for a second; see :mod:`mixedmodels.progress`).

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
    with blas_limit(0):  # many small factorisations: one BLAS thread is fastest
        return _profile(result, which, alpha_max, max_steps, delta, cutoff, ctl, progress)


def _profile(result, which, alpha_max, max_steps, delta, cutoff, ctl, progress) -> Profile:
    model = result.model
    ml = result
    if result.reml:
        ml = refit_ml(result, control={"check_convergence": False}, quiet=True)
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
    ev = Evaluator(model)
    scale = np.where(np.abs(optimum[:nv]) > 0, np.abs(optimum[:nv]), 1.0)
    scale[var_lower < 0] = 1.0  # correlations
    opt_row = np.concatenate([[0.0], optimum])
    lowest = [base]

    def zeta_of(x: float, center: float, value: float) -> float:
        change = value - base
        if change < -_DEVIANCE_TOLERANCE * max(1.0, abs(base)) and value < lowest[0]:
            lowest[0] = value
            warn(
                f"profiling found a lower deviance than the fit's (by {-change:.3g}): "
                "the fit may not be at the optimum",
                ConvergenceWarning,
            )
        return float(np.sign(x - center) * np.sqrt(max(change, 0.0)))

    blocks = []
    bar = progress_bar(progress, len(chosen), "profile", unit="parameter")
    with bar as ticker:
        for w in chosen:
            blocks.append(
                _profile_one(
                    w,
                    nv,
                    ev,
                    optimum,
                    lower,
                    upper,
                    scale,
                    ctl,
                    zeta_of,
                    opt_row,
                    theta_hat,
                    step,
                    se,
                    cutoff,
                    max_steps,
                    names,
                )  # fmt: skip
            )
            ticker.update(1)
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


def _profile_one(w, nv, ev, optimum, lower, upper, scale, ctl, zeta_of, opt_row, theta_hat,
                 step, se, cutoff, max_steps, names) -> pd.DataFrame:  # fmt: skip
    """The profile of parameter ``w``: both directions from the optimum."""
    if w < nv:
        evaluate = variance_point(ev, w, optimum, lower[:nv], upper[:nv], scale, ctl, zeta_of)
        pw = optimum[w]
        first = evaluate(1e-3 if pw == 0 else 1.01 * pw, opt_row)
    else:
        j = w - nv
        evaluate = fixed_point(ev, j, optimum, nv, theta_hat, ctl, zeta_of)
        first = evaluate(optimum[w] + step * se[j], opt_row)
    rows = [opt_row, first]
    rows += walk(evaluate, opt_row, first, w, lower[w], upper[w], step, cutoff, max_steps)
    if optimum[w] > lower[w]:
        rows += walk(evaluate, first, opt_row, w, lower[w], upper[w], step, cutoff, max_steps)
    block = pd.DataFrame(np.vstack(rows), columns=["zeta", *names])
    block.insert(0, "parameter", names[w])
    return block.drop_duplicates().sort_values(names[w], kind="stable")
