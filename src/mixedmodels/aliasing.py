"""Aliased fixed-effect columns: which to drop, as lme4's rank check.

Also the test that the fixed effects fit the response exactly (no residual variation left).
"""

from __future__ import annotations

import contextlib
import math
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from mixedmodels.design import Design

RANK_TOLERANCE = 1e-7


CLEAR_RESIDUAL = 1e-2  # relative residual norms above which no column can be aliased


SMALL_X = 50_000  # entries of X below which the rank check runs without a BLAS thread limit


def fixed_effects_fit_exactly(design: Design) -> bool:
    """Whether the fixed effects alone reproduce the (working) response to rounding.

    Then the residual sum of squares is zero at every theta and the criterion is not finite
    (or is rounding noise); called only when a fit fails or ends with a vanishing sigma.
    """
    y = design.y if design.offset is None else design.y - design.offset
    X = design.X
    if design.weights is not None:
        root = np.sqrt(design.weights)
        y, X = y * root, X * root[:, None]
    if X.shape[1] == 0:
        return False
    beta = np.linalg.lstsq(X, y, rcond=None)[0]
    residual = float(np.linalg.norm(y - X @ beta))
    return residual <= 1e-10 * max(float(np.linalg.norm(y - y.mean())), float(np.abs(y).max()))


def clearly_full_rank(X: np.ndarray) -> bool:
    """Whether every column of X is far from the span of the earlier ones (no n-length copies).

    The Cholesky factor of the column-normalised ``X'X`` holds on its diagonal each column's
    residual norm after projection on the earlier columns, relative to its own norm. When all
    exceed :data:`CLEAR_RESIDUAL`, orders of magnitude above :data:`RANK_TOLERANCE` and the
    rounding of the cross-product, :func:`drop_aliased` would keep every column, so its
    Gram-Schmidt pass (with an ``(p, n)`` basis and n-length temporaries) is skipped.
    """
    if X.shape[1] == 0:
        return True
    gram = X.T @ X
    scale = np.sqrt(np.diag(gram))
    if not np.all(scale > 0.0) or not np.all(np.isfinite(scale)):
        return False
    try:
        L = np.linalg.cholesky(gram / np.outer(scale, scale))
    except np.linalg.LinAlgError:
        return False
    return bool(np.all(np.diag(L) > CLEAR_RESIDUAL))


def drop_aliased(X: np.ndarray, names: tuple[str, ...]) -> np.ndarray:
    """Indices of columns to keep: a column is dropped when earlier kept ones span it."""
    from mixedmodels.linalg.threads import blas_limit

    if X.size >= SMALL_X and clearly_full_rank(X):
        return np.arange(X.shape[1], dtype=np.intp)
    keep: list[int] = []
    basis = np.empty((X.shape[1], X.shape[0]))  # orthonormal rows, preallocated
    k = 0
    # long thin products: threads only add overhead; below SMALL_X BLAS uses one thread anyway
    # and limiting it would cost more than the products
    limit = blas_limit(0) if X.size >= SMALL_X else contextlib.nullcontext()
    with limit:
        for j in range(X.shape[1]):
            col = np.ascontiguousarray(X[:, j])
            norm = math.sqrt(col @ col)  # np.linalg.norm's own formula, without its checks
            if norm == 0.0:
                continue
            resid = col
            if k:
                B = basis[:k]
                resid = col - (B @ col) @ B
                resid = resid - (B @ resid) @ B
            size = math.sqrt(resid @ resid)
            if size > RANK_TOLERANCE * norm:
                basis[k] = resid / size
                k += 1
                keep.append(j)
    return np.array(keep, dtype=np.intp)
