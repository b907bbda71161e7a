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

from mixedmodels.linalg.reweight import one_block_joint_system, one_block_solve

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


@njit(cache=True)
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


@njit(cache=True)
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


@njit(cache=True)
def _xlogy(x, y):  # pragma: no cover - compiled
    return 0.0 if x == 0.0 else x * math.log(y)


@njit(cache=True)
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


@njit(cache=True)
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


@njit(cache=True)
def _predictor(eta_fixed, codes, Z, lam, u, eta):  # pragma: no cover - compiled
    levels, s = u.shape
    b = np.zeros((levels, s))
    for g in range(levels):
        for a in range(s):
            acc = 0.0
            for k in range(s):
                acc += lam[a, k] * u[g, k]
            b[g, a] = acc
    for j in range(codes.size):
        acc = eta_fixed[j]
        g = codes[j]
        for a in range(s):
            acc += Z[j, a] * b[g, a]
        eta[j] = acc


@njit(cache=True)
def _predictor_deviance(  # pragma: no cover - compiled
    eta_fixed, codes, Z, lam, u, y, wt, family, link, theta, eta, mu
):
    """:func:`_predictor` then :func:`means_and_deviance`, in one pass over the rows."""
    levels, s = u.shape
    b = np.zeros((levels, s))
    for g in range(levels):
        for a in range(s):
            acc = 0.0
            for k in range(s):
                acc += lam[a, k] * u[g, k]
            b[g, a] = acc
    total = 0.0
    for j in range(codes.size):
        acc = eta_fixed[j]
        g = codes[j]
        for a in range(s):
            acc += Z[j, a] * b[g, a]
        eta[j] = acc
        if not math.isfinite(acc):
            return math.nan
        if (link == 6 or link == 8) and acc <= 0.0:
            return math.nan
        m = _linkinv(acc, link)
        if not (m > 0.0) or not math.isfinite(m) or (family == 0 and not m < 1.0):
            return math.nan
        mu[j] = m
        total += _dev(y[j], m, wt[j], family, theta)
    return total


@njit(cache=True)
def pirls_one_block(  # pragma: no cover - compiled
    eta_fixed, codes, Z, lam, u, y, wt, family, link, theta, tolerance, max_iterations, eta, mu, L11
):
    """PIRLS for one random-effect block with beta held fixed, in one compiled loop.

    Updates ``u`` (in place) to the conditional mode, fills ``eta``, ``mu`` and ``L11`` at
    it; returns (iterations, log|L_Z|^2, deviance, |u|^2), iterations -1 where the start is
    outside the family's range. The same steps as :func:`mixedmodels.glmm.pirls.pirls`.
    """
    levels, s = u.shape
    n = codes.size
    dev = _predictor_deviance(eta_fixed, codes, Z, lam, u, y, wt, family, link, theta, eta, mu)
    if not math.isfinite(dev):
        return -1, 0.0, 0.0, 0.0
    pen = 0.0
    for g in range(levels):
        for a in range(s):
            pen += u[g, a] * u[g, a]
    pdev = dev + pen
    A = np.empty((levels, s, s))
    rhs = np.empty((levels, s))
    new_u = np.empty((levels, s))
    trial_u = np.empty((levels, s))
    trial_eta = np.empty(n)
    trial_mu = np.empty(n)
    logdet = 0.0
    for iteration in range(1, max_iterations + 1):
        # the working weights and response (as working_system), summed per level at once
        A[:] = 0.0
        rhs[:] = 0.0
        for j in range(n):
            d = _mu_eta(eta[j], link)
            wj = wt[j] * d * d / _variance(mu[j], family, theta)
            rj = eta[j] - eta_fixed[j] + (y[j] - mu[j]) / d
            g = codes[j]
            for a in range(s):
                wa = wj * Z[j, a]
                rhs[g, a] += wa * rj
                for b in range(a + 1):
                    A[g, a, b] += wa * Z[j, b]
        logdet = one_block_solve(A, rhs, lam, L11, new_u)
        step = 0.0
        scale = 0.0
        for g in range(levels):
            for a in range(s):
                step = max(step, abs(new_u[g, a] - u[g, a]))
                scale = max(scale, abs(u[g, a]))
        if step <= tolerance * (1.0 + scale):
            return iteration, logdet, dev, pen
        t = 1.0
        accepted = False
        for _ in range(30):
            trial_pen = 0.0
            for g in range(levels):
                for a in range(s):
                    v = u[g, a] + t * (new_u[g, a] - u[g, a])
                    trial_u[g, a] = v
                    trial_pen += v * v
            trial_dev = _predictor_deviance(
                eta_fixed, codes, Z, lam, trial_u, y, wt, family, link, theta, trial_eta, trial_mu
            )
            if math.isfinite(trial_dev) and trial_dev + trial_pen <= pdev + 1e-10 * (
                1.0 + abs(pdev)
            ):
                accepted = True
                break
            t *= 0.5
        if not accepted:  # no decrease along the step: the mode up to rounding
            return iteration, logdet, dev, pen
        u[:] = trial_u
        eta[:] = trial_eta
        mu[:] = trial_mu
        dev = trial_dev
        pen = trial_pen
        pdev = dev + pen
    return max_iterations + 1, logdet, dev, pen


