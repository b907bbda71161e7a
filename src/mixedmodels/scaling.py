"""Internal rescaling of random-effect columns, so the optimiser sees a well-scaled theta.

A covariate with a large offset or scale (Sitka's Time, 152...258 days) makes theta badly
conditioned: a random slope's SD is tiny next to the intercept's and their correlation is
driven by the offset. The model is equivariant under ``Z_i -> Z_i T`` for an unstructured term
(``b = T b~``, so ``lambda lambda' = T lambda~ lambda~' T'``), so we optimise over lambda~ of
centred and scaled columns and map back exactly, re-triangularising by a QR decomposition.
Single-column terms (including each piece of ``(x || g)``) are only scaled.

Structured terms (:mod:`mixedmodels.covariance`) are equivariant under less: ``diag``, ``cs``
and ``toep`` under scaling each column (``T`` diagonal), ``homdiag``, ``homcs`` and ``ar1``
under one common scale (``T = t I``, ``t`` from the root mean square of all the term's
columns). There theta maps back by scaling its standard deviations, the correlations
unchanged, and ``T lambda~`` is the lambda of the mapped-back theta.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from mixedmodels.terms import ReBlock, ReTerm

__all__ = [
    "ColumnSummary",
    "ThetaScaling",
    "lower_factor",
    "make_scaling",
    "scaling_from_summaries",
    "FAR_FROM_UNIT",
]

FAR_FROM_UNIT = 100.0
"""A variance ratio (of the scaled columns) this many times the unit's calls for a new unit."""


@dataclass(frozen=True, eq=False)
class ThetaScaling:
    """Per-term column transforms ``T`` (``Z~ = Z T``) and the maps between theta spaces."""

    terms: tuple[ReTerm, ...]
    transforms: tuple[np.ndarray, ...]

    @cached_property
    def _positions(self) -> tuple[tuple[np.ndarray, np.ndarray, slice, int] | None, ...]:
        """Per term: rows and columns of its theta entries, its slice of theta, its size.

        None for a structured term, whose standard deviations are scaled instead.
        """
        out: list[tuple[np.ndarray, np.ndarray, slice, int] | None] = []
        for term in self.terms:
            if term.structured:
                out.append(None)
                continue
            rows, cols = term.theta_positions()
            sl = slice(term.theta_offset, term.theta_offset + term.n_theta)
            out.append((rows, cols, sl, term.size))
        return tuple(out)

    def _map(self, theta: np.ndarray, forward: bool) -> np.ndarray:
        out = np.empty_like(theta, dtype=float)
        for term, positions, T in zip(self.terms, self._positions, self.transforms):
            if positions is None:
                factors = np.diag(T) if forward else 1.0 / np.diag(T)
                out[term.theta_slice] = term.covariance.rescale(theta[term.theta_slice], factors)
                continue
            rows, cols, sl, size = positions
            lam = np.zeros((size, size))
            lam[rows, cols] = theta[sl]
            mapped = (T @ lam) if forward else np.linalg.solve(T, lam)
            out[sl] = lower_factor(mapped)[rows, cols]
        return out

    def to_theta(self, scaled: np.ndarray) -> np.ndarray:
        """Theta of the original columns from theta of the scaled columns."""
        return self._map(np.asarray(scaled, dtype=float), forward=True)

    def to_scaled(self, theta: np.ndarray) -> np.ndarray:
        """Theta of the scaled columns from theta of the original columns."""
        return self._map(np.asarray(theta, dtype=float), forward=False)

    def relative_to(self, scaled: np.ndarray) -> ThetaScaling:
        """The scaling whose unit is the covariance ``scaled`` says, where that is far from 1.

        A term whose ``Sigma = lambda lambda'`` (``lambda`` from ``scaled``, theta of these
        scaled columns) has an eigenvalue above :data:`FAR_FROM_UNIT` gets its columns further
        transformed by ``W`` with ``W W' = Sigma + I``: its variance ratios become about 1.
        The objective's curvature per unit of theta falls as the square of a large theta (a
        ratio of 1000 leaves a millionth), so without this the optimiser works in units that
        are rounding for the objective. Other terms are left as they are (``self`` when no
        term is far from the unit).
        """
        scaled = np.asarray(scaled, dtype=float)
        transforms, changed = [], False
        for positions, T in zip(self._positions, self.transforms):
            if positions is None:  # a structured term: its scaling stays
                transforms.append(T)
                continue
            rows, cols, sl, size = positions
            if _clearly_near(scaled[sl]):
                transforms.append(T)
                continue
            cov = _covariance(scaled[sl], rows, cols, size)
            if _largest_eigenvalue(cov) > FAR_FROM_UNIT:
                transforms.append(T @ np.linalg.cholesky(cov + np.eye(size)))
                changed = True
            else:
                transforms.append(T)
        if not changed:
            return self
        return ThetaScaling(terms=self.terms, transforms=tuple(transforms))

    def far_from_unit(self, scaled: np.ndarray) -> bool:
        """Whether some term's ``lambda lambda'`` has an eigenvalue above the limit.

        The limit is :data:`FAR_FROM_UNIT` (theta ``scaled``): a standard deviation ten times
        this scaling's unit.
        """
        scaled = np.asarray(scaled, dtype=float)
        return any(
            not _clearly_near(scaled[sl])
            and _largest_eigenvalue(_covariance(scaled[sl], rows, cols, size)) > FAR_FROM_UNIT
            for rows, cols, sl, size in filter(None, self._positions)
        )


