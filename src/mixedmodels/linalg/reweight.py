"""Sufficient statistics for new weights and a new response, the structure found once.

A generalized linear mixed model is fitted by penalised iteratively re-weighted least squares
(PIRLS): every iteration is a weighted linear mixed model with new working weights ``w`` and
a new working response ``z`` on the same ``Z`` and ``X``. :func:`compute_statistics` finds
the co-occurring level pairs of every two blocks, and the workspace their pattern per level of
the first block, afresh for every statistics; a :class:`ReweightPlan` finds both once (on the
absolute values of Z and X, whose sums are zero exactly where every weighted sum is), so that
:func:`reweighted_workspace` is one compiled pass over the rows that adds each row's
products straight into A11, the workspace's per-level values and Arr, as MixedModels.jl's
``reweight!`` does for its GLMMs. The result is the same :class:`SufficientStats` (same
layout; Ar1 dense where :func:`compute_statistics` would store it dense, else compressed by
column) held by its workspace, built from the plan's pattern: :func:`reweighted_workspace`
returns that :class:`~mixedmodels.linalg.workspace.Workspace`, which
:func:`~mixedmodels.linalg.update_factor` and :func:`~mixedmodels.linalg.solve_at_optimum`
take as any other (the statistics are its ``stats``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp
from numba import njit

from mixedmodels.linalg.statistics import (
    DENSE_FILL,
    DENSE_LIMIT,
    BlockShape,
    SufficientStats,
    compute_statistics,
)
from mixedmodels.linalg.workspace import Workspace

__all__ = ["ReweightPlan", "reweight_plan", "reweighted_workspace"]


@dataclass(frozen=True, eq=False)
class ReweightPlan:
    """What does not change with the weights: blocks, X and the pattern of A.

    Build with :func:`reweight_plan`.
    """

    shapes: tuple[BlockShape, ...]
    X: np.ndarray  # (n, p), C order
    codes1: np.ndarray  # (n,) first block's level of every row
    Z1: np.ndarray  # (n, s1)
    rest_codes: np.ndarray  # (k, n) the other blocks' levels
    rest_Z: np.ndarray  # (n, sum of their sizes)
    rest_zoff: np.ndarray  # (k,) column offsets in rest_Z
    rest_sizes: np.ndarray  # (k,)
    rest_roff: np.ndarray  # (k,) row offsets in Arr
    entry_k: np.ndarray  # (n, sum of sizes) pattern position of each row's entries, or -1
    level_k: np.ndarray  # (l1, p + 1) pattern position of X's rows and y's row per level
    ptr: np.ndarray
    rows: np.ndarray
    sparse: Any  # the workspace's sparse route (analysed once: a SparseRest), or None
    ar1_dense: bool
    csc: Any  # (indptr, indices, gather) of a compressed-column Ar1, or None

    @property
    def n(self) -> int:
        """Number of rows."""
        return self.X.shape[0]

    @property
    def p(self) -> int:
        """Number of columns of X."""
        return self.X.shape[1]

    @property
    def q_rest(self) -> int:
        """Random effects outside the first block."""
        return sum(s.n_random_effects for s in self.shapes[1:])

    @property
    def m(self) -> int:
        """Dimension of the rest: q_rest + p + 1."""
        return self.q_rest + self.p + 1


def reweight_plan(blocks, X: np.ndarray) -> ReweightPlan:
    """The structure of ``A = [Z X y]' W [Z X y]`` for the given blocks and X.

    Parameters
    ----------
    blocks
        ``(codes, matrix, n_levels)`` for every engine block, the one with most levels first
        (as for :func:`~mixedmodels.linalg.compute_statistics`).
    X
        Fixed-effects model matrix ``(n, p)``; ``p`` may be 0 (a solve for the random effects
        alone, as PIRLS with the fixed effects held fixed).
    """
    blocks = [(np.asarray(c, dtype=np.int64), np.asarray(z, float), int(k)) for c, z, k in blocks]
    X = np.ascontiguousarray(X, dtype=float)
    n, p = X.shape
    shapes = tuple(BlockShape(k, z.shape[1]) for _, z, k in blocks)
    template = compute_statistics(
        [(c, np.abs(z), k) for c, z, k in blocks], np.abs(X), np.ones(n), None
    )
    workspace = Workspace(template)
    ptr, rows = workspace.ptr, workspace.rows
    m = template.m
    codes1, Z1, levels1 = blocks[0]
    rest = blocks[1:]
    sizes = np.array([z.shape[1] for _, z, _ in rest], dtype=np.int64)
    roff = np.concatenate([[0], np.cumsum([s.n_random_effects for s in shapes[1:]])])[:-1]
    zoff = np.concatenate([[0], np.cumsum(sizes)])[:-1] if len(rest) else np.zeros(0, np.int64)
    key = np.repeat(np.arange(levels1, dtype=np.int64), np.diff(ptr)) * m + rows

    def position(levels: np.ndarray, targets: np.ndarray) -> np.ndarray:
        wanted = levels * m + targets
        at = np.minimum(np.searchsorted(key, wanted), key.size - 1)
        return np.where(key[at] == wanted, at, -1).astype(np.int64)

    entry_k = np.empty((n, int(sizes.sum())), dtype=np.int64)
    for i, (codes, _, _) in enumerate(rest):
        for b in range(sizes[i]):
            entry_k[:, zoff[i] + b] = position(codes1, roff[i] + codes * sizes[i] + b)
    q_rest = int(template.q_rest)
    level_k = np.empty((levels1, p + 1), dtype=np.int64)
    all_levels = np.arange(levels1, dtype=np.int64)
    for c in range(p + 1):
        level_k[:, c] = position(all_levels, np.full(levels1, q_rest + c))
    cols = levels1 * Z1.shape[1]
    dense = m * cols <= DENSE_LIMIT or rows.size * Z1.shape[1] > DENSE_FILL * m * cols
    csc = None
    if not dense:  # column (g, a) holds rows[ptr[g]:ptr[g+1]], values[.., a]
        s1 = Z1.shape[1]
        counts = np.repeat(np.diff(ptr), s1)
        indptr = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
        level_of = np.repeat(np.arange(levels1), s1)
        start = np.repeat(ptr[:-1][level_of], counts)
        within = np.arange(indptr[-1]) - np.repeat(indptr[:-1], counts)
        k = start + within
        column = np.repeat(np.tile(np.arange(s1), levels1), counts)
        csc = (indptr, rows[k].astype(np.int32), k * s1 + column)
    return ReweightPlan(
        shapes=shapes,
        X=X,
        codes1=codes1,
        Z1=np.ascontiguousarray(Z1),
        rest_codes=(
            np.ascontiguousarray(np.vstack([c for c, _, _ in rest]))
            if rest
            else np.zeros((0, n), np.int64)
        ),
        rest_Z=np.ascontiguousarray(np.hstack([z for _, z, _ in rest]))
        if rest
        else np.zeros((n, 0)),
        rest_zoff=np.asarray(zoff, dtype=np.int64),
        rest_sizes=sizes,
        rest_roff=np.asarray(roff, dtype=np.int64),
        entry_k=entry_k,
        level_k=level_k,
        ptr=ptr,
        rows=rows,
        sparse=workspace.sparse,
        ar1_dense=bool(dense),
        csc=csc,
    )


@njit(cache=True)
def _accumulate(  # pragma: no cover - compiled
    w, y, codes1, Z1, rest_codes, rest_Z, zoff, sizes, roff, entry_k, level_k, X, A11, values, Arr
):
    """Add every row's weighted products into A11, the per-level values and Arr (lower)."""
    n = w.size
    s1 = Z1.shape[1]
    nb = sizes.size
    p = X.shape[1]
    m = Arr.shape[0]
    q_rest = m - p - 1
    for j in range(n):
        wj = w[j]
        g = codes1[j]
        yj = y[j]
        for a in range(s1):
            wa = wj * Z1[j, a]
            for b in range(a + 1):
                A11[g, a, b] += wa * Z1[j, b]
        for i in range(nb):
            si = sizes[i]
            r0 = roff[i] + rest_codes[i, j] * si
            for b in range(si):
                wb = wj * rest_Z[j, zoff[i] + b]
                k = entry_k[j, zoff[i] + b]
                if k >= 0:
                    for a in range(s1):
                        values[k, a] += wb * Z1[j, a]
                for c in range(b + 1):
                    Arr[r0 + b, r0 + c] += wb * rest_Z[j, zoff[i] + c]
                for i2 in range(i):
                    r2 = roff[i2] + rest_codes[i2, j] * sizes[i2]
                    for c in range(sizes[i2]):
                        Arr[r0 + b, r2 + c] += wb * rest_Z[j, zoff[i2] + c]
                for c in range(p):
                    Arr[q_rest + c, r0 + b] += wb * X[j, c]
                Arr[m - 1, r0 + b] += wb * yj
        for c in range(p):
            k = level_k[g, c]
            wx = wj * X[j, c]
            if k >= 0:
                for a in range(s1):
                    values[k, a] += wx * Z1[j, a]
            for d in range(c + 1):
                Arr[q_rest + c, q_rest + d] += wx * X[j, d]
            Arr[m - 1, q_rest + c] += wx * yj
        k = level_k[g, p]
        wy = wj * yj
        for a in range(s1):
            values[k, a] += wy * Z1[j, a]
        Arr[m - 1, m - 1] += wy * yj


