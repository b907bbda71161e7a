"""Sufficient statistics A = [Z X y]'[Z X y], computed once and stored blockwise.

The engine splits the random effects into the *first* block (the grouping factor with the
most levels), whose diagonal block of A is block diagonal and stays so in the Cholesky factor,
and the *rest*: the other blocks' random effects followed by the columns of X and then y.
So A is held as three pieces::

    A11 : (l1, p1, p1)      Z1'Z1, one small dense matrix per level of the first factor
    Ar1 : (m, l1 * p1)      [Zr X y]' Z1, sparse (CSR) or dense by its density
    Arr : (m, m)            [Zr X y]' [Zr X y], dense

with m = (random effects of the other blocks) + p + 1. Nothing else of the data is needed to
evaluate the profiled objective, and every piece is a sum over rows, so it can be accumulated
chunk by chunk.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from functools import cached_property
from typing import Any

import numpy as np
import scipy.sparse as sp
from scipy.linalg import lapack

from mixedmodels.linalg.conditioning import Conditioning

__all__ = [
    "BlockShape",
    "SufficientStats",
    "assemble_statistics",
    "compute_statistics",
    "level_sums",
    "pair_block",
    "per_level_crossproducts",
    "random_effects_matrix",
]

DENSE_LIMIT = 400_000  # entries of Ar1 below which it is kept dense
DENSE_FILL = 0.25  # ... or above this fill ratio


@dataclass(frozen=True)
class BlockShape:
    """Number of levels and random effects per level of one engine block."""

    n_levels: int
    size: int

    @property
    def n_random_effects(self) -> int:
        """Levels times size."""
        return self.n_levels * self.size


@dataclass(frozen=True, eq=False)
class SufficientStats:
    """The blocks of A and the scalars that the objective needs.

    Attributes
    ----------
    n
        Number of observations.
    p
        Number of fixed-effect columns (after dropping aliased ones).
    sum_log_weights
        Sum of the log prior weights (0 for unit weights).
    shapes
        Shape of every engine block, first block first.
    A11, Ar1, Arr
        The pieces of A described in the module docstring.
    conditioning
        How the columns summed relate to the model's (centred columns, a shifted response;
        see :mod:`mixedmodels.linalg.conditioning`), or None when they are the model's.
        The functions that take lambdas (``update_factor``, ``evaluate_objective``,
        ``solve_at_optimum``...) take the model's and give the model's factor and estimates.

    Pure data: the structure and scratch space of fast evaluations are a
    :class:`~mixedmodels.linalg.workspace.Workspace` built from these statistics and owned
    by the model (``LinearMixedModel.workspace``).
    """

    n: int
    p: int
    sum_log_weights: float
    shapes: tuple[BlockShape, ...]
    A11: np.ndarray
    Ar1: np.ndarray | sp.csr_matrix
    Arr: np.ndarray
    conditioning: Conditioning | None = None

    def engine_lambdas(
        self, first: np.ndarray, rest: list[np.ndarray] | tuple[np.ndarray, ...]
    ) -> tuple[np.ndarray, list[np.ndarray]]:
        """The lambdas of the columns summed here, for the model's block lambdas."""
        c = self.conditioning
        if c is None:
            return first, list(rest)
        return c.engine_lambda(0, first), [
            c.engine_lambda(k + 1, lam) for k, lam in enumerate(rest)
        ]

    @property
    def q_rest(self) -> int:
        """Random effects outside the first block."""
        return sum(s.n_random_effects for s in self.shapes[1:])

    @property
    def m(self) -> int:
        """Dimension of the rest: q_rest + p + 1."""
        return self.Arr.shape[0]

    @property
    def ar1_is_sparse(self) -> bool:
        """Whether Ar1 is stored sparse."""
        return sp.issparse(self.Ar1)

    @cached_property
    def ols_beta(self) -> np.ndarray:
        """Least-squares coefficients of y on X (the fixed effects with no random effects)."""
        qr, p = self.q_rest, self.p
        if not p:
            return np.zeros(0)
        XX = self.Arr[qr : qr + p, qr : qr + p]
        Xy = self.Arr[qr : qr + p, -1]
        # X has full column rank after aliased columns are dropped: a Cholesky solve (LAPACK
        # called directly: numpy's wrappers cost more than the solve for a small X)
        factor, info = lapack.dpotrf(XX, lower=1, clean=0)
        if info == 0:
            beta, info = lapack.dpotrs(factor, Xy, lower=1)
            if info == 0 and np.all(np.isfinite(beta)):
                return beta
        return np.linalg.lstsq(XX, Xy, rcond=None)[0]

    def model_crossproducts(self) -> np.ndarray:
        """``N'N`` of the model's columns ``N = [Z X]`` (weighted as summed), dense.

        Assembled from A11, Ar1 and Arr (the response's row and column left out) with the
        centring of :attr:`conditioning` undone: ``N = N~ M``, ``M`` block diagonal of every
        level's ``C_k^-1`` and ``T^-1``, so ``N'N = M' N~'N~ M``. Dense ``(q + p)^2``: for
        models of moderate size (Kenward-Roger's, which needs only these sums).
        """
        first = self.shapes[0]
        q1 = first.n_random_effects
        k = q1 + self.m - 1
        out = np.zeros((k, k))
        at = np.arange(q1).reshape(first.n_levels, first.size)
        out[at[:, :, None], at[:, None, :]] = self.A11
        Ar1 = self.Ar1
        lower = Ar1[:-1] if isinstance(Ar1, np.ndarray) else Ar1.toarray()[:-1]
        out[q1:, :q1] = lower
        out[:q1, q1:] = lower.T
        out[q1:, q1:] = self.Arr[:-1, :-1]
        c = self.conditioning
        if c is None or c.is_identity:
            return out
        maps = []
        for index, shape in enumerate(self.shapes):
            inverse = c.block_inverse(index)
            maps.append(
                sp.identity(shape.n_random_effects)
                if inverse is None
                else sp.kron(sp.identity(shape.n_levels), inverse)
            )
        maps.append(sp.csr_matrix(c.plain_fixed_map(self.p)))
        M = sp.block_diag(maps, format="csr")
        return np.asarray(M.T @ (M.T @ out).T)

    def with_response_part(
        self, ar1_y: np.ndarray, arr_y: np.ndarray, shift: np.ndarray | None = None
    ) -> SufficientStats:
        """A copy with the last row/column (the response's) of Ar1 and Arr replaced.

        ``shift``: the new response's shift (see :class:`Conditioning`), when conditioned.
        """
        arr = self.Arr.copy()
        arr[-1, :] = arr_y
        arr[:, -1] = arr_y
        if self.ar1_is_sparse:
            head = self.Ar1[:-1]
            ar1 = sp.vstack([head, sp.csr_matrix(ar1_y[None, :])], format="csr")
        else:
            ar1 = self.Ar1.copy()
            ar1[-1, :] = ar1_y
        conditioning = self.conditioning
        if conditioning is not None and shift is not None:
            conditioning = conditioning.with_shift(shift)
        return replace(self, Ar1=ar1, Arr=arr, conditioning=conditioning)


