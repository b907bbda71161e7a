"""Sufficient statistics for new weights and a new response, the structure found once.

A generalized linear mixed model is fitted by penalised iteratively re-weighted least squares
(PIRLS): every iteration is a weighted linear mixed model with new working weights ``w`` and
a new working response ``z`` on the same ``Z`` and ``X``. :func:`compute_statistics` would
find the co-occurring level pairs of every two blocks (a hash of ``n`` keys per pair) at every
iteration; a :class:`ReweightPlan` finds them once, so that :func:`reweighted_statistics` is
one weighted ``bincount`` per entry of a block, the same sums in the same layout (A11, Ar1,
Arr as in :mod:`mixedmodels.linalg.statistics`), as MixedModels.jl's ``reweight!`` does for
its GLMMs.

The weights multiply the products (``sum_j w_j a_j b_j``) rather than scaling the rows by
``sqrt(w)``: the same values up to rounding, without n-by-p copies.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.sparse as sp

from mixedmodels.linalg.statistics import (
    DENSE_FILL,
    DENSE_LIMIT,
    BlockShape,
    SufficientStats,
    _ar1_storage,
)

__all__ = ["ReweightPlan", "reweight_plan", "reweighted_statistics"]


@dataclass(frozen=True, eq=False)
class _Pairs:
    """Co-occurring level pairs of two blocks: the pair of every row and the pairs' levels."""

    inverse: np.ndarray  # (n,) pair index of every row
    count: int
    level_a: np.ndarray  # (count,) level of the first block of every pair
    level_b: np.ndarray


@dataclass(frozen=True, eq=False)
class ReweightPlan:
    """What does not change with the weights: the blocks, X and the level pairs.

    Build with :func:`reweight_plan`.
    """

    blocks: tuple[tuple[np.ndarray, np.ndarray, int], ...]
    X: np.ndarray
    shapes: tuple[BlockShape, ...]
    first_pairs: tuple[_Pairs, ...]  # every later block with the first
    rest_pairs: dict  # (i, j), i > j >= 1: block i with block j
    ar1_dense: bool  # Ar1 stored dense (as compute_statistics would store it)

    @property
    def n(self) -> int:
        """Number of rows."""
        return self.X.shape[0]

    @property
    def p(self) -> int:
        """Number of columns of X."""
        return self.X.shape[1]


