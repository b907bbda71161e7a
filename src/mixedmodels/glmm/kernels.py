"""Compiled per-row loops of PIRLS: means and deviance, working weights and response.

One pass over the rows instead of a dozen numpy temporaries, for the families and links of
:mod:`mixedmodels.glmm.families` (the same formulas, including R's clamps of the inverse
links). ``family_code`` and ``link_code`` index :data:`FAMILY_CODES` and :data:`LINK_CODES`;
families or links outside them use the numpy methods instead.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

__all__ = ["FAMILY_CODES", "LINK_CODES", "means_and_deviance", "working_system"]

FAMILY_CODES = {
    "binomial": 0,
    "poisson": 1,
    "Gamma": 2,
    "inverse_gaussian": 3,
    "negative_binomial": 4,
}
LINK_CODES = {
    "logit": 0,
    "probit": 1,
    "cloglog": 2,
    "cauchit": 3,
    "log": 4,
    "identity": 5,
    "sqrt": 6,
    "inverse": 7,
    "1/mu^2": 8,
}
_EPS = float(np.finfo(float).eps)
_THRESH = -math.log(_EPS)
_PROBIT_BOUND = 8.125890664701906  # -qnorm(eps)
_CAUCHIT_BOUND = math.tan(math.pi * (0.5 - _EPS))


@njit(cache=True, inline="always")
def _linkinv(eta, link):  # pragma: no cover - compiled
    if link == 0:
        e = min(max(eta, -_THRESH), _THRESH)
        return 1.0 / (1.0 + math.exp(-e))
    if link == 1:
        e = min(max(eta, -_PROBIT_BOUND), _PROBIT_BOUND)
        return 0.5 * math.erfc(-e / math.sqrt(2.0))
    if link == 2:
        return min(max(-math.expm1(-math.exp(eta)), _EPS), 1.0 - _EPS)
    if link == 3:
        e = min(max(eta, -_CAUCHIT_BOUND), _CAUCHIT_BOUND)
        return 0.5 + math.atan(e) / math.pi
    if link == 4:
        return max(math.exp(eta), _EPS)
    if link == 5:
        return eta
    if link == 6:
        return eta * eta
    if link == 7:
        return 1.0 / eta
    return 1.0 / math.sqrt(eta)


@njit(cache=True, inline="always")
def _mu_eta(eta, link):  # pragma: no cover - compiled
    if link == 0:
        e = math.exp(-abs(eta))
        return max(e / ((1.0 + e) * (1.0 + e)), _EPS)
    if link == 1:
        return max(math.exp(-0.5 * eta * eta) / math.sqrt(2.0 * math.pi), _EPS)
    if link == 2:
        e = min(eta, 700.0)
        return max(math.exp(e) * math.exp(-math.exp(e)), _EPS)
    if link == 3:
        return max(1.0 / (math.pi * (1.0 + eta * eta)), _EPS)
    if link == 4:
        return max(math.exp(eta), _EPS)
    if link == 5:
        return 1.0
    if link == 6:
        return 2.0 * eta
    if link == 7:
        return -1.0 / (eta * eta)
    return -1.0 / (2.0 * eta**1.5)


@njit(cache=True, inline="always")
def _xlogy(x, y):  # pragma: no cover - compiled
    return 0.0 if x == 0.0 else x * math.log(y)


@njit(cache=True, inline="always")
def _dev(y, mu, wt, family, theta):  # pragma: no cover - compiled
    if family == 0:
        return 2.0 * wt * (_xlogy(y, y / mu) + _xlogy(1.0 - y, (1.0 - y) / (1.0 - mu)))
    if family == 1:
        return 2.0 * wt * (_xlogy(y, y / mu) - (y - mu))
    if family == 2:
        return -2.0 * wt * (math.log(y / mu) - (y - mu) / mu)
    if family == 3:
        return wt * (y - mu) * (y - mu) / (y * mu * mu)
    return (
        2.0
        * wt
        * (_xlogy(y, max(y, 1.0) / mu) - (y + theta) * math.log((y + theta) / (mu + theta)))
    )


@njit(cache=True, inline="always")
def _variance(mu, family, theta):  # pragma: no cover - compiled
    if family == 0:
        return mu * (1.0 - mu)
    if family == 1:
        return mu
    if family == 2:
        return mu * mu
    if family == 3:
        return mu * mu * mu
    return mu + mu * mu / theta


@njit(cache=True)
def means_and_deviance(eta, y, wt, family, link, theta, mu):  # pragma: no cover - compiled
    """Fill ``mu``; return the deviance (NaN where a mean leaves the family's range)."""
    total = 0.0
    for j in range(eta.size):
        e = eta[j]
        if not math.isfinite(e):
            return math.nan
        if (link == 6 or link == 8) and e <= 0.0:
            return math.nan
        m = _linkinv(e, link)
        if not (m > 0.0) or not math.isfinite(m) or (family == 0 and not m < 1.0):
            return math.nan
        mu[j] = m
        total += _dev(y[j], m, wt[j], family, theta)
    return total


@njit(cache=True)
def working_system(eta, mu, y, wt, family, link, theta, weights, working):  # pragma: no cover
    """Fill the working weights ``wt mu'^2 / V(mu)`` and residuals ``(y - mu) / mu'``."""
    for j in range(eta.size):
        d = _mu_eta(eta[j], link)
        weights[j] = wt[j] * d * d / _variance(mu[j], family, theta)
        working[j] = (y[j] - mu[j]) / d