@njit(cache=True)
def _symmetrize(A11, Arr):  # pragma: no cover - compiled
    levels, s, _ = A11.shape
    for g in range(levels):
        for a in range(s):
            for b in range(a):
                A11[g, b, a] = A11[g, a, b]
    m = Arr.shape[0]
    for i in range(m):
        for j in range(i):
            Arr[j, i] = Arr[i, j]


@njit(cache=True)
def _dense_ar1(ptr, rows, values, out):  # pragma: no cover - compiled
    s1 = values.shape[1]
    for g in range(ptr.size - 1):
        for k in range(ptr[g], ptr[g + 1]):
            for a in range(s1):
                out[rows[k], g * s1 + a] = values[k, a]


def reweighted_workspace(plan: ReweightPlan, y: np.ndarray, weights: np.ndarray) -> Workspace:
    """The engine of the weighted model with response ``y`` and weights ``w``.

    Its statistics (``.stats``) have the same values (to rounding) as
    ``compute_statistics(blocks, X, y, weights)``; ``sum_log_weights`` is that of ``w``. The
    workspace reuses the plan's pattern and sparse route instead of finding them again.

    Parameters
    ----------
    plan
        From :func:`reweight_plan`.
    y
        Response ``(n,)`` (any offset already subtracted).
    weights
        Non-negative weights ``(n,)``.
    """
    w = np.ascontiguousarray(weights, dtype=float)
    y = np.ascontiguousarray(y, dtype=float)
    shapes = plan.shapes
    levels1, s1 = shapes[0].n_levels, shapes[0].size
    m = plan.m
    A11 = np.zeros((levels1, s1, s1))
    values = np.zeros((plan.rows.size, s1))
    Arr = np.zeros((m, m))
    _accumulate(
        w,
        y,
        plan.codes1,
        plan.Z1,
        plan.rest_codes,
        plan.rest_Z,
        plan.rest_zoff,
        plan.rest_sizes,
        plan.rest_roff,
        plan.entry_k,
        plan.level_k,
        plan.X,
        A11,
        values,
        Arr,
    )
    _symmetrize(A11, Arr)
    if plan.ar1_dense:
        Ar1 = np.zeros((m, levels1 * s1))
        _dense_ar1(plan.ptr, plan.rows, values, Ar1)
    else:
        indptr, indices, gather = plan.csc
        Ar1 = sp.csc_matrix((values.reshape(-1)[gather], indices, indptr), shape=(m, levels1 * s1))
    with np.errstate(divide="ignore"):
        sum_log = float(np.sum(np.log(w)))
    stats = SufficientStats(
        n=plan.n,
        p=plan.p,
        sum_log_weights=sum_log,
        shapes=shapes,
        A11=A11,
        Ar1=Ar1,
        Arr=Arr,
    )
    return Workspace(stats, _pattern=(plan.ptr, plan.rows, values), _sparse=plan.sparse)


