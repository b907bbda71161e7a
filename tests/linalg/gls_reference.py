"""A plain dense implementation of the linear mixed model, the yardstick for every fast path.

Random problems with a dense Z, and the profiled likelihood computed directly from the
marginal covariance ``V0 = Z Lambda Lambda' Z' + W^-1`` (generalised least squares), with no
Cholesky blocking and no sufficient statistics.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

LOG_2PI = np.log(2 * np.pi)


@dataclass
class Problem:
    """A random model: blocks ``(codes, matrix, n_levels)`` (most levels first), X, y, weights."""

    blocks: list
    X: np.ndarray
    y: np.ndarray
    weights: np.ndarray | None

    @property
    def Z(self) -> np.ndarray:
        """Dense random-effects model matrix, block after block, level-major within a block."""
        parts = []
        for codes, matrix, levels in self.blocks:
            n, size = matrix.shape
            Zb = np.zeros((n, levels * size))
            for a in range(size):
                Zb[np.arange(n), codes * size + a] = matrix[:, a]
            parts.append(Zb)
        return np.hstack(parts)

    def big_lambda(self, lams) -> np.ndarray:
        """Block-diagonal Lambda: ``kron(I_levels, lam)`` per block."""
        mats = [
            np.kron(np.eye(levels), lam)
            for (_, _, levels), lam in zip(self.blocks, lams, strict=True)
        ]
        q = sum(m.shape[0] for m in mats)
        out = np.zeros((q, q))
        k = 0
        for m in mats:
            out[k : k + m.shape[0], k : k + m.shape[0]] = m
            k += m.shape[0]
        return out


def random_problem(rng, n, specs, p=2, weights=False, crossed=True) -> Problem:
    """``specs``: (levels, size) per block, most levels first; every level is used."""
    blocks = []
    for levels, size in specs:
        codes = np.concatenate([np.arange(levels), rng.integers(0, levels, n - levels)])
        if crossed:
            rng.shuffle(codes)
        matrix = np.column_stack([np.ones(n)] + [rng.normal(1.0, 2.0, n) for _ in range(size - 1)])
        blocks.append((codes.astype(np.intp), matrix, levels))
    X = np.column_stack([np.ones(n)] + [rng.normal(size=n) for _ in range(p - 1)])
    y = X @ rng.normal(size=p) + rng.normal(size=n)
    for codes, matrix, levels in blocks:
        b = rng.normal(size=(levels, matrix.shape[1]))
        y += np.einsum("na,na->n", matrix, b[codes])
    w = rng.uniform(0.5, 2.0, n) if weights else None
    return Problem(blocks=blocks, X=X, y=y, weights=w)


def random_lambdas(rng, problem: Problem, triangular=True) -> list[np.ndarray]:
    """A lambda per block (lower triangular with positive diagonal, or a full matrix)."""
    out = []
    for _, matrix, _ in problem.blocks:
        size = matrix.shape[1]
        lam = rng.normal(size=(size, size))
        if triangular:
            lam = np.tril(lam)
            lam[np.diag_indices(size)] = np.abs(lam[np.diag_indices(size)]) + 0.2
        out.append(lam)
    return out


def dense_fit(problem: Problem, lams, reml: bool) -> dict:
    """Profiled objective, beta, conditional modes b and unscaled condvar by plain GLS."""
    Z, X, y = problem.Z, problem.X, problem.y
    n, p = X.shape
    w = np.ones(n) if problem.weights is None else problem.weights
    Lam = problem.big_lambda(lams)
    V0 = Z @ Lam @ Lam.T @ Z.T + np.diag(1.0 / w)
    Vi = np.linalg.inv(V0)
    XtViX = X.T @ Vi @ X
    beta = np.linalg.solve(XtViX, X.T @ Vi @ y)
    resid = y - X @ beta
    r2 = float(resid @ Vi @ resid)
    logdet_v = np.linalg.slogdet(V0)[1]
    if reml:
        dof = n - p
        obj = logdet_v + np.linalg.slogdet(XtViX)[1] + dof * (1 + LOG_2PI + np.log(r2 / dof))
    else:
        obj = logdet_v + n * (1 + LOG_2PI + np.log(r2 / n))
    b = Lam @ Lam.T @ Z.T @ Vi @ resid
    q = Z.shape[1]
    M = Lam.T @ Z.T @ np.diag(w) @ Z @ Lam + np.eye(q)
    return {
        "objective": obj,
        "beta": beta,
        "b": b,
        "beta_cov_unscaled": np.linalg.inv(XtViX),
        "u_cov_unscaled": np.linalg.inv(M),
        "r2": r2,
    }
