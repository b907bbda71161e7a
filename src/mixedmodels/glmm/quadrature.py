"""Adaptive Gauss-Hermite quadrature for a GLMM with one scalar random-effect term.

With one grouping factor and one random effect per level, the likelihood factorises over the
levels: ``L = prod_g int p(y_g | u) phi(u) du``. Around the conditional mode ``u_g`` with the
scale ``s_g = 1 / L11_g`` of the Laplace approximation (``L11_g^2 = 1 + lambda^2 z' W z`` over
the level's rows), ``u = u_g + s_g t`` and Gauss-Hermite nodes ``t_k`` with weights ``w_k``
for the standard normal density give, per level::

    -2 log int ... = c_g(u_g) + log L11_g^2
                     - 2 log sum_k w_k exp(-(c_g(u_g + s_g t_k) - c_g(u_g) - t_k^2) / 2)

with ``c_g(u) = sum_{rows of g} d_j(u) + u^2`` (deviance residuals). One node is the Laplace
approximation. The deviance residuals differ from ``-2 log p`` by a constant (the saturated
model's log-likelihood), added back once, so the value is ``-2 log L`` itself: lme4's
``logLik`` of an ``nAGQ > 1`` fit omits that constant (the references store both).
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np
from numba import njit

from mixedmodels.glmm.kernels import _dev, _linkinv
from mixedmodels.glmm.mode import Mode
from mixedmodels.glmm.pirls import GlmmProblem

__all__ = ["gauss_hermite", "agq_value", "MAX_NODES"]

MAX_NODES = 25


@lru_cache(maxsize=32)
def gauss_hermite(n: int) -> tuple[np.ndarray, np.ndarray]:
    """Nodes and weights for the standard normal density (weights sum to 1)."""
    nodes, weights = np.polynomial.hermite_e.hermegauss(n)
    return nodes, weights / np.sqrt(2.0 * np.pi)


@njit(cache=True)
def _agq_sum(
    eta, mu, codes, z, u, L11, lam, y, wt, family, link, theta, nodes, weights
):  # pragma: no cover - compiled
    """The sum over levels of the module docstring's formula, without the constant."""
    levels = u.size
    n = eta.size
    base = u * u
    for j in range(n):
        base[codes[j]] += _dev(y[j], mu[j], wt[j], family, theta)
    K = nodes.size
    terms = np.empty((K, levels))
    dev = np.empty(levels)
    for k in range(K):
        t = nodes[k]
        for g in range(levels):
            dev[g] = 0.0
        for j in range(n):
            g = codes[j]
            m = _linkinv(eta[j] + lam * z[j] * t / L11[g], link)
            dev[g] += _dev(y[j], m, wt[j], family, theta)
        for g in range(levels):
            uk = u[g] + t / L11[g]
            terms[k, g] = -(dev[g] + uk * uk - base[g] - t * t) / 2.0
    total = 0.0
    for g in range(levels):
        top = terms[0, g]
        for k in range(1, K):
            top = max(top, terms[k, g])
        acc = 0.0
        for k in range(K):
            acc += weights[k] * math.exp(terms[k, g] - top)
        total += base[g] + 2.0 * math.log(L11[g]) - 2.0 * (top + math.log(acc))
    return total


def agq_value(problem: GlmmProblem, mode: Mode, lam: float, n_nodes: int) -> float:
    """``-2 log L`` by adaptive Gauss-Hermite quadrature at the PIRLS mode (one scalar block)."""
    if problem.codes is not None:
        codes, matrix, _ = problem.blocks[0]
        nodes, weights = gauss_hermite(int(n_nodes))
        fam, link, theta = problem.codes
        total = _agq_sum(
            mode.eta, mode.mu, problem.plan_u.codes1, problem.plan_u.Z1[:, 0], mode.u[0][:, 0],
            np.ascontiguousarray(mode.factor.L11[:, 0, 0]), float(lam), problem.y,
            problem.prior_weights, fam, link, theta, nodes, weights,
        )  # fmt: skip
        return float(total + problem.minus2_loglik(mode.mu, mode.deviance) - mode.deviance)
    return agq_value_numpy(problem, mode, lam, n_nodes)


def agq_value_numpy(problem: GlmmProblem, mode: Mode, lam: float, n_nodes: int) -> float:
    """:func:`agq_value` in numpy, for any family object (and the compiled loop's check)."""
    codes, matrix, levels = problem.blocks[0]
    z = matrix[:, 0]
    family = problem.family
    y, wt = problem.y, problem.prior_weights
    u = mode.u[0][:, 0]
    L11 = mode.factor.L11[:, 0, 0]
    scale = 1.0 / L11
    dev_rows = family.dev_resids(y, mode.mu, wt)
    base = np.bincount(codes, weights=dev_rows, minlength=levels) + u * u
    constant = problem.minus2_loglik(mode.mu, mode.deviance) - mode.deviance
    nodes, weights = gauss_hermite(int(n_nodes))
    eta_fixed = mode.eta - lam * z * u[codes]
    terms = np.empty((nodes.size, levels))
    for k, t in enumerate(nodes):
        uk = u + scale * t
        eta = eta_fixed + lam * z * uk[codes]
        mu = family.link.linkinv(eta)
        dev = np.bincount(codes, weights=family.dev_resids(y, mu, wt), minlength=levels)
        terms[k] = -(dev + uk * uk - base - t * t) / 2.0
    top = terms.max(axis=0)
    log_sum = top + np.log(np.sum(weights[:, None] * np.exp(terms - top), axis=0))
    return float(np.sum(base + 2.0 * np.log(L11) - 2.0 * log_sum) + constant)
