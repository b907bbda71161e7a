"""Quantities read from the factor at the optimum: beta, conditional modes, variances.

All solves go through the blocked factor; no dense inverse of the whole Z part is formed and
``Lr1 = Lr' Ar1 Lam1 L11^-T`` is never built: it is applied through the sparse ``Ar1``.
The conditional variances (the only costly part: one inverse of the rest's Z block) are
computed when first asked for.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import scipy.linalg as sla
from scipy.linalg import blas, lapack

from mixedmodels.linalg import kernels
from mixedmodels.linalg.factor import BlockedFactor
from mixedmodels.linalg.statistics import SufficientStats
from mixedmodels.linalg.threads import blas_limit
from mixedmodels.linalg.workspace import Workspace

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
        Per block ``(levels, size, size)``: the diagonal blocks of ``(L_Z L_Z')^-1``
        (computed on first access).
    """

    beta: np.ndarray
    u: tuple[np.ndarray, ...]
    beta_cov_unscaled: np.ndarray
    _u_cov: Callable[[], tuple[np.ndarray, ...]] | tuple[np.ndarray, ...] = field(
        default=(), repr=False
    )

    @cached_property
    def u_cov_unscaled(self) -> tuple[np.ndarray, ...]:
        """Diagonal blocks of ``(L_Z L_Z')^-1`` per block, ``(levels, size, size)`` each."""
        return tuple(self._u_cov() if callable(self._u_cov) else self._u_cov)


def _apply_rest_lambda(v: np.ndarray, stats: SufficientStats, rest_lambdas) -> np.ndarray:
    """``Lr v`` for a vector or the rows of a matrix over the rest (Lambda of the rest, then I)."""
    out = np.array(v, dtype=float, copy=True)
    offset = 0
    for shape, lam in zip(stats.shapes[1:], rest_lambdas, strict=True):
        q = shape.n_random_effects
        part = out[offset : offset + q].reshape(shape.n_levels, shape.size, *out.shape[1:])
        out[offset : offset + q] = np.einsum("ab,lb...->la...", lam, part).reshape(
            q, *out.shape[1:]
        )
        offset += q
    return out


def _ar1_transpose_times(stats: SufficientStats, z: np.ndarray) -> np.ndarray:
    """``Ar1' z`` as ``(l1, p1)``."""
    shape1 = stats.shapes[0]
    return np.asarray(stats.Ar1.T @ z).reshape(shape1.n_levels, shape1.size)


def _rest_unknowns(Lrr: np.ndarray) -> np.ndarray:
    """``L^-T l`` for the rest's factor ``[[L, 0], [l', r]]`` (``l``: the response's row).

    Solved with the whole factor, ``[[L, 0], [l', r]]' x = (0, ..., 0, -r)``, whose solution is
    ``x = (L^-T l, -1)``: one BLAS ``dtrsv`` on the C-ordered factor's transpose, which is
    Fortran-ordered, so nothing is copied (a solve with the leading block would copy it).
    """
    r = Lrr[-1, -1]
    if r == 0.0 or not Lrr.flags.c_contiguous:  # an exact fit, or a view: the plain solve
        return sla.solve_triangular(
            Lrr[:-1, :-1], Lrr[-1, :-1], lower=True, trans="T", check_finite=False
        )
    rhs = np.zeros(Lrr.shape[0])
    rhs[-1] = -r
    x = blas.dtrsv(Lrr.T, rhs, lower=0, trans=0)
    return x[:-1]


