"""Quadratic forms of single rows with the inverse of the penalised system, through the factor.

For a row with random-effect covariates ``z`` and fixed-effect covariates ``x`` let
``v = [Lambda' z; x]``. With ``Omega = [Lambda'Z'WZ Lambda + I, Lambda'Z'WX; X'WZ Lambda, X'WX]``
and its blocked Cholesky factor ``L`` (``Omega = L L'``),

    h(v) = v' Omega^-1 v = || L^-1 v ||^2.

For the rows of the data scaled by ``sqrt(w)`` these are the diagonal of the hat matrix of the
conditional fitted values (lme4's ``hatvalues``); for a new row, ``sigma^2 h(v)`` is the
prediction-error variance of ``x'beta + z'b`` (fixed and random parts together, Henderson's
result). Neither the n x n hat matrix nor the n x q matrix Z is formed: the first block is
solved level by level, the rest by one triangular solve per chunk of rows.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from scipy.linalg import solve_triangular

from mixedmodels.linalg.factor import BlockedFactor, apply_rest_lambda
from mixedmodels.linalg.statistics import SufficientStats

__all__ = ["RowBlock", "row_quadratic"]

CHUNK_ENTRIES = 4_000_000
"""Entries of the (rest x rows) work array solved at once (32 MB)."""


@dataclass(frozen=True)
class RowBlock:
    """The rows' covariates of one engine block.

    Attributes
    ----------
    codes
        Level of every row, ``(n,)``; ``-1`` for a level the model has not seen (its random
        effect is zero, so it contributes nothing).
    matrix
        The rows' model matrix of the block, ``(n, size)``.
    """

    codes: np.ndarray
    matrix: np.ndarray


def row_quadratic(
    stats: SufficientStats,
    factor: BlockedFactor,
    lambdas: list[np.ndarray],
    rows: list[RowBlock],
    X: np.ndarray,
    scale: np.ndarray | None = None,
) -> np.ndarray:
    """``|| L^-1 v_i ||^2`` for each row ``v_i = s_i [Lambda' z_i; x_i]``.

    Parameters
    ----------
    stats, factor, lambdas
        The sufficient statistics, the factor at the fitted theta and the blocks' lambdas.
    rows
        One :class:`RowBlock` per engine block, in the engine's order.
    X
        The rows' fixed-effect covariates ``(n, p)``.
    scale
        Per-row factors ``s_i`` (``sqrt`` of the prior weights for the hat matrix), or None.

    Returns
    -------
    numpy.ndarray
        ``(n,)``.
    """
    n = X.shape[0]
    shapes = stats.shapes
    conditioning = stats.conditioning
    if conditioning is not None:  # Ar1 sums the engine's columns: rows and lambdas as those
        first_lambda, rest = stats.engine_lambdas(lambdas[0], lambdas[1:])
        lambdas = [first_lambda, *rest]
        rows = [
            RowBlock(codes=b.codes, matrix=conditioning.block_columns(k, b.matrix))
            for k, b in enumerate(rows)
        ]
    first, lam1 = rows[0], lambdas[0]
    levels1, p1 = shapes[0].n_levels, shapes[0].size
    known1 = first.codes >= 0
    code1 = np.where(known1, first.codes, 0)
    s = np.ones(n) if scale is None else np.asarray(scale, dtype=float)
    # first block: w1 = L11_g^-1 lam1' z1 and c = lam1 M_g^-1 lam1' z1 (M_g = L11_g L11_g')
    a1 = (first.matrix @ lam1) * (s * known1)[:, None]  # rows of (lam1' z1)'
    L11 = factor.L11[code1]
    w1 = np.linalg.solve(L11, a1[:, :, None])[:, :, 0]
    c = np.linalg.solve(L11.transpose(0, 2, 1), w1[:, :, None])[:, :, 0] @ lam1.T
    out = np.einsum("na,na->n", w1, w1)
    qr, p = stats.q_rest, stats.p
    k = qr + p
    if k == 0:
        return out
    Lz = factor.Lrr[:k, :k]
    Ar1 = stats.Ar1[:k] if not sp.issparse(stats.Ar1) else stats.Ar1.tocsr()[:k]  # type: ignore[union-attr]
    rest_lambdas = list(lambdas[1:])
    offsets = np.cumsum([0] + [sh.n_random_effects for sh in shapes[1:]])
    step = max(1, CHUNK_ENTRIES // max(k, 1))
    for start in range(0, n, step):
        stop = min(n, start + step)
        m = stop - start
        # Lr1 w1 = Lr' Ar1 C, C (q1 x m) with c_i at the columns of level g_i
        cols = (code1[start:stop, None] * p1 + np.arange(p1)[None, :]).ravel()
        C = sp.csc_matrix(
            (c[start:stop].ravel(), (cols, np.repeat(np.arange(m), p1))), shape=(levels1 * p1, m)
        )
        T = np.asarray((Ar1 @ C).todense() if sp.issparse(Ar1) else Ar1 @ C.toarray())
        T = apply_rest_lambda(T, stats, rest_lambdas, side="left")
        if conditioning is not None:  # X's rows of the model's columns, as the factor's
            conditioning.plain_fixed_rows(T, qr, p)
        R = -T
        for j, (block, lam) in enumerate(zip(rows[1:], rest_lambdas, strict=True)):
            size = shapes[j + 1].size
            codes = block.codes[start:stop]
            known = codes >= 0
            v = (block.matrix[start:stop] @ lam) * (s[start:stop] * known)[:, None]
            where = offsets[j] + np.where(known, codes, 0)[:, None] * size + np.arange(size)
            np.add.at(R, (where.ravel(), np.repeat(np.arange(m), size)), v.ravel())
        R[qr:k] += (X[start:stop] * s[start:stop, None]).T
        W = solve_triangular(Lz, R, lower=True, check_finite=False)
        out[start:stop] += np.einsum("km,km->m", W, W)
    return out