_NEAR = FAR_FROM_UNIT * (1.0 - 1e-9)
"""Below this sum of squares a term's largest eigenvalue is not above :data:`FAR_FROM_UNIT`,
whatever the rounding (the margin is a million times the rounding of the trace)."""


def _clearly_near(entries: np.ndarray) -> bool:
    """Whether ``lambda lambda'`` of these theta entries is surely within the unit's range.

    Its trace is the sum of squares of the entries and bounds its largest eigenvalue: below
    :data:`_NEAR` the matrix need not be formed (the common case, decided the same way).
    """
    return float(np.dot(entries, entries)) < _NEAR


def _covariance(entries: np.ndarray, rows, cols, size: int) -> np.ndarray:
    lam = np.zeros((size, size))
    lam[rows, cols] = entries
    return lam @ lam.T


def _largest_eigenvalue(cov: np.ndarray) -> float:
    """The largest eigenvalue of a covariance matrix (its trace when that is small already)."""
    trace = float(np.trace(cov))
    if trace <= FAR_FROM_UNIT or cov.shape[0] == 1:
        return trace
    return float(np.linalg.eigvalsh(cov)[-1])


def lower_factor(a: np.ndarray) -> np.ndarray:
    """Lower-triangular ``l`` with non-negative diagonal and ``l l' = a a'``."""
    if a.shape[0] == 1:
        return np.abs(a)
    if a.shape[0] == 2:  # one Givens rotation of a': no LAPACK call for the common 2 x 2
        (a11, a12), (a21, a22) = a.tolist()
        rho = math.hypot(a11, a12)
        if rho > 0.0:
            c, s = a11 / rho, a12 / rho
            return np.array([[rho, 0.0], [c * a21 + s * a22, abs(c * a22 - s * a21)]])
    r = np.asarray(np.linalg.qr(a.T, mode="r"))  # mode="r": the array R itself
    lower = r.T
    signs = np.where(np.diag(lower) < 0, -1.0, 1.0)
    return lower * signs[None, :]