def solve_at_optimum(
    workspace: Workspace,
    factor: BlockedFactor,
    lam1: np.ndarray,
    rest_lambdas: list[np.ndarray],
    *,
    conditional_variances: bool = True,
) -> Solution:
    """Fixed effects, spherical conditional modes and their unscaled covariances.

    ``workspace`` is the engine the factor came from (see ``update_factor``); ``lam1``,
    ``rest_lambdas`` and ``factor`` are the model's.
    """
    stats = workspace.stats
    lam1, rest_lambdas = stats.engine_lambdas(lam1, rest_lambdas)
    Lrr = factor.Lrr
    qr, p = stats.q_rest, stats.p
    # rest unknowns (u_rest, beta): upper-triangular solve with the rest's factor
    v = _rest_unknowns(Lrr)
    # first block: u1 = L11^-T (c1 - Lr1[:-1]' v) with Lr1' w = L11^-1 Lam1' Ar1' Lr w, the
    # rest's unknowns taken to the columns summed (conditioned beta)
    v_summed = v
    if stats.conditioning is not None:
        v_summed = v.copy()
        v_summed[qr:] = stats.conditioning.engine_beta(v[qr:])
    z = _apply_rest_lambda(np.append(-v_summed, 1.0), stats, rest_lambdas)
    t = _ar1_transpose_times(stats, z) @ lam1  # rows: Lam1' (Ar1' z)_g
    L11 = factor.L11
    rhs1 = np.linalg.solve(L11, t[:, :, None])
    u1 = np.linalg.solve(L11.transpose(0, 2, 1), rhs1)[:, :, 0]
    us = [u1]
    offset = 0
    for shape in stats.shapes[1:]:
        q = shape.n_random_effects
        us.append(v[offset : offset + q].reshape(shape.n_levels, shape.size))
        offset += q
    beta = v[qr:]
    LX = Lrr[qr : qr + p, qr : qr + p]
    if p:
        # dtrtri, not a triangular solve with an identity right-hand side: OpenBLAS may
        # thread the latter even for tiny matrices, which costs milliseconds on a busy machine
        LX_inv, info = lapack.dtrtri(LX, lower=1)
        if info != 0:
            raise np.linalg.LinAlgError("R_X is singular")
        beta_cov = LX_inv.T @ LX_inv
    else:  # no fixed effects (``y ~ 0 + (1|g)``)
        beta_cov = np.zeros((0, 0))
    ucov: Callable[[], tuple[np.ndarray, ...]] | tuple = ()
    if conditional_variances:

        def ucov() -> tuple[np.ndarray, ...]:
            return _conditional_variances(workspace, factor, lam1, rest_lambdas)

    return Solution(beta=beta, u=tuple(us), beta_cov_unscaled=beta_cov, _u_cov=ucov)


def _conditional_variances(
    workspace: Workspace, factor: BlockedFactor, lam1: np.ndarray, rest_lambdas
) -> tuple[np.ndarray, ...]:
    """Diagonal blocks of ``(L_Z L_Z')^-1`` per level, for every block.

    With ``M_g = L11_g L11_g'`` and ``Q = Lr_z S_z^-1 Lr_z'`` (``S_z = Lrr_z Lrr_z'``) the first
    block's are ``M_g^-1 + M_g^-1 Lam1' (Ar1_z,g' Q Ar1_z,g) Lam1 M_g^-1``; the rest's are the
    diagonal blocks of ``S_z^-1``.
    """
    stats = workspace.stats
    L11 = factor.L11
    levels1, size1 = L11.shape[:2]
    L11_inv = np.linalg.inv(L11)
    M_inv = np.einsum("lka,lkb->lab", L11_inv, L11_inv)
    qr = stats.q_rest
    if not qr:
        return (M_inv,)
    Lz = np.array(factor.Lrr[:qr, :qr], order="F")
    with blas_limit(qr):
        S_inv, info = lapack.dpotri(Lz, lower=1, overwrite_c=1)
    if info != 0:
        raise np.linalg.LinAlgError("cannot invert the rest's factor")
    S_inv = np.tril(S_inv) + np.tril(S_inv, -1).T
    out_rest = []
    offset = 0
    for shape in stats.shapes[1:]:
        q = shape.n_random_effects
        idx = offset + np.arange(q).reshape(shape.n_levels, shape.size)
        out_rest.append(S_inv[idx[:, :, None], idx[:, None, :]])
        offset += q
    Q = _apply_rest_lambda(_apply_rest_lambda(S_inv, stats, rest_lambdas).T, stats, rest_lambdas)
    Q = np.ascontiguousarray(Q[:qr, :qr])
    H = np.zeros((levels1, size1, size1))
    # only the random-effect rows are read: the conditioned values equal the plain ones there
    kernels.gather_quadratic(Q, workspace.ptr, workspace.rows, workspace.values_conditioned, H)
    G = np.einsum("ba,lbc,cd->lad", lam1, H, lam1)
    first = M_inv + np.einsum("lab,lbc,lcd->lad", M_inv, G, M_inv)
    return (first, *out_rest)
