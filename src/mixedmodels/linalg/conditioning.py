"""Centring: the engine sums ``[Z C, X T, y - X T s]``, not ``[Z X y]``, to keep its digits.

The profiled objective does not change when

* a column of a random-effect term is centred against the term's intercept (``Z -> Z C``,
  ``lambda -> C^-1 lambda``: the same ``Lambda' Z' Z Lambda``);
* a column of X is centred against X's intercept (``X -> X T``, ``beta -> T^-1 beta``;
  ``T`` is unit triangular, so ``log|R_X|`` is kept too);
* a combination of X's columns is taken from the response (``y -> y - X T s``,
  ``beta~ -> beta~ - s``).

But its floating-point value does. Sums of products of a covariate at 1e4 + N(0, 1), or of a
response at 1e6 + N(0, 1), are numbers whose rounding (an ulp of ``y'y`` is 0.06 for 300
rows at 1e6) survives into the small differences the objective is made of: the penalised
residual sum of squares, the Schur complement of X. With centred columns and ``s`` the least
squares fit of the response on X, those differences are formed from small numbers.

One rule, :func:`choose_conditioning`, fixes ``C``, ``T`` and ``s`` from the rows at hand: every
column after a term's or X's intercept (a column of ones) centred at its weighted mean (only
in terms whose covariance is unstructured, where the optimiser's own column scaling centres
too), and ``s`` by least squares (a QR decomposition of the weighted, centred X). The in-memory
fit applies it to all rows, a refit recomputes ``s`` for the new response by the same routine,
and an out-of-core fit applies it to the first pass's sample of rows and then to every chunk.
:class:`Conditioning` maps everything back: lambdas to the engine's columns, and the rows of
the Cholesky factor and the fixed effects to the model's.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import scipy.linalg as sla

__all__ = ["Conditioning", "choose_conditioning", "least_squares_shift", "RANK_TOLERANCE"]

RANK_TOLERANCE = 1e-7
"""A column of X whose part outside the earlier columns is below this of its norm gets no
response shift (the design's rule for dropping aliased columns)."""


@dataclass(frozen=True, eq=False)
class Conditioning:
    """How the engine's columns relate to the model's (see the module docstring).

    Attributes
    ----------
    block_centres
        Per engine block, the centre subtracted from each column (times the block's intercept
        column), or None when the block is summed as it is.
    block_intercepts
        Per engine block, the index of its column of ones (-1: none).
    x_centres
        ``(p,)`` centres of X's columns (0 where not centred), or None.
    x_intercept
        Index of X's column of ones (-1: none).
    shift
        ``(p,)`` the response summed is ``y - X~ shift`` (``X~`` the centred X).
    """

    block_centres: tuple[np.ndarray | None, ...]
    block_intercepts: tuple[int, ...]
    x_centres: np.ndarray | None
    x_intercept: int
    shift: np.ndarray

    # -- the columns --------------------------------------------------------------------
    def block_columns(self, k: int, matrix: np.ndarray) -> np.ndarray:
        """Block ``k``'s engine columns ``Z C`` from its model columns ``Z``."""
        centres = self.block_centres[k]
        if centres is None:
            return matrix
        i = self.block_intercepts[k]
        return matrix - matrix[:, i : i + 1] * centres[None, :]

    def fixed_columns(self, X: np.ndarray) -> np.ndarray:
        """The engine's ``X~ = X T`` from X."""
        if self.x_centres is None:
            return X
        i = self.x_intercept
        return X - X[:, i : i + 1] * self.x_centres[None, :]

    def response(self, X_engine: np.ndarray, y: np.ndarray) -> np.ndarray:
        """The engine's response ``y - X~ shift`` (``y`` with any offset already removed)."""
        if not np.any(self.shift):
            return y
        return y - X_engine @ self.shift

    # -- maps between the two ------------------------------------------------------------
    def block_inverse(self, k: int) -> np.ndarray | None:
        """``C_k^-1`` (``lambda`` of the engine's columns is ``C_k^-1 lambda``), or None."""
        centres = self.block_centres[k]
        if centres is None:
            return None
        out = np.eye(centres.size)
        out[self.block_intercepts[k], :] += centres
        return out

    def engine_lambda(self, k: int, lam: np.ndarray) -> np.ndarray:
        """The lambda of block ``k``'s engine columns for the model's ``lam``."""
        inverse = self.block_inverse(k)
        return lam if inverse is None else inverse @ lam

    def plain_rows(self, Lrr: np.ndarray, q_rest: int, p: int, extra: np.ndarray | None) -> None:
        """The rest's factor of the engine's columns made the model's, in place.

        The model's rest columns are the engine's times ``N`` (upper triangular with a unit
        diagonal), so its factor is ``N' L``: the response's row gains ``(shift + extra)'``
        times the X rows, and each centred X row its centre times the intercept's row.
        ``extra``: a further shift already taken from the response (the workspace's).
        """
        total = self.shift if extra is None else self.shift + extra
        X_rows = Lrr[q_rest : q_rest + p, :-1]
        Lrr[-1, :-1] += total @ X_rows
        if self.x_centres is not None:
            i = self.x_intercept
            Lrr[q_rest : q_rest + p, :-1] += np.outer(self.x_centres, X_rows[i])

    def plain_fixed_map(self, p: int) -> np.ndarray:
        """``T^-1`` (``p x p``): the model's X is the engine's times it."""
        out = np.eye(p)
        if self.x_centres is not None:
            out[self.x_intercept, :] += self.x_centres
        return out

    def engine_beta(self, beta: np.ndarray) -> np.ndarray:
        """``beta~ = T^-1 beta - shift``: the fixed effects of the engine's columns."""
        out = np.array(beta, dtype=float)
        if self.x_centres is not None:
            out[self.x_intercept] += self.x_centres @ beta
        return out - self.shift

    # -- variants ------------------------------------------------------------------------
    def with_shift(self, shift: np.ndarray) -> Conditioning:
        """The same columns with another response shift (a refit)."""
        return replace(self, shift=np.asarray(shift, dtype=float))

    def kept(self, columns: np.ndarray) -> Conditioning:
        """Restricted to the fixed-effect ``columns`` kept (aliased ones dropped).

        The shift must not use a dropped column (see :func:`choose_conditioning`).
        """
        columns = np.asarray(columns, dtype=np.intp)
        dropped = np.setdiff1d(np.arange(self.shift.size), columns)
        if np.any(self.shift[dropped]):
            raise ValueError("the response shift uses a dropped column")
        intercept = self.x_intercept
        if intercept >= 0:
            where = np.flatnonzero(columns == intercept)
            intercept = int(where[0]) if where.size else -1
        centres = None
        if self.x_centres is not None and intercept >= 0:
            centres = self.x_centres[columns]
        return replace(
            self, x_centres=centres, x_intercept=intercept, shift=self.shift[columns].copy()
        )

    def plain_fixed(self, p: int) -> Conditioning:
        """The random-effect columns as here, X and y as the model's (``p`` columns)."""
        return replace(self, x_centres=None, x_intercept=-1, shift=np.zeros(p))

    @property
    def is_identity(self) -> bool:
        """Whether the engine's columns are the model's."""
        return (
            all(c is None for c in self.block_centres)
            and self.x_centres is None
            and not np.any(self.shift)
        )


def _ones_column(matrix: np.ndarray) -> int:
    for j in range(matrix.shape[1]):
        if np.all(matrix[:, j] == 1.0):
            return j
    return -1


def _weighted_mean(column: np.ndarray, weights: np.ndarray | None) -> float:
    if weights is None:
        return float(np.mean(column))
    return float(np.sum(weights * column) / np.sum(weights))


def _centres(
    matrix: np.ndarray, centred: np.ndarray, weights: np.ndarray | None
) -> tuple[np.ndarray | None, int]:
    """Centres of the columns flagged in ``centred`` after the column of ones, and its index."""
    intercept = _ones_column(matrix)
    if intercept < 0 or matrix.shape[0] == 0:
        return None, -1
    out = np.zeros(matrix.shape[1])
    for j in range(intercept + 1, matrix.shape[1]):
        if centred[j]:
            out[j] = _weighted_mean(matrix[:, j], weights)
    if not np.any(out):
        return None, -1
    return out, intercept


def least_squares_shift(
    X_engine: np.ndarray, y: np.ndarray, weights: np.ndarray | None
) -> np.ndarray:
    """Least-squares coefficients of ``y`` on the (centred) X, weighted, by QR decomposition.

    A column that the earlier ones span in these rows (its diagonal entry of R below
    :data:`RANK_TOLERANCE` of its norm) gets no coefficient, as the design drops aliased
    columns: so a sample in which a column happens to be a combination of earlier ones (an
    out-of-core fit's first rows) never shifts along a column the full data will drop.
    """
    n, p = X_engine.shape
    out = np.zeros(p)
    if p == 0 or n == 0:
        return out
    if weights is not None:
        root = np.sqrt(weights)
        A, b = X_engine * root[:, None], y * root
    else:
        A, b = X_engine, y
    norms = np.sqrt(np.einsum("ij,ij->j", A, A))
    r = sla.qr(A, mode="r")[0]
    k = min(n, p)  # |R_jj|: the norm of column j's part outside the earlier columns
    independent = np.zeros(p, dtype=bool)
    independent[:k] = np.abs(np.diag(r)[:k]) > RANK_TOLERANCE * norms[:k]
    independent &= norms > 0.0
    if not np.any(independent):
        return out
    q, r = sla.qr(A[:, independent], mode="economic")
    out[independent] = sla.solve_triangular(r, q.T @ b)
    return out


def choose_conditioning(
    blocks: list[tuple[np.ndarray, np.ndarray, int]],
    X: np.ndarray,
    y: np.ndarray,
    weights: np.ndarray | None,
    centred: list[np.ndarray],
) -> Conditioning:
    """The centring rule (module docstring) applied to these rows.

    Parameters
    ----------
    blocks
        ``(codes, matrix, n_levels)`` per engine block (the model's columns).
    X, y, weights
        Fixed-effects matrix, response with any offset removed, prior weights or None.
    centred
        Per block, which of its columns may be centred (columns of unstructured terms).
    """
    block_centres, block_intercepts = [], []
    for (_, matrix, _), flags in zip(blocks, centred, strict=True):
        centres, intercept = _centres(matrix, np.asarray(flags, dtype=bool), weights)
        block_centres.append(centres)
        block_intercepts.append(intercept)
    x_centres, x_intercept = _centres(X, np.ones(X.shape[1], dtype=bool), weights)
    base = Conditioning(
        block_centres=tuple(block_centres),
        block_intercepts=tuple(block_intercepts),
        x_centres=x_centres,
        x_intercept=x_intercept,
        shift=np.zeros(X.shape[1]),
    )
    X_engine = base.fixed_columns(X)
    return base.with_shift(least_squares_shift(X_engine, y, weights))