@dataclass(frozen=True, eq=False)
class ColumnSummary:
    """What the scaling reads of one term's columns over the rows used, and nothing more.

    Attributes
    ----------
    mean, sd, rms
        Per column: mean, standard deviation (population) and root mean square.
    constant
        Per column: whether it takes one value on every row.
    first
        Per column: its value on the first row (a constant column's value).
    rms_all
        Root mean square of every entry (a ``common`` structured scale).

    :meth:`of` reads a matrix of rows; :meth:`from_moments` takes the counts and moments an
    out-of-core fit streamed, so both fits scale alike without the rows.
    """

    mean: np.ndarray
    sd: np.ndarray
    rms: np.ndarray
    constant: np.ndarray
    first: np.ndarray
    rms_all: float

    @classmethod
    def of(cls, matrix: np.ndarray, structured: bool = False) -> ColumnSummary:
        """The summary of a term's columns (``structured``: per-column rms as one reduction)."""
        n, k = matrix.shape
        mean, sd, rms, constant = np.empty(k), np.empty(k), np.empty(k), np.empty(k, bool)
        add = np.add.reduce  # the sums np.mean and np.std take, without their wrappers
        for j in range(k):
            col = matrix[:, j]
            mean[j] = add(col) / n
            dev = col - mean[j]
            sd[j] = math.sqrt(add(dev * dev) / n)
            rms[j] = math.sqrt(add(col * col) / n)
            constant[j] = col.max() == col.min()
        if structured:
            rms = np.sqrt(np.mean(matrix**2, axis=0))
        return cls(
            mean=mean,
            sd=sd,
            rms=rms,
            constant=constant,
            first=np.array(matrix[0], dtype=float),
            rms_all=float(np.sqrt(np.mean(matrix**2))) if structured else math.nan,
        )

    @classmethod
    def from_moments(
        cls, mean: np.ndarray, sum_squares: np.ndarray, count: float, low, high
    ) -> ColumnSummary:
        """From per-column means, sums of squared deviations, the count, minima and maxima."""
        sd = np.sqrt(np.asarray(sum_squares) / count)
        mean_square = np.asarray(mean) ** 2 + sd**2
        constant = np.asarray(low) == np.asarray(high)
        return cls(
            mean=np.where(constant, low, mean),
            sd=np.where(constant, 0.0, sd),
            rms=np.where(constant, np.abs(low), np.sqrt(mean_square)),
            constant=constant,
            first=np.asarray(low, dtype=float),  # a constant column's value
            rms_all=float(np.sqrt(np.mean(np.where(constant, np.square(low), mean_square)))),
        )


def _term_transform(summary: ColumnSummary) -> np.ndarray:
    size = summary.mean.size
    if size == 1:
        rms = float(summary.rms[0])
        return np.array([[1.0 / rms if rms > 0 else 1.0]])
    constant = [j for j in range(size) if summary.constant[j] and summary.first[j] != 0]
    T = np.eye(size)
    intercept = constant[0] if constant else None
    for j in range(size):
        if j == intercept:
            continue
        if intercept is not None:
            centre = float(summary.mean[j])
            spread = float(summary.sd[j])
        else:
            centre = 0.0
            spread = float(summary.rms[j])
        if spread <= 0:
            continue
        T[j, j] = 1.0 / spread
        if intercept is not None:
            T[intercept, j] = -centre / (spread * summary.first[intercept])
    return T


def _structured_transform(summary: ColumnSummary, scaling: str) -> np.ndarray:
    """Diagonal ``T`` for a structured term: per-column or one common scale."""
    if scaling == "common":
        rms = summary.rms_all
        return np.eye(summary.rms.size) * (1.0 / rms if rms > 0 else 1.0)
    column_rms = summary.rms  # 1 / rms of every column (1 for a column of zeros)
    return np.diag(np.where(column_rms > 0, 1.0 / np.where(column_rms > 0, column_rms, 1.0), 1.0))


def make_scaling(blocks: tuple[ReBlock, ...], terms: tuple[ReTerm, ...]) -> ThetaScaling:
    """Column transforms for every term, from the block matrices."""
    summaries = {}
    for block in blocks:
        for term, offset in zip(block.terms, block.column_offsets):
            cols = block.matrix[:, offset : offset + term.size]
            summaries[term.theta_offset] = ColumnSummary.of(cols, term.structured)
    return scaling_from_summaries([summaries[t.theta_offset] for t in terms], terms)


def scaling_from_summaries(
    summaries: list[ColumnSummary], terms: tuple[ReTerm, ...]
) -> ThetaScaling:
    """Column transforms for every term from its columns' summary (in the order of ``terms``)."""
    transforms = tuple(
        _structured_transform(summary, term.covariance.scaling)
        if term.structured
        else _term_transform(summary)
        for summary, term in zip(summaries, terms, strict=True)
    )
    return ThetaScaling(terms=terms, transforms=transforms)