def random_effects_matrix(codes: np.ndarray, matrix: np.ndarray, n_levels: int) -> sp.csr_matrix:
    """Sparse Z of one block: row j holds ``matrix[j]`` in the columns of level ``codes[j]``."""
    n, size = matrix.shape
    cols = (codes[:, None] * size + np.arange(size)[None, :]).ravel()
    indptr = np.arange(0, n * size + 1, size)
    return sp.csr_matrix((matrix.ravel(), cols, indptr), shape=(n, n_levels * size))


def _ar1_storage(Ar1: Any) -> np.ndarray | sp.csr_matrix:
    """Ar1 dense when small or filled (:data:`DENSE_LIMIT`, :data:`DENSE_FILL`), else sorted CSR."""
    nnz = Ar1.nnz if sp.issparse(Ar1) else np.count_nonzero(Ar1)
    if Ar1.shape[0] * Ar1.shape[1] <= DENSE_LIMIT or nnz > DENSE_FILL * Ar1.shape[0] * Ar1.shape[1]:
        return Ar1.toarray() if sp.issparse(Ar1) else Ar1
    out = sp.csr_matrix(Ar1)
    out.sort_indices()
    return out


def per_level_crossproducts(codes: np.ndarray, matrix: np.ndarray, n_levels: int) -> np.ndarray:
    """``(n_levels, p, p)``: the sum of ``matrix[j]' matrix[j]`` over the rows of each level."""
    size = matrix.shape[1]
    out = np.empty((n_levels, size, size))
    for a in range(size):
        for b in range(a + 1):
            s = np.bincount(codes, weights=matrix[:, a] * matrix[:, b], minlength=n_levels)
            out[:, a, b] = s
            out[:, b, a] = s
    return out