@njit(cache=True)
def pirls_one_block_joint(  # pragma: no cover - compiled
    offset,
    codes,
    Z,
    X,
    lam,
    u,
    beta,
    y,
    wt,
    family,
    link,
    theta,
    tolerance,
    max_iterations,
    eta,
    mu,
    L11,
):
    """:func:`pirls_one_block` with beta updated together with u (lme4's nAGQ = 0 PIRLS).

    Returns (iterations, log|L_Z|^2, log|R_X|^2, deviance, |u|^2); iterations -1 where the
    start is outside the family's range, 0 where the weighted system is singular.
    """
    levels, s = u.shape
    n, p = X.shape
    fixed = np.empty(n)
    for j in range(n):
        acc = offset[j]
        for c in range(p):
            acc += X[j, c] * beta[c]
        fixed[j] = acc
    _predictor(fixed, codes, Z, lam, u, eta)
    dev = means_and_deviance(eta, y, wt, family, link, theta, mu)
    if not math.isfinite(dev):
        return -1, 0.0, 0.0, 0.0, 0.0
    pen = 0.0
    for g in range(levels):
        for a in range(s):
            pen += u[g, a] * u[g, a]
    pdev = dev + pen
    weights = np.empty(n)
    working = np.empty(n)
    response = np.empty(n)
    new_u = np.empty((levels, s))
    new_beta = np.empty(p)
    trial_u = np.empty((levels, s))
    trial_beta = np.empty(p)
    trial_fixed = np.empty(n)
    trial_eta = np.empty(n)
    trial_mu = np.empty(n)
    logdet_z = 0.0
    logdet_x = 0.0
    for iteration in range(1, max_iterations + 1):
        working_system(eta, mu, y, wt, family, link, theta, weights, working)
        for j in range(n):
            response[j] = eta[j] - offset[j] + working[j]
        logdet_z, logdet_x = one_block_joint_system(
            codes, Z, X, weights, response, lam, L11, new_u, new_beta
        )
        if not math.isfinite(logdet_x):
            return 0, 0.0, 0.0, 0.0, 0.0
        step = 0.0
        scale = 0.0
        for g in range(levels):
            for a in range(s):
                step = max(step, abs(new_u[g, a] - u[g, a]))
                scale = max(scale, abs(u[g, a]))
        for c in range(p):
            step = max(step, abs(new_beta[c] - beta[c]))
            scale = max(scale, abs(beta[c]))
        if step <= tolerance * (1.0 + scale):
            return iteration, logdet_z, logdet_x, dev, pen
        t = 1.0
        accepted = False
        for _ in range(30):
            trial_pen = 0.0
            for g in range(levels):
                for a in range(s):
                    v = u[g, a] + t * (new_u[g, a] - u[g, a])
                    trial_u[g, a] = v
                    trial_pen += v * v
            for c in range(p):
                trial_beta[c] = beta[c] + t * (new_beta[c] - beta[c])
            for j in range(n):
                acc = offset[j]
                for c in range(p):
                    acc += X[j, c] * trial_beta[c]
                trial_fixed[j] = acc
            _predictor(trial_fixed, codes, Z, lam, trial_u, trial_eta)
            trial_dev = means_and_deviance(trial_eta, y, wt, family, link, theta, trial_mu)
            if math.isfinite(trial_dev) and trial_dev + trial_pen <= pdev + 1e-10 * (
                1.0 + abs(pdev)
            ):
                accepted = True
                break
            t *= 0.5
        if not accepted:
            return iteration, logdet_z, logdet_x, dev, pen
        u[:] = trial_u
        beta[:] = trial_beta
        eta[:] = trial_eta
        mu[:] = trial_mu
        dev = trial_dev
        pen = trial_pen
        pdev = dev + pen
    return max_iterations + 1, logdet_z, logdet_x, dev, pen