@njit(cache=True)
def _level_factor(A, g, lam, M, L11, logdet):  # pragma: no cover - compiled
    """``L11[g]`` = the lower Cholesky factor of ``lam' A[g] lam + I``.

    Zero above the diagonal; ``M`` is its workspace. Returns ``logdet`` plus the factor's
    log-determinant (added term by term, in the callers' order of summation).
    """
    s = lam.shape[0]
    for a in range(s):
        for b in range(s):
            acc = 0.0
            for k in range(s):
                inner = 0.0
                for m in range(s):
                    inner += A[g, k, m] * lam[m, b]
                acc += lam[k, a] * inner
            M[a, b] = acc + (1.0 if a == b else 0.0)
    for a in range(s):
        acc = M[a, a]
        for k in range(a):
            acc -= L11[g, a, k] * L11[g, a, k]
        d = np.sqrt(acc)
        L11[g, a, a] = d
        logdet += 2.0 * np.log(d)
        for b in range(a + 1, s):
            acc = M[b, a]
            for k in range(a):
                acc -= L11[g, b, k] * L11[g, a, k]
            L11[g, b, a] = acc / d
        for b in range(a):
            L11[g, b, a] = 0.0
    return logdet


@njit(cache=True)
def one_block_system(codes, Z, w, r, lam, A, L11, u):  # pragma: no cover - compiled
    """The engine's one-block factor and solve for weights ``w`` and response ``r``.

    For a model whose only random-effect block is ``(codes, Z)`` and no X (PIRLS with the
    fixed effects held fixed): per level ``M_g = lam' (Z_g' W Z_g) lam + I = L_g L_g'``
    into ``L11`` and ``u_g = M_g^-1 lam' Z_g' W r`` into ``u``; returns ``log|L_Z|^2``.
    ``A`` is scratch of ``L11``'s shape. The same algebra as :func:`update_factor` followed
    by :func:`solve_at_optimum` on ``reweighted_workspace`` of a one-block plan with p = 0,
    in one compiled pass (the dense reference test checks both).
    """
    levels, s = u.shape
    rhs = np.zeros((levels, s))
    A[:] = 0.0
    for j in range(codes.size):
        g = codes[j]
        wj = w[j]
        for a in range(s):
            wa = wj * Z[j, a]
            rhs[g, a] += wa * r[j]
            for b in range(a + 1):
                A[g, a, b] += wa * Z[j, b]
    return one_block_solve(A, rhs, lam, L11, u)