def _xy_crossproduct(X: np.ndarray, y: np.ndarray) -> np.ndarray:
    """``[X y]'[X y]`` (no stacked copy).

    The response's part as :func:`response_statistics` forms it, so that a refit with the
    same response gives the same numbers.
    """
    p = X.shape[1]
    out = np.empty((p + 1, p + 1))
    out[:p, :p] = X.T @ X
    out[:p, p] = out[p, :p] = X.T @ y
    out[p, p] = float(y @ y)
    return out


def level_sums(
    codes: np.ndarray, matrix: np.ndarray, columns: Sequence[np.ndarray], n_levels: int
) -> np.ndarray:
    """``(k, n_levels * size)``: row j the sums of ``matrix[:, a] * columns[j]`` per level.

    ``columns' Z`` of one block, levels-major (level ``l``'s ``size`` entries together), one
    ``bincount`` per entry; the columns may be views (no stacked copy is made).
    """
    size = matrix.shape[1]
    out = np.empty((len(columns), n_levels, size))
    for j, column in enumerate(columns):
        for a in range(size):
            out[j, :, a] = np.bincount(codes, weights=matrix[:, a] * column, minlength=n_levels)
    return out.reshape(len(columns), n_levels * size)


MARKS_PER_ROW = 4
"""Key ranges up to this many keys per row (or 65,536) are factorised by marks, not a sort."""


