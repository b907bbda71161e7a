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
column after a term's or X's intercept (a column of ones) whose mean exceeds its standard
deviation centred at its weighted mean (in random-effect terms only those whose covariance
is unstructured, where the optimiser's own column scaling centres too), and ``s`` by least
squares (normal equations of the weighted X). The in-memory
fit applies it to all rows, a refit recomputes ``s`` for the new response by the same routine,
and an out-of-core fit applies it to the first pass's sample of rows and then to every chunk.
:class:`Conditioning` maps everything back: lambdas to the engine's columns, and the rows of
the Cholesky factor and the fixed effects to the model's.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import cached_property

import numpy as np
import scipy.linalg as sla
from scipy.linalg import lapack

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
        out = X_engine @ self.shift
        np.subtract(y, out, out=out)  # one vector of length n, not two
        return out

    # -- maps between the two ------------------------------------------------------------
    def block_inverse(self, k: int) -> np.ndarray | None:
        """``C_k^-1`` (``lambda`` of the engine's columns is ``C_k^-1 lambda``), or None."""
        return self._block_inverses[k]

    @cached_property
    def _block_inverses(self) -> tuple[np.ndarray | None, ...]:
        out: list[np.ndarray | None] = []
        for centres, intercept in zip(self.block_centres, self.block_intercepts, strict=True):
            if centres is None:
                out.append(None)
                continue
            inverse = np.eye(centres.size)
            inverse[intercept, :] += centres
            inverse.flags.writeable = False
            out.append(inverse)
        return tuple(out)

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

    def plain_fixed_rows(self, rows: np.ndarray, q_rest: int, p: int) -> None:
        """Rows ``q_rest:q_rest + p`` of ``rows`` made the model's, in place.

        ``X~' M`` of the engine's X becomes ``X' M = T^-T X~' M``: each centred row gains its
        centre times the intercept's row.
        """
        if self.x_centres is None:
            return
        X_rows = rows[q_rest : q_rest + p]
        X_rows += np.outer(self.x_centres, X_rows[self.x_intercept])

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
        column = matrix[:, j]
        if column.size and column[0] == 1.0 and np.all(column == 1.0):
            return j
    return -1


def _weighted_gram(matrix: np.ndarray, weights: np.ndarray | None) -> np.ndarray:
    """``M'WM`` by one BLAS product."""
    if weights is None:
        return matrix.T @ matrix
    return (matrix.T * weights) @ matrix


def _centres(
    matrix: np.ndarray,
    centred: np.ndarray,
    weights: np.ndarray | None,
    gram: np.ndarray | None = None,
) -> tuple[np.ndarray | None, int]:
    """Centres of the columns flagged in ``centred`` after the column of ones, and its index.

    A column is centred when its (weighted) mean exceeds its standard deviation: sums of its
    squares then lose ``log10(1 + mean^2 / sd^2)`` digits, less than one otherwise, where a
    centred copy of the column would cost memory for nothing. Means and mean squares come
    from ``gram = M'WM`` (the column of ones' row holds the sums; computed when not given):
    ``|mean| > sd`` is ``2 mean^2 > mean square``, a comparison of two positive numbers
    that no cancellation spoils.
    """
    if matrix.shape[1] < 2 or matrix.shape[0] == 0:  # no column beside an intercept
        return None, -1
    intercept = _ones_column(matrix)
    if intercept < 0 or intercept == matrix.shape[1] - 1:
        return None, -1
    flags = np.array(centred, dtype=bool)
    flags[: intercept + 1] = False
    if not flags.any():
        return None, -1
    if gram is None:
        gram = _weighted_gram(matrix, weights)
    total = float(gram[intercept, intercept])
    if not total > 0.0:
        return None, -1
    means = gram[intercept] / total
    flags &= 2.0 * means * means > gram.diagonal() / total
    if not flags.any():
        return None, -1
    return np.where(flags, means, 0.0), intercept


def least_squares_shift(
    conditioning: Conditioning,
    X: np.ndarray,
    y: np.ndarray,
    weights: np.ndarray | None,
    gram: np.ndarray | None = None,
) -> np.ndarray:
    """The engine's response shift: weighted least squares of ``y`` on the model's ``X``.

    In the centred columns' coordinates (``T^-1 b``).

    From the normal equations (``X'WX`` by one BLAS product, no copy of X): any shift leaves
    the objective exact, it only has to take most of ``X b`` out of ``y``, and the rounding
    of ``X'WX`` costs that nothing. A column that the earlier ones span (the Cholesky
    factor's diagonal below :data:`RANK_TOLERANCE` of the column's norm, the design's rule
    for aliased columns) gets no coefficient: a sample in which a column happens to be a
    combination of earlier ones (an out-of-core fit's first rows) never shifts along a
    column the full data will drop. ``gram``: ``X'WX`` when the caller has it.
    """
    n, p = X.shape
    b = np.zeros(p)
    if p == 0 or n == 0:
        return b
    if gram is None:
        gram = _weighted_gram(X, weights)
    rhs = X.T @ (y if weights is None else weights * y)
    factor, info = lapack.dpotrf(gram, lower=1, clean=1)
    pivots = factor.diagonal()
    if info == 0 and (pivots * pivots > RANK_TOLERANCE**2 * gram.diagonal()).all():
        b, info = lapack.dpotrs(factor, rhs, lower=1)  # every column independent: one solve
        if info == 0:
            return _in_centred_columns(conditioning, b)
        b = np.zeros(p)
    kept: list[int] = []
    factor = np.zeros((0, 0))
    for j in range(p):  # Cholesky column by column, skipping dependent columns
        g = gram[j, j]
        if not g > 0.0:
            continue
        r = sla.solve_triangular(factor, gram[kept, j], lower=True) if kept else np.zeros(0)
        d = g - float(r @ r)
        if not d > (RANK_TOLERANCE**2) * g:
            continue
        grown = np.zeros((len(kept) + 1, len(kept) + 1))
        grown[:-1, :-1] = factor
        grown[-1, :-1] = r
        grown[-1, -1] = np.sqrt(d)
        factor = grown
        kept.append(j)
    if kept:
        b[kept] = sla.cho_solve((factor, True), rhs[kept])
    return _in_centred_columns(conditioning, b)


def _in_centred_columns(conditioning: Conditioning, b: np.ndarray) -> np.ndarray:
    """``T^-1 b``: coefficients of the model's X as those of the centred columns."""
    if conditioning.x_centres is None:  # T = I
        return np.array(b, dtype=float)
    return conditioning.plain_fixed_map(b.size) @ b


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
    gram = _weighted_gram(X, weights) if X.shape[0] and X.shape[1] else None
    x_centres, x_intercept = _centres(X, np.ones(X.shape[1], dtype=bool), weights, gram)
    base = Conditioning(
        block_centres=tuple(block_centres),
        block_intercepts=tuple(block_intercepts),
        x_centres=x_centres,
        x_intercept=x_intercept,
        shift=np.zeros(X.shape[1]),
    )
    return base.with_shift(least_squares_shift(base, X, y, weights, gram))
