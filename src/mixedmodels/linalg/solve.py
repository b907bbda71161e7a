"""Quantities read from the factor at the optimum: beta, conditional modes, variances.

All solves go through the blocked factor; no dense inverse of the whole Z part is formed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.linalg as sla
import scipy.sparse as sp

from mixedmodels.linalg.factor import (
    BlockedFactor,
    apply_rest_lambda,
    ar1_times_block_diagonal,
)
from mixedmodels.linalg.statistics import SufficientStats

__all__ = ["Solution", "solve_at_optimum"]


@dataclass(frozen=True, eq=False)
class Solution:
    """Estimates that follow from one factor.

    Attributes
    ----------
    beta
        Fixed effects, ``(p,)``.
    u
        Spherical random effects per block, each ``(levels, size)``.
    beta_cov_unscaled
        ``(R_X' R_X)^-1``: vcov(beta) divided by sigma^2.
    u_cov_unscaled
        Per block ``(levels, size, size)``: the diagonal blocks of ``(L_Z L_Z')^-1``.
    """

    beta: np.ndarray
    u: tuple[np.ndarray, ...]
    beta_cov_unscaled: np.ndarray
    u_cov_unscaled: tuple[np.ndarray, ...]


def _lower_r1(stats: SufficientStats, factor: BlockedFactor, lam1: np.ndarray, rest_lambdas):
    """Explicit ``Lr1 = Lr' Ar1 Lam1 L11^-T`` (dense, rows: rest Z, X, y)."""
    # blocks B_g = lam1 L11_g^-T
    Bt = np.linalg.solve(factor.L11, np.broadcast_to(lam1.T, factor.L11.shape))
    B = Bt.transpose(0, 2, 1)
    right = ar1_times_block_diagonal(stats.Ar1, B)
    dense = right.toarray() if sp.issparse(right) else np.asarray(right)
    if rest_lambdas:
        dense = apply_rest_lambda(dense, stats, rest_lambdas, side="left")
    return dense


def solve_at_optimum(
    stats: SufficientStats,
    factor: BlockedFactor,
    lam1: np.ndarray,
    rest_lambdas: list[np.ndarray],
    *,
    conditional_variances: bool = True,
) -> Solution:
    """Fixed effects, spherical conditional modes and their unscaled covariances."""
    Lr1 = _lower_r1(stats, factor, lam1, rest_lambdas)
    Lrr = factor.Lrr
    qr, p = stats.q_rest, stats.p
    levels1, size1 = factor.L11.shape[:2]
    # right-hand side: the response row of L (excluding r)
    c1 = Lr1[-1, :]
    cr = Lrr[-1, :-1]
    # upper-triangular back substitution: rest unknowns (u_rest, beta) first
    Ltop = Lrr[:-1, :-1]
    v = sla.solve_triangular(Ltop, cr, lower=True, trans="T", check_finite=False)
    rhs1 = c1 - Lr1[:-1, :].T @ v
    u1 = np.linalg.solve(
        factor.L11.transpose(0, 2, 1), rhs1.reshape(levels1, size1, 1)
    ).reshape(levels1, size1)
    beta = v[qr:]
    us = [u1]
    offset = 0
    for shape in stats.shapes[1:]:
        q = shape.n_random_effects
        us.append(v[offset : offset + q].reshape(shape.n_levels, shape.size))
        offset += q
    LX = Lrr[qr : qr + p, qr : qr + p]
    LX_inv = sla.solve_triangular(LX, np.eye(p), lower=True, check_finite=False)
    beta_cov = LX_inv.T @ LX_inv
    ucov: list[np.ndarray] = []
    if conditional_variances:
        ucov = _conditional_variances(stats, factor, Lr1[:qr, :], Lrr[:qr, :qr])
    return Solution(beta=beta, u=tuple(us), beta_cov_unscaled=beta_cov, u_cov_unscaled=tuple(ucov))


def _conditional_variances(
    stats: SufficientStats, factor: BlockedFactor, Lr1_z: np.ndarray, Lrr_z: np.ndarray
) -> list[np.ndarray]:
    """Diagonal blocks of ``(L_Z L_Z')^-1`` per level, for every block."""
    levels1, size1 = factor.L11.shape[:2]
    L11_inv = np.linalg.inv(factor.L11)  # batched small inverses
    first = np.einsum("lka,lkb->lab", L11_inv, L11_inv)
    out = []
    if stats.q_rest:
        G = sla.solve_triangular(Lrr_z, Lr1_z, lower=True, check_finite=False)
        Gb = G.reshape(stats.q_rest, levels1, size1)
        GtG = np.einsum("kla,klb->lab", Gb, Gb)
        first = first + np.einsum("lka,lkc,lcb->lab", L11_inv, GtG, L11_inv)
        out.append(first)
        Lrr_inv = sla.solve_triangular(Lrr_z, np.eye(stats.q_rest), lower=True, check_finite=False)
        offset = 0
        for shape in stats.shapes[1:]:
            q = shape.n_random_effects
            cols = Lrr_inv[:, offset : offset + q].reshape(-1, shape.n_levels, shape.size)
            out.append(np.einsum("kla,klb->lab", cols, cols))
            offset += q
    else:
        out.append(first)
    return out