def _factorize_keys(key: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
    """Per row the index of its key among the distinct keys, and those keys (ascending).

    Keys lie in ``[0, size)``; where that range is small next to the rows the keys present
    are marked in a byte array (no sort, linear in rows and range), otherwise ``np.unique``
    sorts them. The numbering does not change any sum: each pair's rows are summed in row
    order.
    """
    if size <= max(MARKS_PER_ROW * key.size, 1 << 16):
        present = np.zeros(size, dtype=bool)
        present[key] = True
        uniques = np.flatnonzero(present)
        number = np.zeros(size, dtype=np.int32 if uniques.size < 2**31 else np.int64)
        number[uniques] = np.arange(uniques.size, dtype=number.dtype)
        return number[key], uniques
    uniques, inverse = np.unique(key, return_inverse=True)
    return inverse.ravel(), uniques


def pair_block(block_a, block_b) -> sp.coo_matrix:
    """``Za' Zb`` of two ``(codes, matrix, n_levels)`` blocks, per co-occurring level pair.

    No duplicate entries; each pair's rows are summed in row order.
    """
    codes_a, za, levels_a = block_a
    codes_b, zb, levels_b = block_b
    key = codes_a.astype(np.int64) * levels_b + codes_b
    inverse, uniques = _factorize_keys(key, levels_a * levels_b)
    del key
    la, lb = uniques // levels_b, uniques % levels_b
    pa, pb = za.shape[1], zb.shape[1]
    rows, cols, vals = [], [], []
    for a in range(pa):
        for b in range(pb):
            rows.append(la * pa + a)
            cols.append(lb * pb + b)
            vals.append(np.bincount(inverse, weights=za[:, a] * zb[:, b], minlength=uniques.size))
    shape = (levels_a * pa, levels_b * pb)
    return sp.coo_matrix(
        (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=shape
    )


def compute_statistics(
    blocks: list[tuple[np.ndarray, np.ndarray, int]],
    X: np.ndarray,
    y: np.ndarray,
    weights: np.ndarray | None = None,
    conditioning: Conditioning | None = None,
) -> SufficientStats:
    """Compute the sufficient statistics of a model from its arrays.

    Every piece is a sum per level (or per pair of levels) over the rows, formed by
    ``bincount`` straight from the factor codes; no sparse Z, no stacked ``[X y]`` and no
    intermediate dense copy of ``Arr`` is made, so the memory beyond the inputs is a few
    vectors of length n plus the result.

    Parameters
    ----------
    blocks
        ``(codes, matrix, n_levels)`` for every engine block, the one with most levels first.
    X
        Fixed-effects model matrix, ``(n, p)``.
    y
        Response (offset already subtracted), ``(n,)``.
    weights
        Prior weights, ``(n,)``, or None.
    conditioning
        Centre the columns and shift the response by it before summing (see
        :mod:`mixedmodels.linalg.conditioning`); None sums the columns as given.

    Returns
    -------
    SufficientStats
    """
    if conditioning is not None:
        blocks = [
            (c, conditioning.block_columns(k, m), lev) for k, (c, m, lev) in enumerate(blocks)
        ]
        X = conditioning.fixed_columns(X)
        y = conditioning.response(X, y)
    n, p = X.shape
    sum_log_weights = 0.0
    if weights is not None:
        root = np.sqrt(weights)
        X = X * root[:, None]
        y = y * root
        blocks = [(c, m * root[:, None], k) for c, m, k in blocks]
        sum_log_weights = float(np.sum(np.log(weights)))
    columns = [X[:, c] for c in range(p)] + [y]  # views: no stacked [X y]
    codes1, matrix1, levels1 = blocks[0]

    def rest_sums(k: int) -> tuple[np.ndarray, np.ndarray]:
        codes, matrix, levels = blocks[k]
        return per_level_crossproducts(codes, matrix, levels), level_sums(
            codes, matrix, columns, levels
        )

    return assemble_statistics(
        n=n,
        sum_log_weights=sum_log_weights,
        shapes=tuple(BlockShape(k, m.shape[1]) for _, m, k in blocks),
        A11=per_level_crossproducts(codes1, matrix1, levels1),
        xy_z1=level_sums(codes1, matrix1, columns, levels1),
        xy_xy=_xy_crossproduct(X, y),
        rest_sums=rest_sums,
        pair=lambda k, j: pair_block(blocks[k], blocks[j]),
        conditioning=conditioning,
    )


def assemble_statistics(
    *,
    n: int,
    sum_log_weights: float,
    shapes: tuple[BlockShape, ...],
    A11: np.ndarray,
    xy_z1: np.ndarray,
    xy_xy: np.ndarray,
    rest_sums: Callable[[int], tuple[np.ndarray, np.ndarray]],
    pair: Callable[[int, int], Any],
    conditioning: Conditioning | None = None,
) -> SufficientStats:
    """The sufficient statistics laid out from their sums: one layout for every path.

    :func:`compute_statistics` passes the sums of the rows in memory, an out-of-core fit the
    sums accumulated chunk by chunk (:mod:`mixedmodels.sources.accumulate`).

    Parameters
    ----------
    n, sum_log_weights
        Number of observations and sum of the log prior weights.
    shapes
        Every engine block's shape, the first block first.
    A11
        ``(l1, p1, p1)``: the first block's per-level ``Z1'Z1``.
    xy_z1
        ``(p + 1, l1 * p1)``: ``[X y]' Z1``.
    xy_xy
        ``(p + 1, p + 1)``: ``[X y]'[X y]``.
    rest_sums
        ``rest_sums(k)`` for every other block ``k >= 1``: its per-level ``Zk'Zk``
        ``(lk, pk, pk)`` and ``[X y]' Zk`` ``(p + 1, lk * pk)``.
    pair
        ``pair(k, j)`` for ``j < k``: ``Zk' Zj``, a sparse matrix of level-major rows and
        columns without duplicate entries. Both callables are called once per block or pair,
        so a caller may form each only when asked.
    conditioning
        How the columns summed relate to the model's (see :class:`SufficientStats`).

    Returns
    -------
    SufficientStats
    """
    p = xy_xy.shape[0] - 1
    if len(shapes) == 1:
        return SufficientStats(
            n=n,
            p=p,
            sum_log_weights=sum_log_weights,
            shapes=shapes,
            A11=A11,
            Ar1=_ar1_storage(xy_z1),
            Arr=xy_xy,
            conditioning=conditioning,
        )
    offsets = np.concatenate([[0], np.cumsum([s.n_random_effects for s in shapes[1:]])])
    offsets = offsets.astype(np.int64)
    q_rest = int(offsets[-1])
    firsts = [pair(k, 0).tocsr() for k in range(1, len(shapes))]
    Ar1 = sp.vstack(firsts + [sp.csr_matrix(xy_z1)], format="csr")
    del firsts, xy_z1
    m = q_rest + p + 1
    Arr = np.zeros((m, m))
    for k in range(1, len(shapes)):
        a, b = offsets[k - 1], offsets[k]
        diag, z_xy = rest_sums(k)
        at = a + np.arange(shapes[k].n_random_effects).reshape(shapes[k].n_levels, shapes[k].size)
        Arr[at[:, :, None], at[:, None, :]] = diag
        Arr[a:b, q_rest:] = z_xy.T
        for j in range(1, k):
            block = pair(k, j).tocoo()
            c = offsets[j - 1]
            Arr[a + block.row, c + block.col] = block.data
            Arr[c + block.col, a + block.row] = block.data
    Arr[q_rest:, :q_rest] = Arr[:q_rest, q_rest:].T
    Arr[q_rest:, q_rest:] = xy_xy
    return SufficientStats(
        n=n,
        p=p,
        sum_log_weights=sum_log_weights,
        shapes=shapes,
        A11=A11,
        Ar1=_ar1_storage(Ar1),
        Arr=Arr,
        conditioning=conditioning,
    )


def response_statistics(
    blocks: list[tuple[np.ndarray, np.ndarray, int]],
    X: np.ndarray,
    y: np.ndarray,
    weights: np.ndarray | None = None,
    conditioning: Conditioning | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """The response's row of Ar1 and of Arr for a new y (everything else is unchanged).

    Used by refits (bootstrap, simulation, profiling): O(n) work, no rebuilding of A.
    ``conditioning``: as for :func:`compute_statistics` (its shift the new response's).
    """
    if conditioning is not None:
        blocks = [
            (c, conditioning.block_columns(k, m), lev) for k, (c, m, lev) in enumerate(blocks)
        ]
        X = conditioning.fixed_columns(X)
        y = conditioning.response(X, y)
    if weights is not None:
        root = np.sqrt(weights)
        X = X * root[:, None]
        y = y * root
        blocks = [(c, m * root[:, None], k) for c, m, k in blocks]

    ar1_y = level_sums(blocks[0][0], blocks[0][1], [y], blocks[0][2])[0]
    parts = [level_sums(codes, matrix, [y], levels)[0] for codes, matrix, levels in blocks[1:]]
    parts.append(X.T @ y)
    parts.append(np.array([y @ y]))
    return ar1_y, np.concatenate(parts)
