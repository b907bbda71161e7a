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

from functools import lru_cache

import numpy as np

from mixedmodels.glmm.pirls import GlmmProblem, Mode

__all__ = ["gauss_hermite", "agq_value", "MAX_NODES"]

MAX_NODES = 25


@lru_cache(maxsize=32)
def gauss_hermite(n: int) -> tuple[np.ndarray, np.ndarray]:
    """Nodes and weights for the standard normal density (weights sum to 1)."""
    nodes, weights = np.polynomial.hermite_e.hermegauss(n)
    return nodes, weights / np.sqrt(2.0 * np.pi)


def agq_value(problem: GlmmProblem, mode: Mode, lam: float, n_nodes: int) -> float:
    """``-2 log L`` by adaptive Gauss-Hermite quadrature at the PIRLS mode (one scalar block)."""
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
