"""Confidence intervals for every parameter: Wald, likelihood profile or parametric bootstrap.

The result is one layout for all three methods: a DataFrame indexed by ``parameter`` (lme4's
``confint(..., oldNames = FALSE)`` names: ``sd_(Intercept)|Subject``,
``cor_Days.(Intercept)|Subject``, ..., ``sigma``, then the fixed effects) with the columns
``lower`` and ``upper``; the level and method are kept in ``frame.attrs``.

* ``"wald"``: ``estimate -/+ z * se`` for the fixed effects, NaN for the variance parameters
  (as lme4).
* ``"profile"``: inverse interpolation of the likelihood profile (:mod:`.profile`); like lme4,
  REML fits are profiled on the ML deviance.
* ``"boot"``: percentile intervals of a parametric bootstrap (:mod:`.bootstrap`), with the
  order statistics of ``boot.ci(type = "perc")``, which lme4 uses: the ``(R + 1) alpha``-th,
  interpolated on the normal quantile scale when that is not an integer.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd
from scipy import stats as sps

from mixedmodels.errors import InferenceError
from mixedmodels.inference._params import SdCorMap
from mixedmodels.inference.bootstrap import bootstrap
from mixedmodels.inference.profile import _which, check_level, profile
from mixedmodels.options import choose

__all__ = ["confint", "percentile_interval", "METHODS"]

Method = Literal["profile", "wald", "boot"]
METHODS: tuple[str, ...] = ("profile", "wald", "boot")
_BOOT_OPTIONS = ("n", "seed", "n_jobs", "progress")


def _check_method(method: str) -> str:
    return choose("method", method, Method, error=InferenceError)


def confint(
    result,
    method: Method = "profile",
    level: float = 0.95,
    which=None,
    **kwargs,
) -> pd.DataFrame:
    """Confidence intervals for the variance parameters and fixed effects (lme4's ``confint``).

    Parameters
    ----------
    result
        A fitted :class:`~mixedmodels.results.LmerResult`.
    method
        ``"profile"`` (default, as lme4), ``"wald"`` or ``"boot"``.
    level
        Confidence level in (0, 1).
    which
        Parameters to report: names, positions, ``"theta_"`` (variance parameters) or
        ``"beta_"`` (fixed effects); all when None.
    **kwargs
        ``"profile"``: passed to :func:`~mixedmodels.inference.profile.profile`.
        ``"boot"``: ``n`` (default 500; lme4's name ``nsim`` is accepted too), ``seed``,
        ``n_jobs``, ``progress``, or ``boot``, a DataFrame from
        :func:`~mixedmodels.inference.bootstrap.bootstrap` to reuse.

    Returns
    -------
    pandas.DataFrame
        Index ``parameter``; columns ``lower`` and ``upper``; ``attrs`` ``level``, ``method``.

    Examples
    --------
    >>> import mixedmodels as mm
    >>> fit = mm.lmer("Reaction ~ Days + (Days | Subject)", mm.datasets.load("sleepstudy"))
    >>> fit.confint("wald").loc["Days"].round(3).to_dict()
    {'lower': 7.438, 'upper': 13.497}
    """
    key = _check_method(method)
    level = check_level(level)
    names = SdCorMap(result.model.design.terms).names + tuple(result.model.design.fixed_names)
    n_variance = len(names) - len(result.model.design.fixed_names)
    chosen = [names[i] for i in _which(which, names, n_variance)]
    if key == "wald":
        if kwargs:
            raise InferenceError(f"unknown option(s) for Wald intervals: {sorted(kwargs)}")
        frame = _wald(result, names, n_variance, level)
    elif key == "profile":
        z = float(sps.norm.ppf(0.5 + level / 2.0))
        kwargs.setdefault("cutoff", None)
        if kwargs["cutoff"] is None:
            # the grid of lme4's profile, stopped two steps past the interval's ends
            kwargs["cutoff"] = z + 2.0 * _default_delta(len(names), kwargs.get("alpha_max"))
        frame = profile(result, which=which, **kwargs).confint(level)
    else:
        frame = _boot(result, names, level, kwargs)
    frame = frame.loc[chosen]
    frame.index.name = "parameter"
    frame.attrs.update(level=level, method=key)
    return frame


def _default_delta(n_parameters: int, alpha_max: float | None) -> float:
    alpha = 0.01 if alpha_max is None else float(alpha_max)
    return float(np.sqrt(sps.chi2.ppf(1.0 - alpha, n_parameters))) / 8.0


def _wald(result, names, n_variance: int, level: float) -> pd.DataFrame:
    z = float(sps.norm.ppf(0.5 + level / 2.0))
    estimate = np.asarray(result.fixef, dtype=float)
    se = np.asarray(result.se, dtype=float)
    lower = np.concatenate([np.full(n_variance, np.nan), estimate - z * se])
    upper = np.concatenate([np.full(n_variance, np.nan), estimate + z * se])
    return pd.DataFrame({"lower": lower, "upper": upper}, index=pd.Index(names))


def _boot(result, names, level: float, kwargs: dict) -> pd.DataFrame:
    boot = kwargs.pop("boot", None)
    if "nsim" in kwargs:  # lme4's name for the number of simulations
        if "n" in kwargs:
            raise InferenceError("give the number of simulations once: n or nsim (lme4's name)")
        kwargs["n"] = kwargs.pop("nsim")
    unknown = set(kwargs) - set(_BOOT_OPTIONS)
    if unknown:
        raise InferenceError(f"unknown option(s) for bootstrap intervals: {sorted(unknown)}")
    if boot is None:
        options = {"n": 500, **kwargs}
        boot = bootstrap(result, **options)
    missing = [name for name in names if name not in boot.columns]
    if missing:
        raise InferenceError(f"the bootstrap table lacks column(s) {missing}")
    alpha = (1.0 - level) / 2.0
    rows = [percentile_interval(boot[name].to_numpy(dtype=float), alpha) for name in names]
    return pd.DataFrame(rows, index=pd.Index(names), columns=["lower", "upper"])


def percentile_interval(values: np.ndarray, alpha: float) -> tuple[float, float]:
    """Bootstrap percentile interval ``(t_(a), t_(b))`` as R's ``boot`` (Davison & Hinkley 5.8).

    For ``R`` finite replicates the ends are the ``(R + 1) alpha``-th and
    ``(R + 1)(1 - alpha)``-th order statistics; a fractional order is interpolated between
    its neighbours on the normal quantile scale; orders beyond 1..R give the extremes.
    """
    t = np.sort(values[np.isfinite(values)])
    R = t.size
    if R == 0:
        return np.nan, np.nan
    ends = []
    for a in (alpha, 1.0 - alpha):
        rank = (R + 1) * a
        k = int(np.floor(rank + 1e-9 * max(1.0, rank)))
        if k <= 0:
            ends.append(float(t[0]))
        elif k >= R:
            ends.append(float(t[-1]))
        elif abs(rank - k) <= 1e-9 * max(1.0, rank):
            ends.append(float(t[k - 1]))
        else:
            z, z0, z1 = sps.norm.ppf([a, k / (R + 1), (k + 1) / (R + 1)])
            ends.append(float(t[k - 1] + (z - z0) / (z1 - z0) * (t[k] - t[k - 1])))
    return ends[0], ends[1]
