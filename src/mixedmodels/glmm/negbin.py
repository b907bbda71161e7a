"""Negative binomial GLMMs with the shape estimated: ``glmer_nb`` (lme4's ``glmer.nb``).

The shape ``theta`` (variance ``mu + mu^2 / theta``) is found by maximising the Laplace
log-likelihood over ``log(theta)`` (Brent's method), each value a GLMM fit with that theta
started from the previous optimum; the design and the engine's plans are set up once. lme4
alternates a conditional estimate of theta with refits instead; the joint optimum reached
here is at least as good.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import optimize

from mixedmodels.errors import ConvergenceWarning, DesignError
from mixedmodels.glmm.families import NegativeBinomial
from mixedmodels.glmm.links import get_link
from mixedmodels.glmm.model import GeneralizedLinearMixedModel
from mixedmodels.glmm.results import GlmerResult

__all__ = ["glmer_nb", "NB_THETA_BOUNDS"]

NB_THETA_BOUNDS = (1e-3, 1e6)


@dataclass
class _Cache:
    start: dict | None = None


def glmer_nb(
    formula: str,
    data: pd.DataFrame,
    link: str = "log",
    *,
    weights=None,
    offset=None,
    contrasts: dict[str, str] | None = None,
    control: dict | None = None,
    theta_tolerance: float = 1e-5,
):
    """Fit a negative binomial GLMM with the shape estimated (lme4's ``glmer.nb``).

    Parameters
    ----------
    formula, data
        As for :func:`~mixedmodels.glmm.glmer`; the response must be counts.
    link
        ``"log"`` (default), ``"identity"`` or ``"sqrt"``.
    weights, offset, contrasts, control
        As for :func:`~mixedmodels.glmm.glmer` (Laplace approximation).
    theta_tolerance
        Tolerance of Brent's method on ``log(theta)``.

    Returns
    -------
    GlmerResult
        Its family is :class:`~mixedmodels.glmm.families.NegativeBinomial` with the estimated
        ``theta`` (``result.family.theta``).
    """
    base = GeneralizedLinearMixedModel(
        formula,
        data,
        NegativeBinomial(theta=1.0, link=get_link(link)),
        weights=weights,
        offset=offset,
        contrasts=contrasts,
    )
    if np.any(np.abs(base.data.y - np.round(base.data.y)) > 1e-3):
        raise DesignError(
            f"glmer_nb needs integer counts; the response {base.data.response_name!r} has others"
        )
    inner = {**(control or {}), "check_convergence": False}  # the final fit checks
    poisson = base.with_family(NegativeBinomial(theta=1e8, link=get_link(link)))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        first = poisson.fit(control=inner)
    mu = first.fitted.to_numpy()
    y = base.data.y
    excess = float(np.sum((y - mu) ** 2 - mu))
    theta0 = float(np.clip(np.sum(mu**2) / excess, 0.01, 1e4)) if excess > 0 else 10.0
    cache = _Cache(start={"theta": first.theta, "fixef": first.beta})
    fits: dict[float, GlmerResult] = {}

    def deviance(log_theta: float) -> float:
        theta = float(np.exp(log_theta))
        model = base.with_family(NegativeBinomial(theta=theta, link=get_link(link)))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            fit = model.fit(start=cache.start, control=inner)
        fits[log_theta] = fit
        cache.start = {"theta": fit.theta, "fixef": fit.beta}
        return fit.minus2loglik

    lo, hi = np.log(NB_THETA_BOUNDS)
    a = float(np.log(theta0))
    found = optimize.minimize_scalar(
        deviance,
        bracket=(a - 0.5, a + 0.5),
        method="brent",
        options={"xtol": theta_tolerance},
    )
    log_theta = float(np.clip(found.x, lo, hi))
    theta = float(np.exp(log_theta))
    model = base.with_family(NegativeBinomial(theta=theta, link=get_link(link)))
    best = min(fits, key=lambda k: fits[k].minus2loglik)
    start = {"theta": fits[best].theta, "fixef": fits[best].beta}
    return model.fit(start=start, control=control)