@njit(cache=True)
def one_block_solve(A, rhs, lam, L11, u):  # pragma: no cover - compiled
    """The per-level factor and solve of :func:`one_block_system`.

    From the accumulated ``A`` (lower triangles of ``Z_g' W Z_g``; symmetrised here) and
    ``rhs = Z_g' W r``.
    """
    levels, s = u.shape
    logdet = 0.0
    M = np.empty((s, s))
    t = np.empty(s)
    c = np.empty(s)
    for g in range(levels):
        for a in range(s):
            for b in range(a):
                A[g, b, a] = A[g, a, b]
        for a in range(s):  # c = lam' rhs
            acc = 0.0
            for k in range(s):
                acc += lam[k, a] * rhs[g, k]
            c[a] = acc
        logdet = _level_factor(A, g, lam, M, L11, logdet)
        for a in range(s):  # L t = c, then L' u = t
            acc = c[a]
            for k in range(a):
                acc -= L11[g, a, k] * t[k]
            t[a] = acc / L11[g, a, a]
        for a in range(s - 1, -1, -1):
            acc = t[a]
            for k in range(a + 1, s):
                acc -= L11[g, k, a] * u[g, k]
            u[g, a] = acc / L11[g, a, a]
    return logdet


@njit(cache=True)
def one_block_joint_system(codes, Z, X, w, r, lam, L11, u, beta):  # pragma: no cover
    """:func:`one_block_system` with fixed effects: ``u`` and ``beta`` solved together.

    Per level ``M_g = L_g L_g'`` as there, ``B_g = lam' Z_g' W X_g`` and the Schur complement
    ``S = X'WX - sum_g B_g' M_g^-1 B_g = R_X R_X'``; ``beta = S^-1 (X'Wr - sum_g B_g' M_g^-1
    c_g)`` and ``u_g = M_g^-1 (c_g - B_g beta)``. Returns ``(log|L_Z|^2, log|R_X|^2)``; the
    blocked factor of :func:`update_factor` for one block, written out.
    """
    levels, s = u.shape
    n, p = X.shape
    A = np.zeros((levels, s, s))
    ZX = np.zeros((levels, s, p))
    Zr = np.zeros((levels, s))
    XX = np.zeros((p, p))
    Xr = np.zeros(p)
    for j in range(n):
        g = codes[j]
        wj = w[j]
        for a in range(s):
            wa = wj * Z[j, a]
            Zr[g, a] += wa * r[j]
            for b in range(s):
                A[g, a, b] += wa * Z[j, b]
            for c in range(p):
                ZX[g, a, c] += wa * X[j, c]
        for c in range(p):
            wx = wj * X[j, c]
            Xr[c] += wx * r[j]
            for d in range(p):
                XX[c, d] += wx * X[j, d]
    logdet_z = 0.0
    S = XX.copy()
    rhs = Xr.copy()
    # per level: B = lam' ZX, c = lam' Zr; G = L^-1 B, h = L^-1 c; S -= G'G; rhs -= G'h
    G = np.empty((levels, s, p))
    h = np.empty((levels, s))
    M = np.empty((s, s))
    for g in range(levels):
        logdet_z = _level_factor(A, g, lam, M, L11, logdet_z)
        for a in range(s):  # forward solves with L for B's columns and c
            for c in range(p):
                acc = 0.0
                for k in range(s):
                    acc += lam[k, a] * ZX[g, k, c]
                for k in range(a):
                    acc -= L11[g, a, k] * G[g, k, c]
                G[g, a, c] = acc / L11[g, a, a]
            acc = 0.0
            for k in range(s):
                acc += lam[k, a] * Zr[g, k]
            for k in range(a):
                acc -= L11[g, a, k] * h[g, k]
            h[g, a] = acc / L11[g, a, a]
        for c in range(p):
            for a in range(s):
                rhs[c] -= G[g, a, c] * h[g, a]
                for d in range(p):
                    S[c, d] -= G[g, a, c] * G[g, a, d]
    # Cholesky of S, beta
    R = np.zeros((p, p))
    logdet_x = 0.0
    for a in range(p):
        acc = S[a, a]
        for k in range(a):
            acc -= R[a, k] * R[a, k]
        if not acc > 0.0:
            return np.nan, np.nan
        d = np.sqrt(acc)
        R[a, a] = d
        logdet_x += 2.0 * np.log(d)
        for b in range(a + 1, p):
            acc = S[b, a]
            for k in range(a):
                acc -= R[b, k] * R[a, k]
            R[b, a] = acc / d
    t = np.empty(p)
    for a in range(p):
        acc = rhs[a]
        for k in range(a):
            acc -= R[a, k] * t[k]
        t[a] = acc / R[a, a]
    for a in range(p - 1, -1, -1):
        acc = t[a]
        for k in range(a + 1, p):
            acc -= R[k, a] * beta[k]
        beta[a] = acc / R[a, a]
    # u_g = L'^-1 (h - G beta)
    for g in range(levels):
        for a in range(s):
            acc = h[g, a]
            for c in range(p):
                acc -= G[g, a, c] * beta[c]
            h[g, a] = acc
        for a in range(s - 1, -1, -1):
            acc = h[g, a]
            for k in range(a + 1, s):
                acc -= L11[g, k, a] * u[g, k]
            u[g, a] = acc / L11[g, a, a]
    return logdet_z, logdet_x
