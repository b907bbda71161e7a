"""One evaluation of the profiled objective: the blocked Cholesky factor of Lambda'A Lambda + I.

With the first block's lambda ``lam1`` and per-level ``M_g = lam1' A11_g lam1 + I`` the factor is::

    L = [ L11   0   ]      L11_g = chol(M_g)                       (batched, p1 x p1)
        [ Lr1  Lrr  ]      Lr1   = Lr' Ar1 Lam1 L11^-T             (only needed after the fit)
                           Lrr   = chol(Lr' (Arr - Ar1 W Ar1') Lr + I_z),  W_g = lam1 M_g^-1 lam1'

where ``Lr`` is the rest's Lambda (identity on the X and y rows) and ``I_z`` the identity on the
rest's random effects. The Schur complement is formed from ``W`` directly, so ``Lr1`` is not
built during optimisation. The cost depends on the numbers of levels, never on n.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.linalg as sla
import scipy.sparse as sp

from mixedmodels.linalg.statistics import SufficientStats

__all__ = [
    "BlockedFactor",
    "update_factor",
    "profiled_objective",
    "apply_rest_lambda",
    "block_diagonal",
    "ar1_times_block_diagonal",
]

LOG_2PI = float(np.log(2.0 * np.pi))


@dataclass(frozen=True, eq=False)
class BlockedFactor:
    """The Cholesky factor pieces for one theta.

    Attributes
    ----------
    L11
        ``(l1, p1, p1)`` lower Cholesky factors of the first block's per-level matrices.
    Lrr
        ``(m, m)`` lower Cholesky factor of the rest's Schur complement; its last diagonal
        entry is r, the square root of the penalised residual sum of squares.
    """

    L11: np.ndarray
    Lrr: np.ndarray

    @property
    def r2(self) -> float:
        """Penalised residual sum of squares."""
        return float(self.Lrr[-1, -1] ** 2)


def block_diagonal(blocks: np.ndarray) -> sp.csr_matrix:
    """Sparse block-diagonal matrix from a stack of square blocks ``(l, p, p)``."""
    levels, size, _ = blocks.shape
    if size == 1:
        return sp.diags(blocks[:, 0, 0], format="csr")
    rows = np.arange(levels * size)
    indptr = np.arange(0, levels * size * size + 1, size)
    indices = ((rows // size)[:, None] * size + np.arange(size)[None, :]).ravel()
    return sp.csr_matrix((blocks.reshape(-1), indices, indptr), shape=(levels * size,) * 2)


def ar1_times_block_diagonal(Ar1: np.ndarray | sp.csr_matrix, blocks: np.ndarray):
    """``Ar1 @ blockdiag(blocks)`` for dense or sparse Ar1, keeping its storage."""
    levels, size, _ = blocks.shape
    if sp.issparse(Ar1):
        if size == 1:
            out = Ar1.copy()
            out.data = out.data * blocks[:, 0, 0][Ar1.indices]
            return out
        return (Ar1 @ block_diagonal(blocks)).tocsr()
    m = Ar1.shape[0]
    if size == 1:
        return Ar1 * blocks[:, 0, 0][None, :]
    return np.einsum("mla,lab->mlb", Ar1.reshape(m, levels, size), blocks).reshape(m, -1)


def apply_rest_lambda(
    S: np.ndarray, stats: SufficientStats, rest_lambdas: list[np.ndarray], *, side: str = "both"
) -> np.ndarray:
    """Return ``Lr' S Lr`` (side="both") or ``Lr' S`` (side="left") for the rest's Lambda.

    ``Lr`` is block diagonal: ``kron(I_l, lam_i)`` for every block after the first, then the
    identity on the X and y rows.
    """
    S = np.array(S, dtype=float, copy=True)
    offset = 0
    for shape, lam in zip(stats.shapes[1:], rest_lambdas):
        q = shape.n_random_effects
        sl = slice(offset, offset + q)
        if shape.size == 1:
            S[sl, :] *= lam[0, 0]
            if side == "both":
                S[:, sl] *= lam[0, 0]
        else:
            cols = S.shape[1]
            rows_view = S[sl, :].reshape(shape.n_levels, shape.size, cols)
            S[sl, :] = np.einsum("ba,lbm->lam", lam, rows_view).reshape(q, cols)
            if side == "both":
                cols_view = S[:, sl].reshape(S.shape[0], shape.n_levels, shape.size)
                S[:, sl] = np.einsum("mlb,ba->mla", cols_view, lam).reshape(S.shape[0], q)
        offset += q
    return S


def update_factor(
    stats: SufficientStats, first_lambda: np.ndarray, rest_lambdas: list[np.ndarray]
) -> BlockedFactor:
    """Blocked Cholesky factor of ``Lambda' A Lambda + I`` for the given lambdas.

    Raises
    ------
    numpy.linalg.LinAlgError
        When a block is not positive definite (only with non-finite input).
    """
    lam1 = first_lambda
    size1 = lam1.shape[0]
    if size1 == 1:
        t = lam1[0, 0]
        a = stats.A11[:, 0, 0]
        m11 = t * t * a + 1.0
        L11 = np.sqrt(m11)[:, None, None]
        W = ((t * t) / m11)[:, None, None]
    else:
        M = np.einsum("ba,lbc,cd->lad", lam1, stats.A11, lam1)
        M[:, np.arange(size1), np.arange(size1)] += 1.0
        L11 = np.linalg.cholesky(M)
        # B_g = lam1 L11_g^-T, so W_g = B_g B_g'
        Bt = np.linalg.solve(L11, np.broadcast_to(lam1.T, L11.shape))
        W = np.einsum("lak,lbk->lab", Bt.transpose(0, 2, 1), Bt.transpose(0, 2, 1))
    weighted = ar1_times_block_diagonal(stats.Ar1, W)
    if sp.issparse(weighted):
        P = (weighted @ stats.Ar1.T).toarray()
    else:
        P = weighted @ stats.Ar1.T
    S = stats.Arr - P
    if rest_lambdas:
        S = apply_rest_lambda(S, stats, rest_lambdas)
        idx = np.arange(stats.q_rest)
        S[idx, idx] += 1.0
    Lrr = sla.cholesky(S, lower=True, check_finite=False, overwrite_a=True)
    return BlockedFactor(L11=L11, Lrr=Lrr)


def log_determinants(factor: BlockedFactor, stats: SufficientStats) -> tuple[float, float]:
    """``log|L_Z|^2`` and ``log|R_X|^2``."""
    size1 = factor.L11.shape[1]
    diag1 = factor.L11[:, np.arange(size1), np.arange(size1)]
    diag_r = np.diag(factor.Lrr)
    qr = stats.q_rest
    logdet_z = 2.0 * (np.sum(np.log(diag1)) + np.sum(np.log(diag_r[:qr])))
    logdet_x = 2.0 * float(np.sum(np.log(diag_r[qr : qr + stats.p])))
    return float(logdet_z), logdet_x


def profiled_objective(factor: BlockedFactor, stats: SufficientStats, reml: bool) -> float:
    """ML deviance or REML criterion (lme4's ``deviance()`` / ``REMLcrit()``)."""
    logdet_z, logdet_x = log_determinants(factor, stats)
    r2 = factor.r2
    if reml:
        dof = stats.n - stats.p
        value = logdet_z + logdet_x + dof * (1.0 + LOG_2PI + np.log(r2 / dof))
    else:
        value = logdet_z + stats.n * (1.0 + LOG_2PI + np.log(r2 / stats.n))
    return float(value - stats.sum_log_weights)
