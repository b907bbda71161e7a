"""Inference for GLMMs: simulation, parametric bootstrap, Wald / profile / bootstrap intervals.

* :func:`simulate` draws new random effects ``b = Lambda u`` (``u`` standard normal) and
  responses from the family at ``mu = g^-1(X beta + offset + Z b)`` (lme4's ``simulate``);
  ``re_form="~0"`` keeps the random effects at zero, ``re_form=None`` draws them.
* :func:`bootstrap` refits the model to simulated responses, the design reused
  (:meth:`~mixedmodels.glmm.model.GeneralizedLinearMixedModel.with_response`), started from
  the fitted values; replicate ``i`` draws from the ``i``-th child of
  ``numpy.random.SeedSequence(seed)``.
* :func:`confint`: ``"wald"`` (fixed effects; variance parameters NaN, as lme4),
  ``"profile"`` (where ``-2 log L``, minimised over the other parameters, rises by the
  chi-square quantile; standard deviations, correlations and fixed effects) or ``"boot"``
  (percentile intervals, as ``boot.ci(type = "perc")``).

Variance parameters use lme4's names: ``sd_(Intercept)|herd``, ``cor_x.(Intercept)|g``.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from scipy import optimize
from scipy import stats as sps

from mixedmodels.errors import ConvergenceWarning, FittingError, InferenceError
from mixedmodels.glmm.optimizer import bobyqa
from mixedmodels.inference._params import SdCorMap
from mixedmodels.inference.confint import percentile_interval
from mixedmodels.inference.profile import check_level

__all__ = ["simulate", "bootstrap", "confint", "profile", "parameter_names"]


def _rng(seed) -> np.random.Generator:
    return seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)


def parameter_names(result) -> tuple[str, ...]:
    """lme4's names of the variance parameters (no sigma) followed by the fixed effects."""
    names = SdCorMap(result.design.terms).names
    if not result.family.has_dispersion:
        names = names[:-1]
    return tuple(names) + tuple(result.design.fixed_names)


def _draw(result, rng: np.random.Generator, re_form=None) -> np.ndarray:
    model = result.model
    problem = model.problem
    eta = problem.X @ result.beta + problem.offset
    if re_form is None:
        lams = model.lambdas(result.theta)
        u = tuple(rng.standard_normal((k, m.shape[1])) for _, m, k in problem.blocks)
        eta = eta + problem.random_part(u, lams)
    mu = model.family.link.linkinv(eta)
    return model.family.simulate(rng, mu, problem.prior_weights, problem.trials, result.sigma**2)


def simulate(result, nsim: int = 1, seed=None, re_form=None) -> np.ndarray:
    """Responses simulated from a fitted GLMM, ``(n, nsim)`` (proportions for binomial).

    Parameters
    ----------
    result
        A :class:`~mixedmodels.glmm.results.GlmerResult`.
    nsim
        Number of simulated responses.
    seed
        None, an int, a SeedSequence or a Generator.
    re_form
        None: new random effects for every simulation (lme4's default); ``"~0"``: none.
    """
    nsim = int(nsim)
    if nsim < 1:
        raise InferenceError(f"nsim must be a positive integer, got {nsim!r}")
    if re_form is not None and str(re_form).strip() not in {"~0", "~ 0", "NA", "na"}:
        raise InferenceError(f"re_form must be None or '~0', got {re_form!r}")
    rng = _rng(seed)
    return np.column_stack([_draw(result, rng, re_form) for _ in range(nsim)])


def _sdcor(result, theta) -> np.ndarray:
    values = SdCorMap(result.design.terms).to_sdcor(theta, 1.0)
    return values if result.family.has_dispersion else values[:-1]