def _pairs(block_a, block_b) -> _Pairs:
    codes_a, _, _ = block_a
    codes_b, _, levels_b = block_b
    key = codes_a.astype(np.int64) * levels_b + codes_b
    inverse, uniques = pd.factorize(key)
    return _Pairs(
        inverse=inverse.astype(np.intp),
        count=int(uniques.size),
        level_a=(uniques // levels_b).astype(np.int64),
        level_b=(uniques % levels_b).astype(np.int64),
    )


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
    blocks = tuple(
        (np.asarray(c, dtype=np.intp), np.asarray(m, float), int(k)) for c, m, k in blocks
    )
    X = np.asarray(X, dtype=float)
    shapes = tuple(BlockShape(k, m.shape[1]) for _, m, k in blocks)
    first = tuple(_pairs(block, blocks[0]) for block in blocks[1:])
    rest = {}
    for i in range(2, len(blocks)):
        for j in range(1, i):
            rest[(i, j)] = _pairs(blocks[i], blocks[j])
    # the storage compute_statistics would choose, from the pattern (values all nonzero)
    q_rest = sum(s.n_random_effects for s in shapes[1:])
    m = q_rest + X.shape[1] + 1
    cols = shapes[0].n_random_effects
    nnz = sum(p.count * blocks[i + 1][1].shape[1] for i, p in enumerate(first)) * shapes[0].size
    nnz += (X.shape[1] + 1) * cols
    dense = m * cols <= DENSE_LIMIT or nnz > DENSE_FILL * m * cols
    return ReweightPlan(
        blocks=blocks, X=X, shapes=shapes, first_pairs=first, rest_pairs=rest, ar1_dense=dense
    )


def _sums(codes: np.ndarray, values: np.ndarray, length: int) -> np.ndarray:
    return np.bincount(codes, weights=values, minlength=length)


def _level_products(codes, matrix, levels, w) -> np.ndarray:
    """``(levels, s, s)``: per level the sum of ``w z z'``."""
    size = matrix.shape[1]
    out = np.empty((levels, size, size))
    for a in range(size):
        wa = w * matrix[:, a]
        for b in range(a + 1):
            s = _sums(codes, wa * matrix[:, b], levels)
            out[:, a, b] = s
            out[:, b, a] = s
    return out


def _level_columns(codes, matrix, levels, column) -> np.ndarray:
    """Level-major ``Z' column`` of one block (``column`` already weighted)."""
    size = matrix.shape[1]
    out = np.empty((levels, size))
    for a in range(size):
        out[:, a] = _sums(codes, matrix[:, a] * column, levels)
    return out.ravel()


def _pair_products(pairs: _Pairs, block_a, block_b, w):
    """COO rows, columns and values of ``Za' W Zb`` (one entry per pair and column pair)."""
    _, za, _ = block_a
    _, zb, _ = block_b
    pa, pb = za.shape[1], zb.shape[1]
    rows, cols, vals = [], [], []
    for a in range(pa):
        wa = w * za[:, a]
        for b in range(pb):
            rows.append(pairs.level_a * pa + a)
            cols.append(pairs.level_b * pb + b)
            vals.append(_sums(pairs.inverse, wa * zb[:, b], pairs.count))
    return np.concatenate(rows), np.concatenate(cols), np.concatenate(vals)


def reweighted_statistics(
    plan: ReweightPlan, y: np.ndarray, weights: np.ndarray
) -> SufficientStats:
    """Sufficient statistics of the weighted model with response ``y`` and weights ``w``.

    The same blocks, in the same layout and storage, as
    ``compute_statistics(blocks, X, y, weights)``; ``sum_log_weights`` is that of ``w``.

    Parameters
    ----------
    plan
        From :func:`reweight_plan`.
    y
        Response ``(n,)`` (any offset already subtracted).
    weights
        Positive weights ``(n,)``.
    """
    w = np.asarray(weights, dtype=float)
    y = np.asarray(y, dtype=float)
    X, p, n = plan.X, plan.p, plan.n
    blocks = plan.blocks
    wy = w * y
    wX = X * w[:, None] if p else X
    codes1, matrix1, levels1 = blocks[0]
    size1 = matrix1.shape[1]
    A11 = _level_products(codes1, matrix1, levels1, w)
    xy_z1 = np.empty((p + 1, levels1 * size1))
    for c in range(p):
        xy_z1[c] = _level_columns(codes1, matrix1, levels1, wX[:, c])
    xy_z1[p] = _level_columns(codes1, matrix1, levels1, wy)
    xy = np.empty((p + 1, p + 1))
    xy[:p, :p] = X.T @ wX
    xy[:p, p] = xy[p, :p] = wX.T @ y
    xy[p, p] = float(wy @ y)
    sum_log = float(np.sum(np.log(w)))
    shapes = plan.shapes
    if len(blocks) == 1:
        return SufficientStats(
            n=n,
            p=p,
            sum_log_weights=sum_log,
            shapes=shapes,
            A11=A11,
            Ar1=_ar1_storage(xy_z1),
            Arr=xy,
        )
    sizes = [s.n_random_effects for s in shapes[1:]]
    offsets = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
    q_rest = int(offsets[-1])
    m = q_rest + p + 1
    if plan.ar1_dense:
        Ar1 = np.zeros((m, levels1 * size1))
        for i, pairs in enumerate(plan.first_pairs):
            r, c, v = _pair_products(pairs, blocks[i + 1], blocks[0], w)
            Ar1[r + offsets[i], c] = v
        Ar1[q_rest:] = xy_z1
    else:
        rows, cols, vals = [], [], []
        for i, pairs in enumerate(plan.first_pairs):
            r, c, v = _pair_products(pairs, blocks[i + 1], blocks[0], w)
            rows.append(r + offsets[i])
            cols.append(c)
            vals.append(v)
        Ar1 = sp.coo_matrix(
            (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
            shape=(q_rest, levels1 * size1),
        ).tocsr()
        Ar1 = _ar1_storage(sp.vstack([Ar1, sp.csr_matrix(xy_z1)], format="csr"))
    Arr = np.zeros((m, m))
    for i, block in enumerate(blocks[1:]):
        codes, matrix, levels = block
        size = matrix.shape[1]
        at = offsets[i] + np.arange(levels * size).reshape(levels, size)
        Arr[at[:, :, None], at[:, None, :]] = _level_products(codes, matrix, levels, w)
        for c in range(p):
            Arr[offsets[i] : offsets[i + 1], q_rest + c] = _level_columns(
                codes, matrix, levels, wX[:, c]
            )
        Arr[offsets[i] : offsets[i + 1], m - 1] = _level_columns(codes, matrix, levels, wy)
        for j in range(i):
            r, c, v = _pair_products(plan.rest_pairs[(i + 1, j + 1)], block, blocks[j + 1], w)
            Arr[offsets[i] + r, offsets[j] + c] = v
            Arr[offsets[j] + c, offsets[i] + r] = v
    Arr[q_rest:, :q_rest] = Arr[:q_rest, q_rest:].T
    Arr[q_rest:, q_rest:] = xy
    return SufficientStats(
        n=n,
        p=p,
        sum_log_weights=sum_log,
        shapes=shapes,
        A11=A11,
        Ar1=Ar1,
        Arr=Arr,
    )
