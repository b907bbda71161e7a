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

from dataclasses import dataclass, replace
from functools import cached_property

import numpy as np
import scipy.sparse as sp

__all__ = [
    "BlockShape",
    "SufficientStats",
    "compute_statistics",
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
    """

    n: int
    p: int
    sum_log_weights: float
    shapes: tuple[BlockShape, ...]
    A11: np.ndarray
    Ar1: np.ndarray | sp.csr_matrix
    Arr: np.ndarray

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
    def _workspace(self):
        """Private precomputed structure and scratch space for fast evaluations (lazy)."""
        from mixedmodels.linalg.workspace import Workspace

        return Workspace(self)

    def with_response_part(self, ar1_y: np.ndarray, arr_y: np.ndarray) -> SufficientStats:
        """A copy with the last row/column (the response's) of Ar1 and Arr replaced."""
        arr = self.Arr.copy()
        arr[-1, :] = arr_y
        arr[:, -1] = arr_y
        if self.ar1_is_sparse:
            head = self.Ar1[:-1]
            ar1 = sp.vstack([head, sp.csr_matrix(ar1_y[None, :])], format="csr")
        else:
            ar1 = self.Ar1.copy()
            ar1[-1, :] = ar1_y
        out = replace(self, Ar1=ar1, Arr=arr)
        if "_workspace" in self.__dict__:  # reuse the pattern: only the response row changes
            out.__dict__["_workspace"] = self._workspace.with_response(out, ar1_y)
        return out


def random_effects_matrix(codes: np.ndarray, matrix: np.ndarray, n_levels: int) -> sp.csr_matrix:
    """Sparse Z of one block: row j holds ``matrix[j]`` in the columns of level ``codes[j]``."""
    n, size = matrix.shape
    cols = (codes[:, None] * size + np.arange(size)[None, :]).ravel()
    indptr = np.arange(0, n * size + 1, size)
    return sp.csr_matrix((matrix.ravel(), cols, indptr), shape=(n, n_levels * size))


def _ar1_storage(Ar1: np.ndarray | sp.csr_matrix) -> np.ndarray | sp.csr_matrix:
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


def _xy_crossproduct(XY: np.ndarray) -> np.ndarray:
    """``[X y]'[X y]`` with the response's column summed around its mean.

    A response with a large mean makes ``y'y`` and ``X'y`` large numbers whose rounding
    errors survive into the tiny penalised residual sum of squares; summing ``y - c`` and
    adding ``c`` times exact-ish totals back keeps them within an ulp or two.
    """
    out = XY.T @ XY
    y = XY[:, -1]
    c = float(np.mean(y))
    yc = y - c
    out[:-1, -1] = out[-1, :-1] = XY[:, :-1].T @ yc + c * XY[:, :-1].sum(axis=0)
    out[-1, -1] = float(yc @ yc) + c * (2.0 * float(yc.sum()) + y.size * c)
    return out


def compute_statistics(
    blocks: list[tuple[np.ndarray, np.ndarray, int]],
    X: np.ndarray,
    y: np.ndarray,
    weights: np.ndarray | None = None,
) -> SufficientStats:
    """Compute the sufficient statistics of a model from its arrays.

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

    Returns
    -------
    SufficientStats
    """
    n = X.shape[0]
    sum_log_weights = 0.0
    if weights is not None:
        root = np.sqrt(weights)
        X = X * root[:, None]
        y = y * root
        blocks = [(c, m * root[:, None], k) for c, m, k in blocks]
        sum_log_weights = float(np.sum(np.log(weights)))
    codes1, matrix1, levels1 = blocks[0]
    shapes = tuple(BlockShape(k, m.shape[1]) for _, m, k in blocks)
    A11 = per_level_crossproducts(codes1, matrix1, levels1)
    if len(blocks) == 1 and (X.shape[1] + 1) * matrix1.shape[1] <= 64:
        # one grouping factor: Ar1 = [X y]' Z1 is dense, by per-level sums (no sparse algebra)
        XY = np.column_stack([X, y])
        size = matrix1.shape[1]
        Ar1 = np.empty((XY.shape[1], levels1 * size))
        for c in range(XY.shape[1]):
            for a in range(size):
                Ar1[c, a::size] = np.bincount(
                    codes1, weights=XY[:, c] * matrix1[:, a], minlength=levels1
                )
        return SufficientStats(
            n=n,
            p=X.shape[1],
            sum_log_weights=sum_log_weights,
            shapes=shapes,
            A11=A11,
            Ar1=_ar1_storage(Ar1),
            Arr=np.ascontiguousarray(_xy_crossproduct(XY)),
        )
    Z1 = random_effects_matrix(codes1, matrix1, levels1)
    rest_Z = [random_effects_matrix(c, m, k) for c, m, k in blocks[1:]]
    XY = np.column_stack([X, y])
    Zr = sp.hstack(rest_Z, format="csr") if rest_Z else None
    R = sp.hstack([Zr, sp.csr_matrix(XY)], format="csr") if Zr is not None else sp.csr_matrix(XY)
    Ar1 = _ar1_storage((R.T @ Z1).tocsr())
    if Zr is not None:
        ZrZr = (Zr.T @ Zr).toarray()
        ZrXY = np.asarray(Zr.T @ XY)
        c = float(np.mean(y))
        ZrXY[:, -1] = np.asarray(Zr.T @ (y - c)).ravel() + c * np.asarray(Zr.sum(axis=0)).ravel()
        Arr = np.block([[ZrZr, ZrXY], [ZrXY.T, _xy_crossproduct(XY)]])
    else:
        Arr = _xy_crossproduct(XY)
    return SufficientStats(
        n=n,
        p=X.shape[1],
        sum_log_weights=sum_log_weights,
        shapes=shapes,
        A11=A11,
        Ar1=Ar1,
        Arr=np.ascontiguousarray(Arr),
    )


def response_statistics(
    blocks: list[tuple[np.ndarray, np.ndarray, int]],
    X: np.ndarray,
    y: np.ndarray,
    weights: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """The response's row of Ar1 and of Arr for a new y (everything else is unchanged).

    Used by refits (bootstrap, simulation, profiling): O(n) work, no rebuilding of A.
    """
    if weights is not None:
        root = np.sqrt(weights)
        X = X * root[:, None]
        y = y * root
        blocks = [(c, m * root[:, None], k) for c, m, k in blocks]

    def z_cross(codes, matrix, levels):
        size = matrix.shape[1]
        out = np.empty((levels, size))
        for a in range(size):
            out[:, a] = np.bincount(codes, weights=matrix[:, a] * y, minlength=levels)
        return out.ravel()

    ar1_y = z_cross(*blocks[0])
    parts = [z_cross(*b) for b in blocks[1:]]
    parts.append(X.T @ y)
    parts.append(np.array([y @ y]))
    return ar1_y, np.concatenate(parts)