def bootstrap(result, n: int = 100, seed=None, statistics=None) -> pd.DataFrame:
    """Parametric bootstrap of a fitted GLMM (lme4's ``bootMer``).

    Returns
    -------
    pandas.DataFrame
        One row per replicate: theta (lme4's names), the standard deviations and
        correlations, the fixed effects, ``objective`` (-2 log L), then the statistics of
        ``statistics(fit)`` (a float, an array or a mapping). A failed refit is a row of NaN.
    """
    n = int(n)
    if n < 1:
        raise InferenceError(f"n must be a positive integer, got {n!r}")
    master = seed if isinstance(seed, np.random.SeedSequence) else np.random.SeedSequence(seed)
    model = result.model
    names = parameter_names(result)
    n_var = len(names) - result.n_fixed
    columns = [*model.theta_names, *names[:n_var], *names[n_var:], "objective"]
    rows, extras = [], []
    start = {"theta": result.theta, "fixef": result.beta}
    for child in master.spawn(n):
        y = _draw(result, np.random.default_rng(child))
        row = np.full(len(columns), np.nan)
        extra = {}
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                fit = model.with_response(y).fit(
                    nAGQ=result.nAGQ, start=start, control={"check_convergence": False}
                )
            row[:] = np.concatenate(
                [fit.theta, _sdcor(fit, fit.theta), fit.beta, [fit.minus2loglik]]
            )
            if statistics is not None:
                value = statistics(fit)
                if isinstance(value, dict | pd.Series):
                    extra = {str(k): float(v) for k, v in value.items()}
                else:
                    arr = np.atleast_1d(np.asarray(value, float))
                    extra = (
                        {"statistic": float(arr[0])}
                        if arr.size == 1
                        else {f"statistic_{i}": float(v) for i, v in enumerate(arr)}
                    )
        except (FittingError, ArithmeticError, ValueError, np.linalg.LinAlgError):
            pass
        rows.append(row)
        extras.append(extra)
    frame = pd.DataFrame(np.vstack(rows), columns=columns)
    if statistics is not None:
        frame = pd.concat([frame, pd.DataFrame(extras, index=frame.index)], axis=1)
    frame.index.name = "replicate"
    return frame


# -- the likelihood profile ---------------------------------------------------------------
class Profiler:
    """-2 log L minimised over every parameter but one, on lme4's sd/cor scale."""

    def __init__(self, result) -> None:
        self.result = result
        self.model = result.model
        self.map = SdCorMap(result.design.terms)
        self.n_var = len(self.map.names) - 1
        self.estimate = np.concatenate([_sdcor(result, result.theta)[: self.n_var], result.beta])
        lower, upper = self.map.bounds()
        self.lower = np.concatenate([lower[: self.n_var], np.full(result.n_fixed, -np.inf)])
        self.upper = np.concatenate([upper[: self.n_var], np.full(result.n_fixed, np.inf)])
        se = np.asarray(result.se, float)
        scale_var = np.maximum(np.abs(self.estimate[: self.n_var]), 0.05) * 0.1
        self.step = np.concatenate([scale_var, 0.25 * se])
        self.base = result.minus2loglik
        self.n_agq = max(result.nAGQ, 1)

    def value(self, pars: np.ndarray) -> float:
        if np.any(pars < self.lower) or np.any(pars > self.upper):
            return np.inf
        theta = self.map.to_theta(np.append(pars[: self.n_var], 1.0))
        if theta is None:
            return np.inf
        try:
            return self.model.objective(theta, pars[self.n_var :], nAGQ=self.n_agq)
        except (FittingError, ArithmeticError, np.linalg.LinAlgError):
            return np.inf

    def zeta(self, which: int, value: float, start: np.ndarray) -> tuple[float, np.ndarray]:
        others = np.flatnonzero(np.arange(start.size) != which)

        def f(x: np.ndarray) -> float:
            pars = start.copy()
            pars[others] = x
            pars[which] = value
            return self.value(pars)

        x0 = np.clip(start[others], self.lower[others], self.upper[others])
        x, fmin, _, _ = bobyqa(f, x0, self.lower[others], self.step[others], ftol_abs=1e-6)
        pars = start.copy()
        pars[others] = x
        pars[which] = value
        change = max(fmin - self.base, 0.0)
        return float(np.sign(value - self.estimate[which]) * np.sqrt(change)), pars


def profile(result, which=None, level: float = 0.95) -> pd.DataFrame:
    """Profile confidence limits (see :func:`confint`) of the chosen parameters."""
    level = check_level(level)
    z = float(sps.norm.ppf(0.5 + level / 2.0))
    prof = Profiler(result)
    names = parameter_names(result)
    chosen = range(len(names)) if which is None else [_index(names, w) for w in which]
    rows = {}
    for i in chosen:
        ends = []
        for direction in (-1.0, 1.0):
            ends.append(_limit(prof, i, direction, z))
        rows[names[i]] = ends
    frame = pd.DataFrame.from_dict(rows, orient="index", columns=["lower", "upper"])
    frame.index.name = "parameter"
    return frame


def _index(names, item) -> int:
    if isinstance(item, int | np.integer):
        return int(item)
    if item not in names:
        raise InferenceError(f"unknown parameter {item!r}; parameters: {list(names)}")
    return names.index(item)


def _limit(prof: Profiler, i: int, direction: float, z: float) -> float:
    """Where zeta reaches ``direction * z``, by bracketing then Brent's method."""
    estimate = prof.estimate[i]
    step = prof.step[i] * 4.0 if i >= prof.n_var else max(abs(estimate), 0.05) * 0.5
    start = prof.estimate.copy()
    bound = prof.lower[i] if direction < 0 else prof.upper[i]
    target = direction * z
    previous = estimate
    for _ in range(30):
        value = estimate + direction * step
        if (direction < 0 and value <= bound) or (direction > 0 and value >= bound):
            value = bound
            zeta, _ = prof.zeta(i, value, start)
            if abs(zeta) < z:
                return float(bound)
            break
        zeta, start = prof.zeta(i, value, start)
        if abs(zeta) >= z:
            break
        previous = value
        step *= 1.6
    else:
        warnings.warn("profile did not reach the interval's end", ConvergenceWarning, stacklevel=3)
        return np.nan
    saved = start.copy()
    return float(
        optimize.brentq(
            lambda v: prof.zeta(i, v, saved)[0] - target, previous, value, xtol=1e-5, rtol=1e-7
        )
    )


def confint(result, method: str = "wald", level: float = 0.95, **kwargs) -> pd.DataFrame:
    """Confidence intervals of a GLMM's parameters.

    Parameters
    ----------
    result
        A :class:`~mixedmodels.glmm.results.GlmerResult`.
    method
        ``"wald"`` (default), ``"profile"`` or ``"boot"``.
    level
        Confidence level in (0, 1).
    **kwargs
        ``"profile"``: ``which`` (names or positions). ``"boot"``: ``n`` (default 200),
        ``seed``, or ``boot``, a table from :func:`bootstrap` to reuse.

    Returns
    -------
    pandas.DataFrame
        Index ``parameter`` (sd/cor names, then fixed effects); columns ``lower``, ``upper``.
    """
    level = check_level(level)
    key = str(method).lower()
    names = parameter_names(result)
    n_var = len(names) - result.n_fixed
    if key == "wald":
        if kwargs:
            raise InferenceError(f"unknown option(s) for Wald intervals: {sorted(kwargs)}")
        z = float(sps.norm.ppf(0.5 + level / 2.0))
        est, se = result.beta, np.asarray(result.se, float)
        lower = np.concatenate([np.full(n_var, np.nan), est - z * se])
        upper = np.concatenate([np.full(n_var, np.nan), est + z * se])
        frame = pd.DataFrame({"lower": lower, "upper": upper}, index=pd.Index(names))
    elif key == "profile":
        unknown = set(kwargs) - {"which"}
        if unknown:
            raise InferenceError(f"unknown option(s) for profile intervals: {sorted(unknown)}")
        frame = profile(result, which=kwargs.get("which"), level=level)
    elif key == "boot":
        boot = kwargs.pop("boot", None)
        unknown = set(kwargs) - {"n", "seed"}
        if unknown:
            raise InferenceError(f"unknown option(s) for bootstrap intervals: {sorted(unknown)}")
        if boot is None:
            boot = bootstrap(result, n=int(kwargs.get("n", 200)), seed=kwargs.get("seed"))
        alpha = (1.0 - level) / 2.0
        rows = [percentile_interval(boot[name].to_numpy(float), alpha) for name in names]
        frame = pd.DataFrame(rows, index=pd.Index(names), columns=["lower", "upper"])
    else:
        raise InferenceError(f"method must be one of wald, profile, boot; got {method!r}")
    frame.index.name = "parameter"
    frame.attrs.update(level=level, method=key)
    return frame
